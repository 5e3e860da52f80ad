package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genLoad runs mlprov gen with args, writing the corpus to a new folder and loading it into a
// new store, and returns the store, the corpus and what gen printed to stdout and stderr.
func genLoad(t *testing.T, args ...string) (db, out, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	db, out = filepath.Join(dir, "store.duckdb"), filepath.Join(dir, "corpus")
	code, stdout, stderr := mlprov(t, append([]string{"gen", "--out", out, "--load", "--db", db}, args...)...)
	if code != 0 {
		t.Fatalf("gen: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	return db, out, stdout, stderr
}

func TestGenLoad(t *testing.T) {
	db, out, stdout, stderr := genLoad(t, "--pipelines", "2", "--days", "20", "--seed", "7", "--format", "csv")
	for _, want := range []string{"generated " + out + " (csv, seed 7)", "2 pipelines", "loaded " + out + " into " + db} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// stderr is not a terminal here: plain step lines, no progress bar.
	if !strings.Contains(stderr, "gen: simulating 2 pipelines over 20 days") || strings.Contains(stderr, "\r") {
		t.Errorf("stderr:\n%q", stderr)
	}
	for _, f := range []string{"pipelines.csv", "executions.csv", "artifacts.csv", "events.csv", "ground_truth.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if code, stdout, stderr := mlprov(t, "query", "--db", db, "--format", "csv", "SELECT count(DISTINCT pipeline_id) FROM executions"); code != 0 || !strings.Contains(stdout, "2") {
		t.Errorf("query: exit %d: %s %s", code, stdout, stderr)
	}
}

func TestGenUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c")
	for _, args := range [][]string{
		{"gen", "--out", out},
		{"gen", "--scale", "0.01", "--pipelines", "3", "--out", out},
		{"gen", "--scale", "0.01"},
		{"gen", "--scale", "-1", "--out", out},
		{"gen", "--pipelines", "3", "--out", out, "--format", "xml"},
		{"gen", "--pipelines", "3", "--out", out, "--db", "x.duckdb"},
		{"gen", "--pipelines", "3", "--out", out, "extra"},
	} {
		if code, _, stderr := mlprov(t, args...); code != 2 || !strings.Contains(stderr, "try: mlprov gen --help") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a usage error wrote the corpus")
	}
}

// TestGenMLMD writes a corpus as an MLMD store, loads it, and checks that the pruning study
// finds the ground truth beside the store (the ids agree with it).
func TestGenMLMD(t *testing.T) {
	db, out, stdout, _ := genLoad(t, "--pipelines", "12", "--seed", "3", "--format", "mlmd")
	if want := "loaded " + filepath.Join(out, "metadata.sqlite") + " into " + db; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	if code, stdout, errOut := mlprov(t, "query", "--db", db, "--format", "csv", "SELECT kind FROM sources"); code != 0 || strings.TrimSpace(stdout) != "kind\nmlmd" {
		t.Errorf("sources: exit %d: %q %s", code, stdout, errOut)
	}
	code, stdout, errOut := mlprov(t, "prune", "--db", db, "--json")
	if code != 0 {
		t.Fatalf("prune: exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, `"best_possible"`) {
		t.Error("prune found no ground truth beside the MLMD store")
	}
}

// TestGenCountsTrainedModels checks gen's summary against the loaded store: trained models
// are the Trainer runs that completed, as the report's headline counts them.
func TestGenCountsTrainedModels(t *testing.T) {
	db, _, stdout, _ := genLoad(t, "--pipelines", "6", "--seed", "5")
	_, counts, _ := mlprov(t, "query", "--db", db, "--format", "csv",
		`SELECT count(*) FILTER (WHERE state = 'complete') || ' trained models (' || count(*) || ' Trainer runs' FROM executions WHERE op_type = 'Trainer'`)
	want := strings.TrimSpace(strings.SplitN(counts, "\n", 2)[1])
	if !strings.Contains(want, "(") || strings.HasPrefix(want, "0 ") || !strings.Contains(stdout, want) {
		t.Errorf("gen says %q; the store holds %q", stdout, want)
	}
}
