package main

import (
	"encoding/json"
	"html"
	"mlprov/internal/golden"
	"strings"
	"testing"
	"time"
)

func TestLineage(t *testing.T) {
	db := exampleStore(t)

	code, out, errOut := mlprov(t, "lineage", "--db", db, "a:1003", "--up")
	if code != 0 || !strings.HasPrefix(out, "lineage of artifact 1003 (Schema), upstream, all hops:\n") ||
		!strings.Contains(out, "│ up  │    1 │ execution │  103 │ SchemaGen ") || strings.Contains(out, " 113 ") {
		t.Errorf("lineage a:1003 --up: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	// JSON: one array of nodes, each with its kind, id, type, time (UTC) and hops; the
	// cache hit 113 only with --relinks, marked.
	for _, tt := range []struct {
		args    []string
		n       int
		relinks bool
	}{
		{[]string{"a:1003", "--up"}, 6, false},
		{[]string{"a:1003", "--up", "--relinks"}, 11, true},
	} {
		code, out, errOut = mlprov(t, append([]string{"lineage", "--db", db, "--format", "json"}, tt.args...)...)
		var nodes []struct {
			Kind   string  `json:"kind"`
			ID     int64   `json:"id"`
			Type   string  `json:"type"`
			Time   *string `json:"time"`
			Hops   *int    `json:"hops"`
			Relink bool    `json:"relink"`
		}
		if err := json.Unmarshal([]byte(out), &nodes); err != nil || code != 0 {
			t.Fatalf("lineage %v --format json: exit %d, %v, stderr %q: %q", tt.args, code, err, errOut, out)
		}
		if len(nodes) != tt.n {
			t.Errorf("lineage %v --format json: %d nodes, want %d", tt.args, len(nodes), tt.n)
		}
		sawRelink := false
		for _, n := range nodes {
			if n.Time == nil || n.Hops == nil || n.Type == "" || (n.Kind != "artifact" && n.Kind != "execution") {
				t.Errorf("lineage %v --format json: incomplete node %+v", tt.args, n)
				continue
			}
			if at, err := time.Parse(time.RFC3339, *n.Time); err != nil || !strings.HasSuffix(*n.Time, "Z") || !tt.relinks && at.After(time.Date(2024, 3, 1, 2, 16, 0, 0, time.UTC)) {
				t.Errorf("lineage %v --format json: %s %d at %q, want an ISO 8601 UTC time, no later than artifact 1003's without re-links", tt.args, n.Kind, n.ID, *n.Time)
			}
			if n.ID == 113 {
				sawRelink = n.Relink
			}
		}
		if sawRelink != tt.relinks {
			t.Errorf("lineage %v --format json: cache hit 113 listed as a re-link %v, want %v", tt.args, sawRelink, tt.relinks)
		}
	}

	code, out, errOut = mlprov(t, "lineage", "--db", db, "--format", "dot", "e:106", "--depth", "2")
	if code != 0 || !strings.HasPrefix(out, "digraph lineage {") {
		t.Fatalf("lineage --format dot: exit %d, stderr %q: %q", code, errOut, out)
	}
	svg := html.UnescapeString(golden.RenderDOT(t, out))
	for _, want := range []string{">Trainer 106</text>", ">2024-03-01 02:38</text>", ">Model 1007</text>", ">Evaluator 107</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG of lineage e:106 lacks %q", want)
		}
	}

	for _, tt := range []struct {
		args       []string
		code       int
		stderr     string
		stdoutHead string
	}{
		{[]string{"a:999"}, 1, "error: no artifact 999 in the store\n", ""},
		{[]string{"e:1007"}, 1, "error: no execution 1007 in the store (an artifact has that id: a:1007)\n", ""},
		{[]string{"x:1"}, 2, "error: unknown kind \"x\" in \"x:1\" (want a:ID for an artifact or e:ID for an execution)\ntry: mlprov lineage --help\n", ""},
		{[]string{"a:seven"}, 2, "error: \"a:seven\" is not an id (want a:ID for an artifact or e:ID for an execution)\ntry: mlprov lineage --help\n", ""},
		{nil, 2, "error: lineage needs one node: a:ID for an artifact or e:ID for an execution\ntry: mlprov lineage --help\n", ""},
		{[]string{"a:1", "a:2"}, 2, "error: lineage needs one node: a:ID for an artifact or e:ID for an execution\ntry: mlprov lineage --help\n", ""},
		{[]string{"--format", "svg", "a:1003"}, 2, "error: unknown --format \"svg\" (want table, json or dot)\ntry: mlprov lineage --help\n", ""},
		{[]string{"--depth", "-1", "a:1003"}, 2, "error: --depth wants a number of hops, 0 or more, not -1\ntry: mlprov lineage --help\n", ""},
		{[]string{"--help"}, 0, "", "Usage:\n  mlprov lineage "},
	} {
		code, out, errOut := mlprov(t, append([]string{"lineage", "--db", db}, tt.args...)...)
		if code != tt.code || errOut != tt.stderr || !strings.HasPrefix(out, tt.stdoutHead) {
			t.Errorf("lineage %v: exit %d, stderr %q, stdout %.40q; want exit %d, stderr %q", tt.args, code, errOut, out, tt.code, tt.stderr)
		}
	}
	if _, out, _ := mlprov(t, "help"); !strings.Contains(out, "\n  lineage    walk") {
		t.Errorf("mlprov help does not list lineage:\n%s", out)
	}
}
