package main

import (
	"encoding/json"
	"mlprov/internal/golden"
	"path/filepath"
	"strings"
	"testing"
)

func TestGraphlet(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.duckdb")
	if code, _, errOut := mlprov(t, "load", "-q", "--db", db, example); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	code, out, errOut := mlprov(t, "graphlet", "--db", db, "116")
	if code != 0 || !strings.HasPrefix(out, "graphlet 116: pipeline 1, not pushed, cost 1627 (exclusive 1337)\n") {
		t.Errorf("graphlet 116: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, _ = mlprov(t, "graphlet", "--db", db, "--format", "json", "125")
	var g struct {
		Pushed  bool
		Members []struct {
			Kind, Side string
			ID         int64
		}
		Edges []struct{ From, To, Role string }
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil || code != 0 {
		t.Fatalf("graphlet --format json: exit %d, %v: %q", code, err, out)
	}
	if !g.Pushed || len(g.Members) != 9+12 || len(g.Edges) == 0 {
		t.Errorf("graphlet 125: pushed %v, %d members, %d edges; want pushed, 21 members", g.Pushed, len(g.Members), len(g.Edges))
	}

	code, _, errOut = mlprov(t, "graphlet", "--db", db, "101")
	if code != 1 || !strings.Contains(errOut, "no such graphlet") {
		t.Errorf("graphlet of a non-Trainer: exit %d, stderr %q", code, errOut)
	}

	code, out, _ = mlprov(t, "graphlet", "--db", db, "--format", "dot", "116")
	if code != 0 || !strings.HasPrefix(out, "digraph graphlet_116 {") {
		t.Fatalf("graphlet --format dot: exit %d, %q", code, out)
	}
	// A label of two lines is drawn as two, not as one holding a literal \n.
	svg := golden.RenderDOT(t, out)
	for _, want := range []string{">Trainer 116</text>", ">Examples 1011</text>", ">span 2</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG of graphlet 116 lacks %q", want)
		}
	}
}
