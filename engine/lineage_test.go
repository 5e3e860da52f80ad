package engine_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/internal/golden"
)

// TestLineageUpstreamPrecedesNode walks up from every artifact of testdata/example and checks
// that the walk follows original producers, as graphlets do: nothing upstream of an artifact
// started or was made after it, and no cache hit (113) or Resolver (119) is listed, nor any
// event of theirs drawn. With Relinks they are, marked as re-links.
func TestLineageUpstreamPrecedesNode(t *testing.T) {
	ctx := context.Background()
	e := loadExample(t)
	rows, err := e.DB().QueryContext(ctx, `SELECT artifact_id FROM artifacts ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		l, err := engine.WalkLineage(ctx, e.DB(), engine.Node{Kind: "artifact", ID: id}, engine.LineageOptions{Up: true})
		if err != nil {
			t.Fatal(err)
		}
		made := *l.Start.Time
		for _, n := range l.Nodes {
			if n.Time == nil || n.Time.After(made) {
				t.Errorf("upstream of artifact %d (made %s): %s %d at %v", id, made.Format(time.RFC3339), n.Kind, n.ID, n.Time)
			}
			if n.Kind == "execution" && (n.ID == 113 || n.ID == 119) || n.Relink {
				t.Errorf("upstream of artifact %d: the re-link %s", id, n.Ref())
			}
		}
		for _, ed := range l.Edges {
			if ed.From == "e:113" || ed.From == "e:119" || ed.Relink {
				t.Errorf("upstream of artifact %d: the re-link edge %s -> %s", id, ed.From, ed.To)
			}
		}
	}

	l, err := engine.WalkLineage(ctx, e.DB(), engine.Node{Kind: "artifact", ID: 1003}, engine.LineageOptions{Up: true, Depth: 1, Relinks: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range l.Nodes {
		got = append(got, n.Ref()+map[bool]string{true: " relink"}[n.Relink])
	}
	if want := []string{"e:103", "e:113 relink", "a:1003"}; !cmp.Equal(got, want) {
		t.Errorf("one hop up from a:1003 with re-links (-want +got):\n%s", cmp.Diff(want, got))
	}
	want := []engine.LineageEdge{{From: "e:103", To: "a:1003", Role: "schema"}, {From: "e:113", To: "a:1003", Role: "schema", Relink: true}}
	if diff := cmp.Diff(want, l.Edges); diff != "" {
		t.Errorf("edges one hop up from a:1003 with re-links (-want +got):\n%s", diff)
	}
}

func TestWalkLineageErrors(t *testing.T) {
	ctx := context.Background()
	e := loadExample(t)
	tests := []struct {
		node    engine.Node
		want    string
		noNode  bool
		prepare string
	}{
		{engine.Node{Kind: "artifact", ID: 999}, "no artifact 999 in the store", true, ""},
		{engine.Node{Kind: "execution", ID: 1007}, "no execution 1007 in the store (an artifact has that id: a:1007)", true, ""},
		{engine.Node{ID: 5}, "no artifact or execution 5 in the store", true, ""},
		{engine.Node{ID: 101}, "101 is both an artifact id and an execution id: write a:101 or e:101", false,
			"INSERT INTO artifacts (artifact_id, pipeline_id, type, source_id) VALUES (101, 1, 'Clash', 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.prepare != "" {
				if _, err := e.DB().ExecContext(ctx, tt.prepare); err != nil {
					t.Fatal(err)
				}
			}
			_, err := engine.WalkLineage(ctx, e.DB(), tt.node, engine.LineageOptions{})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if errors.Is(err, engine.ErrNoNode) != tt.noNode {
				t.Errorf("errors.Is(%v, ErrNoNode) = %v", err, !tt.noNode)
			}
		})
	}
}

func TestParseNode(t *testing.T) {
	tests := []struct {
		in      string
		want    engine.Node
		wantErr string
	}{
		{"a:1007", engine.Node{Kind: "artifact", ID: 1007}, ""},
		{"artifact:1007", engine.Node{Kind: "artifact", ID: 1007}, ""},
		{"e:106", engine.Node{Kind: "execution", ID: 106}, ""},
		{"execution:106", engine.Node{Kind: "execution", ID: 106}, ""},
		{"106", engine.Node{ID: 106}, ""},
		{"x:1", engine.Node{}, `unknown kind "x" in "x:1" (want a:ID for an artifact or e:ID for an execution)`},
		{"a:one", engine.Node{}, `"a:one" is not an id (want a:ID for an artifact or e:ID for an execution)`},
		{"", engine.Node{}, `"" is not an id`},
	}
	for _, tt := range tests {
		got, err := engine.ParseNode(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("ParseNode(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseNode(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if back, _ := engine.ParseNode(got.String()); back != got {
			t.Errorf("ParseNode(%q.String()) = %+v", got, back)
		}
	}
}

// TestDOTLabels renders the DOT of a graphlet and of a lineage walk with Graphviz and checks
// each label as it is drawn: a label of two lines is two lines, not one holding a literal
// \n, and a quote or a backslash in a name prints as itself.
func TestDOTLabels(t *testing.T) {
	ctx := context.Background()
	e := loadExample(t)
	odd := `Odd "quoted" \N type\`
	var b bytes.Buffer

	g, err := e.Graphlet(ctx, 125)
	if err != nil {
		t.Fatal(err)
	}
	span := int64(7)
	g.Nodes = append(g.Nodes, engine.GraphletNode{Kind: "artifact", ID: 9, Side: "boundary", Type: odd, Span: &span})
	if err := g.WriteDOT(&b); err != nil {
		t.Fatal(err)
	}
	svg := golden.RenderDOT(t, b.String())
	for ref, want := range map[string][]string{
		"a:1026": {"Examples 1026", "span 3"},
		"e:125":  {"Trainer 125"},
		"a:9":    {odd + " 9", "span 7"},
	} {
		if got := svgNodeText(t, svg, ref); !cmp.Equal(got, want) {
			t.Errorf("graphlet 125's node %s is drawn (-want +got):\n%s", ref, cmp.Diff(want, got))
		}
	}

	l, err := engine.WalkLineage(ctx, e.DB(), engine.Node{Kind: "artifact", ID: 1003}, engine.LineageOptions{Up: true, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	l.Nodes[0].Type = odd
	b.Reset()
	if err := l.WriteDOT(&b); err != nil {
		t.Fatal(err)
	}
	svg = golden.RenderDOT(t, b.String())
	if got, want := svgNodeText(t, svg, "e:103"), []string{odd + " 103", "2024-03-01 02:15"}; !cmp.Equal(got, want) {
		t.Errorf("the lineage's node e:103 is drawn (-want +got):\n%s", cmp.Diff(want, got))
	}
}

// svgNodeText returns the lines of text Graphviz drew for the node named ref.
func svgNodeText(t *testing.T, svg, ref string) []string {
	t.Helper()
	groups := regexp.MustCompile(`(?s)<g id="node\d+" class="node">\s*<title>(.*?)</title>(.*?)</g>`).FindAllStringSubmatch(svg, -1)
	for _, g := range groups {
		if html.UnescapeString(g[1]) != ref {
			continue
		}
		var lines []string
		for _, m := range regexp.MustCompile(`<text[^>]*>(.*?)</text>`).FindAllStringSubmatch(g[2], -1) {
			lines = append(lines, html.UnescapeString(m[1]))
		}
		return lines
	}
	t.Fatalf("no node %s in the SVG", ref)
	return nil
}
