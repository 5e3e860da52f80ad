package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
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

// writeSource writes a native layout of JSON lines, one file per table, into a new folder.
func writeSource(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// kubeflowSource is a Kubeflow v2 pipeline as the native layout holds it: its training job is
// a custom operator (train-model) with no category, so the store has no training runs. It
// runs on 1 and 4 March, nothing in between.
func kubeflowSource(t *testing.T) string {
	return writeSource(t, map[string]string{
		"pipelines.jsonl": `{"pipeline_id": 700, "name": "kfp-churn", "attrs": {"orchestrator": "kubeflow"}}` + "\n",
		"executions.jsonl": `{"execution_id": 7001, "pipeline_id": 700, "run_id": "r1", "node_id": "preprocess", "op_type": "preprocess", "state": "complete", "start_time": "2024-03-01T02:00:00Z", "end_time": "2024-03-01T02:10:00Z", "cost": 600}
{"execution_id": 7002, "pipeline_id": 700, "run_id": "r1", "node_id": "train-model", "op_type": "train-model", "state": "complete", "start_time": "2024-03-01T02:10:00Z", "end_time": "2024-03-01T03:10:00Z", "cost": 17129670.69}
{"execution_id": 7003, "pipeline_id": 700, "run_id": "r2", "node_id": "preprocess", "op_type": "preprocess", "state": "complete", "start_time": "2024-03-04T02:00:00Z", "end_time": "2024-03-04T02:10:00Z", "cost": 600}
{"execution_id": 7004, "pipeline_id": 700, "run_id": "r2", "node_id": "train-model", "op_type": "train-model", "state": "failed", "start_time": "2024-03-04T02:10:00Z", "end_time": "2024-03-04T02:20:00Z", "cost": 100}
`,
		"artifacts.jsonl": `{"artifact_id": 7101, "pipeline_id": 700, "type": "Dataset"}
{"artifact_id": 7102, "pipeline_id": 700, "type": "Model"}
{"artifact_id": 7103, "pipeline_id": 700, "type": "Dataset"}
`,
		"events.jsonl": `{"execution_id": 7001, "artifact_id": 7101, "direction": "out", "role": "dataset"}
{"execution_id": 7002, "artifact_id": 7101, "direction": "in", "role": "dataset"}
{"execution_id": 7002, "artifact_id": 7102, "direction": "out", "role": "model"}
{"execution_id": 7003, "artifact_id": 7103, "direction": "out", "role": "dataset"}
{"execution_id": 7004, "artifact_id": 7103, "direction": "in", "role": "dataset"}
`,
	})
}

// TestReportWithoutTrainingRuns reports on a store with no training runs: the headline prints
// no NULL and says how to map them, in the terminal and in the report; every section says
// what it shows or why it shows nothing, the pruning study included; days without runs are
// days of zero, not gaps a line is drawn across.
func TestReportWithoutTrainingRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kf.duckdb")
	if code, _, errOut := mlprov(t, "load", "--db", db, kubeflowSource(t)); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	out := filepath.Join(t.TempDir(), "report")
	code, stdout, errOut := mlprov(t, "report", "--db", db, "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d, %s", code, errOut)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	headline := string(md[:bytes.Index(md, []byte("## Contents"))])
	for name, text := range map[string]string{"stdout": stdout, "the report's headline": headline} {
		if strings.Contains(text, "NULL") {
			t.Errorf("%s shows NULL:\n%s", name, text)
		}
		for _, want := range []string{
			"none: no training runs",
			`mlprov query "INSERT INTO op_categories VALUES ('<op_type>', 'train')"`,
			"mlprov load --replace PATH", "--deploy-rule REGEXP",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, text)
			}
		}
	}
	for _, want := range []string{
		`<section id="pruning">`,
		"Nothing to show: too few graphlets to study pruning: 0 graphlets",
		"mapping the store&#39;s training jobs to category train in op_categories would fill it",
		"| other | 4 | 0 | 17,130,970.69 |", // compute_by_category: every digit of the cost
	} {
		if !bytes.Contains(page, []byte(want)) && !bytes.Contains(md, []byte(want)) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if !bytes.Contains(md, []byte("\n## pruning\n")) {
		t.Error("report.md leaves out the pruning section")
	}
	var res struct {
		Analyses []struct {
			Name string
			Rows [][]any
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Analyses {
		if a.Name == "activity_by_day" {
			got := fmt.Sprint(a.Rows)
			if want := "[2024-03-02T00:00:00Z runs 0]"; !strings.Contains(got, want) || len(a.Rows) != 12 {
				t.Errorf("activity_by_day = %s; want 4 days of 3 rows, 2 March among them with %s", got, want)
			}
		}
	}
}

// TestReportCountsCompletedTrainers adds to the example a failed Trainer and a cached one:
// the headline counts completed Trainer runs as trained models, and the cached one, which
// trained nothing, roots no graphlet.
func TestReportCountsCompletedTrainers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"pipelines.jsonl", "executions.jsonl", "artifacts.jsonl", "events.jsonl"} {
		b, err := os.ReadFile(filepath.Join(example, name))
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "executions.jsonl":
			b = append(b, `{"execution_id": 290, "pipeline_id": 2, "run_id": "fraud-2024-03-02", "node_id": "Trainer", "op_type": "Trainer", "state": "cached", "start_time": "2024-03-02T02:09:00Z", "end_time": "2024-03-02T02:09:01Z", "cost": 0, "attrs": {"model_type": "gbdt", "code_version": "v3"}}
{"execution_id": 291, "pipeline_id": 2, "run_id": "fraud-2024-03-02b", "node_id": "Trainer", "op_type": "Trainer", "state": "failed", "start_time": "2024-03-02T03:09:00Z", "end_time": "2024-03-02T03:19:00Z", "cost": 60, "attrs": {"model_type": "gbdt", "code_version": "v3"}}
`...)
		case "events.jsonl":
			b = append(b, `{"execution_id": 290, "artifact_id": 2001, "direction": "in", "role": "examples", "event_time": "2024-03-02T02:09:00Z"}
{"execution_id": 290, "artifact_id": 2003, "direction": "in", "role": "schema", "event_time": "2024-03-02T02:09:00Z"}
{"execution_id": 290, "artifact_id": 2004, "direction": "out", "role": "model", "event_time": "2024-03-02T02:09:01Z"}
{"execution_id": 291, "artifact_id": 2001, "direction": "in", "role": "examples", "event_time": "2024-03-02T03:09:00Z"}
{"execution_id": 291, "artifact_id": 2003, "direction": "in", "role": "schema", "event_time": "2024-03-02T03:09:00Z"}
`...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	if code, _, errOut := mlprov(t, "load", "--db", db, dir); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	_, got, _ := mlprov(t, "query", "--db", db, "--format", "csv",
		"SELECT string_agg(graphlet_id::VARCHAR, ' ' ORDER BY graphlet_id) AS roots FROM graphlets")
	if want := "roots\n106 116 125 204 213 291\n"; got != want {
		t.Errorf("graphlets rooted at %q, want %q: every Trainer run that did work, the cached 290 not", got, want)
	}
	out := filepath.Join(t.TempDir(), "report")
	code, stdout, errOut := mlprov(t, "report", "--db", db, "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d, %s", code, errOut)
	}
	if !regexp.MustCompile(`│ trained models +│ > 450,000 +│ 5 +│`).MatchString(stdout) {
		t.Errorf("the headline does not count 5 trained models (the completed Trainer runs):\n%s", stdout)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("| metric | paper | corpus | counts |")) || !bytes.Contains(md, []byte("that completed")) {
		t.Error("the report's headline does not say what each figure counts")
	}
}

// TestKilledReportLeavesEarlierReport kills a report run with SIGKILL once it has built the
// new report beside the folder: the earlier report is still there, whole, with the reader's
// notes.
func TestKilledReportLeavesEarlierReport(t *testing.T) {
	bin := mlprovBinary(t)
	db := exampleStore(t)
	out := filepath.Join(t.TempDir(), "report")
	if code, _, errOut := mlprov(t, "report", "--db", db, "--out", out); code != 0 {
		t.Fatalf("report: %s", errOut)
	}
	if err := os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)

	cmd := holdAt(t, "MLPROV_TEST_HOLD_REPORT", "holding before the swap", bin, "report", "--db", db, "--out", out)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // "signal: killed", as intended
	if after := snapshot(t, out); !maps.Equal(after, before) {
		t.Errorf("after a killed report the folder holds %v, want %v as before", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
	}
	// And the next run replaces it, keeping the notes.
	if code, _, errOut := mlprov(t, "report", "--db", db, "--out", out); code != 0 {
		t.Fatalf("report after the kill: %s", errOut)
	}
	if b, err := os.ReadFile(filepath.Join(out, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("notes.txt after a new report: %q, %v", b, err)
	}
}

// snapshot reads every file under dir, by path.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
