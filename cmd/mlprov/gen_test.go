package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenLoad(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "corpus")
	db := filepath.Join(dir, "store.duckdb")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"gen", "--pipelines", "2", "--days", "20", "--seed", "7", "--format", "csv", "--out", out, "--load", "--db", db}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"generated " + out + " (csv, seed 7)", "2 pipelines", "loaded " + out + " into " + db} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	// stderr is not a terminal here: plain step lines, no progress bar.
	if !strings.Contains(stderr.String(), "gen: simulating 2 pipelines over 20 days") || strings.Contains(stderr.String(), "\r") {
		t.Errorf("stderr:\n%q", stderr.String())
	}
	for _, f := range []string{"pipelines.csv", "executions.csv", "artifacts.csv", "events.csv", "ground_truth.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"query", "--db", db, "--format", "csv", "SELECT count(DISTINCT pipeline_id) FROM executions"}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "2") {
		t.Errorf("query: exit %d: %s %s", code, stdout.String(), stderr.String())
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
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "try: mlprov gen --help") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr.String())
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a usage error wrote the corpus")
	}
}

// TestGenMLMD writes a corpus as an MLMD store, loads it, and checks that the pruning study
// finds the ground truth beside the store (the ids agree with it).
func TestGenMLMD(t *testing.T) {
	dir := t.TempDir()
	out, db := filepath.Join(dir, "corpus"), filepath.Join(dir, "store.duckdb")
	code, stdout, errOut := mlprov(t, "gen", "--pipelines", "12", "--seed", "3", "--format", "mlmd", "--out", out, "--load", "--db", db)
	if code != 0 {
		t.Fatalf("gen: exit %d: %s", code, errOut)
	}
	if want := "loaded " + filepath.Join(out, "metadata.sqlite") + " into " + db; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	if code, stdout, errOut = mlprov(t, "query", "--db", db, "--format", "csv", "SELECT kind FROM sources"); code != 0 || strings.TrimSpace(stdout) != "kind\nmlmd" {
		t.Errorf("sources: exit %d: %q %s", code, stdout, errOut)
	}
	code, stdout, errOut = mlprov(t, "prune", "--db", db, "--json")
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
	dir := t.TempDir()
	out, db := filepath.Join(dir, "corpus"), filepath.Join(dir, "store.duckdb")
	code, stdout, errOut := mlprov(t, "gen", "--pipelines", "6", "--seed", "5", "--out", out, "--load", "--db", db)
	if code != 0 {
		t.Fatalf("gen: exit %d: %s", code, errOut)
	}
	_, counts, _ := mlprov(t, "query", "--db", db, "--format", "csv",
		`SELECT count(*) FILTER (WHERE state = 'complete') || ' trained models (' || count(*) || ' Trainer runs' FROM executions WHERE op_type = 'Trainer'`)
	want := strings.TrimSpace(strings.SplitN(counts, "\n", 2)[1])
	if !strings.Contains(want, "(") || strings.HasPrefix(want, "0 ") || !strings.Contains(stdout, want) {
		t.Errorf("gen says %q; the store holds %q", stdout, want)
	}
}
