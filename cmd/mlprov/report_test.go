package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mlprov/engine"
)

func TestAnalyzeLists(t *testing.T) {
	// Listing reads the embedded headers only: it needs no store.
	code, out, errOut := mlprov(t, "analyze", "--db", filepath.Join(t.TempDir(), "none.duckdb"), "--format", "csv")
	if code != 0 {
		t.Fatalf("analyze: exit %d, stderr %q", code, errOut)
	}
	as, err := engine.Analyses()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "name,topic,description" || len(lines) != len(as)+1 {
		t.Fatalf("analyze --format csv printed %d lines:\n%s", len(lines), out)
	}
	for i, a := range as {
		if !strings.HasPrefix(lines[i+1], a.Name+","+a.Topic+",") {
			t.Errorf("line %d = %q, want analysis %s (%s)", i+2, lines[i+1], a.Name, a.Topic)
		}
	}
}

func TestAnalyzeRuns(t *testing.T) {
	db := exampleStore(t)
	code, out, errOut := mlprov(t, "analyze", "--db", db, "--format", "json", "failure_waste")
	if code != 0 {
		t.Fatalf("analyze: exit %d, stderr %q", code, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("analyze --format json printed %q: %v", out, err)
	}
	// The example's one failure is StatisticsGen 122, an analyze execution that cost 20.
	if len(rows) != 7 || rows[1]["category"] != "analyze" || rows[1]["failed_cost"] != 20.0 {
		t.Errorf("failure_waste = %v", rows)
	}

	code, out, _ = mlprov(t, "analyze", "--db", db, "corpus_overview", "compute_by_category")
	if code != 0 || !strings.HasPrefix(out, "corpus_overview: size of the corpus") || !strings.Contains(out, "\ncompute_by_category: ") || strings.Count(out, "\n└") != 2 {
		t.Errorf("two analyses as tables: exit %d, stdout:\n%s", code, out)
	}

	for _, args := range [][]string{
		{"analyze", "--db", db, "no_such_analysis"},
		{"analyze", "--db", db, "--format", "csv", "activity", "failure_waste"},
		{"analyze", "--format", "yaml"},
		{"report", "--db", db, "extra"},
	} {
		code, _, errOut := mlprov(t, args...)
		if code != 2 || !strings.Contains(errOut, "\ntry: mlprov ") {
			t.Errorf("mlprov %v: exit %d, stderr %q; want 2 with a hint", args, code, errOut)
		}
	}
}

// TestReportReproducible writes the report of one store twice and compares them: report.md
// and results.json must be the same byte for byte.
func TestReportReproducible(t *testing.T) {
	db := exampleStore(t)
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, dir := range dirs {
		code, out, errOut := mlprov(t, "report", "--db", db, "--out", dir)
		if code != 0 {
			t.Fatalf("report: exit %d, stderr %q", code, errOut)
		}
		if !strings.Contains(out, "│ graphlets that push no model ") || !strings.Contains(out, "\nwrote "+dir+": ") || !strings.Contains(errOut, "report: ran failure_waste") {
			t.Errorf("report printed %q and %q; want the headline, a summary and progress lines", out, errOut)
		}
	}
	for _, name := range []string{"report.md", "results.json"} {
		a, err := os.ReadFile(filepath.Join(dirs[0], name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dirs[1], name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two reports of the same store", name)
		}
		if len(a) < 1000 {
			t.Errorf("%s holds only %d bytes", name, len(a))
		}
	}
	var m struct {
		Store struct{ Fingerprint string }
		Files map[string]string
	}
	b, err := os.ReadFile(filepath.Join(dirs[0], "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Store.Fingerprint, "sha256:") || m.Files["plots/activity_by_day.svg"] == "" || m.Files["report.html"] == "" {
		t.Errorf("manifest.json = %s", b)
	}

	code, _, errOut := mlprov(t, "report", "--db", db, "--out", filepath.Dir(db))
	if code != 1 || !strings.Contains(errOut, "holds no mlprov report") {
		t.Errorf("report into the store's folder: exit %d, stderr %q; want a refusal", code, errOut)
	}
}
