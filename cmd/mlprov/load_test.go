package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlprov/loaders/mlmd"
)

// newMLMDStore creates an MLMD store at schema 10 in a new folder, and the time its records
// start at; the caller writes the records and closes it.
func newMLMDStore(t *testing.T) (string, *mlmd.Writer, time.Time) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "metadata.sqlite")
	w, err := mlmd.Create(context.Background(), path, 10)
	if err != nil {
		t.Fatal(err)
	}
	return path, w, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
}

// mlmdStore writes a one-run TFX store: a Trainer whose model a Pusher pushed.
func mlmdStore(t *testing.T) string {
	t.Helper()
	path, w, t0 := newMLMDStore(t)
	pipe := w.Context("pipeline", "taxi", t0)
	trainer := w.Execution(w.Type("tfx.components.trainer.component.Trainer", "execution", ""), mlmd.ExecComplete, t0, t0.Add(time.Hour))
	pusher := w.Execution(w.Type("tfx.components.pusher.component.Pusher", "execution", ""), mlmd.ExecComplete, t0.Add(time.Hour), t0.Add(61*time.Minute))
	model := w.Artifact(w.Type("Model", "artifact", ""), "gs://m/1", mlmd.ArtLive, t0.Add(time.Hour))
	pushed := w.Artifact(w.Type("PushedModel", "artifact", ""), "gs://m/p/1", mlmd.ArtLive, t0.Add(61*time.Minute), mlmd.Prop{Name: "pushed", Custom: true, Value: 1})
	for _, x := range []int64{trainer, pusher} {
		w.Associate(pipe, x)
	}
	w.Event(trainer, model, mlmd.EventOutput, t0.Add(time.Hour), "model", 0)
	w.Event(pusher, model, mlmd.EventInput, t0.Add(time.Hour), "model", 0)
	w.Event(pusher, pushed, mlmd.EventOutput, t0.Add(61*time.Minute), "pushed_model", 0)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

const olLog = `{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":"a"},"job":{"namespace":"ml","name":"train"},"outputs":[{"namespace":"s3://m","name":"model"}]}
{"eventType":"COMPLETE","eventTime":"2024-05-01T10:10:00Z","run":{"runId":"a"},"job":{"namespace":"ml","name":"train"}}
{"eventType":"START","eventTime":"2024-05-01T10:11:00Z","run":{"runId":"b"},"job":{"namespace":"ml","name":"release"},"inputs":[{"namespace":"s3://m","name":"model"}]}
{"eventType":"COMPLETE","eventTime":"2024-05-01T10:12:00Z","run":{"runId":"b"},"job":{"namespace":"ml","name":"release"}}
`

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLoadFormats(t *testing.T) {
	dir := t.TempDir()
	ol := filepath.Join(dir, "events.log") // no telling extension: detection reads the content
	if err := os.WriteFile(ol, []byte(olLog), 0o644); err != nil {
		t.Fatal(err)
	}
	store := mlmdStore(t)
	data, err := os.ReadFile(kubeflowStore(t))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.sqlite") // the first pages of a store, as a copy cut short leaves it
	if err := os.WriteFile(cut, data[:16<<10], 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		pushRows string
	}{
		{"mlmd auto", []string{store}, 0, "(mlmd): 1 pipelines, 2 executions, 2 artifacts, 3 events", "load: reading", "1"},
		{"openlineage auto", []string{ol}, 0, "(openlineage): 1 pipelines, 2 executions, 1 artifacts, 2 events", "load: read events.log: 4 events", "0"},
		{"openlineage deploy rule", []string{"--deploy-rule", "^release$", ol}, 0, "(openlineage): 1 pipelines, 2 executions, 2 artifacts, 3 events", "", "1"},
		{"native auto", []string{filepath.Join("..", "..", "testdata", "example")}, 0, "(native): 2 pipelines, 36 executions", "", ""},
		{"format override", []string{"--format", "openlineage", ol}, 0, "(openlineage)", "", ""},
		{"format mismatch", []string{"--format", "mlmd", ol}, 1, "", "error: load " + ol + ": events.log: not an SQLite file", ""},
		{"unknown format", []string{"--format", "csv", ol}, 1, "", `error: unknown format "csv" (known: mlmd, native, openlineage)`, ""},
		{"not recognised", []string{"--format", "auto", filepath.Join("..", "..", "README.md")}, 1, "", "README.md: format not recognised (known: mlmd, native, openlineage)\ntry: mlprov load --format FORMAT " + filepath.Join("..", "..", "README.md") + ", with FORMAT one of mlmd, native, openlineage\n", ""},
		{"truncated mlmd", []string{cut}, 1, "", "error: load " + cut + ": cut.sqlite: is an SQLite file but truncated or damaged: 16384 bytes, but its header says", ""},
		{"bad rule", []string{"--deploy-rule", "(", ol}, 2, "", "error: --deploy-rule: error parsing regexp", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "s.duckdb")
			code, stdout, stderr := runCLI(t, append([]string{"load", "--db", db}, c.args...)...)
			if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", code, stdout, stderr, c.code, c.stdout, c.stderr)
			}
			if c.pushRows == "" {
				return
			}
			code, stdout, stderr = runCLI(t, "query", "--db", db, "--format", "csv",
				`SELECT count(*) FROM artifacts WHERE type = 'PushedModel' AND (attrs->>'pushed')::INT = 1`)
			if code != 0 || !strings.Contains(stdout, "\n"+c.pushRows+"\n") {
				t.Errorf("pushes: exit %d, stdout %q, stderr %q; want %s", code, stdout, stderr, c.pushRows)
			}
		})
	}
}

// TestLoadOpenLineageDays loads a day's log whose run ends in the next day's: the second
// load syncs the one OpenLineage source, completing the run rather than adding another.
func TestLoadOpenLineageDays(t *testing.T) {
	dir := t.TempDir()
	lines := strings.Split(olLog, "\n")
	day1, day2 := filepath.Join(dir, "day1.jsonl"), filepath.Join(dir, "day2.jsonl")
	// Run a starts on day 1 and completes on day 2; run b is all on day 1.
	for p, text := range map[string]string{day1: lines[0] + "\n" + lines[2] + "\n" + lines[3] + "\n", day2: lines[1] + "\n"} {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "s.duckdb")
	for _, c := range []struct{ path, want string }{
		{day1, "loaded " + day1 + " as source 1 (openlineage): 1 pipelines, 2 executions, 1 artifacts, 2 events\n"},
		{day2, "synced " + day2 + " into source 1 (openlineage): +0 executions, 1 updated, 0 removed; +0 artifacts, +0 events; derived tables "},
		{day2, day2 + ": up to date (source 1, openlineage)\n"},
		{dir, dir + ": up to date (source 1, openlineage)\n"},
	} {
		code, stdout, stderr := runCLI(t, "load", "--db", db, c.path)
		if code != 0 || !strings.HasPrefix(stdout, c.want) {
			t.Fatalf("load %s: exit %d, stdout %q, stderr %q; want stdout starting %q", c.path, code, stdout, stderr, c.want)
		}
	}
	code, stdout, stderr := runCLI(t, "query", "--db", db, "--format", "csv",
		`SELECT attrs->>'openlineage_run_id' AS run, state, cost FROM executions ORDER BY run`)
	if want := "run,state,cost\na,complete,600\nb,complete,60\n"; code != 0 || stdout != want {
		t.Errorf("executions: exit %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
	}
}

// TestExportMLMD writes the example corpus as an MLMD store and loads it back: the same
// executions, artifacts, events and pushes as the native path.
func TestExportMLMD(t *testing.T) {
	dir := t.TempDir()
	native, store, back := filepath.Join(dir, "native.duckdb"), filepath.Join(dir, "metadata.sqlite"), filepath.Join(dir, "back.duckdb")
	for _, args := range [][]string{
		{"load", "--db", native, filepath.Join("..", "..", "testdata", "example")},
		{"export", "--db", native, "--format", "mlmd", "--out", store},
		{"load", "--db", back, store},
	} {
		if code, stdout, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	const q = `SELECT (SELECT count(*) FROM executions) || ' ' || (SELECT count(*) FROM artifacts) || ' ' ||
		(SELECT count(*) FROM events) || ' ' || (SELECT round(sum(cost), 3) FROM executions) || ' ' ||
		(SELECT string_agg(x.node_id || '@' || x.run_id, ',' ORDER BY x.node_id, x.run_id) FROM artifacts a
			JOIN events e ON e.artifact_id = a.artifact_id AND e.direction = 'out' JOIN executions x ON x.execution_id = e.execution_id
			WHERE a.type = 'PushedModel' AND (a.attrs->>'pushed')::INT = 1) AS summary`
	_, want, _ := runCLI(t, "query", "--db", native, "--format", "csv", q)
	_, got, _ := runCLI(t, "query", "--db", back, "--format", "csv", q)
	if want != got || !strings.Contains(want, "@") {
		t.Errorf("native: %q\nmlmd:   %q", want, got)
	}
}

// kubeflowStore writes a Kubeflow Pipelines v2 store: container tasks named by task_name,
// none of them a TFX Trainer.
func kubeflowStore(t *testing.T) string {
	t.Helper()
	path, w, t0 := newMLMDStore(t)
	pipe := w.Context("system.Pipeline", "iris", t0)
	run := w.Context("system.PipelineRun", "run-1", t0, pipe)
	container := w.Type("system.ContainerExecution", "execution", "")
	var prev int64
	for i, task := range []string{"preprocess", "train-model", "deploy-model"} {
		x := w.Execution(container, mlmd.ExecComplete, t0.Add(time.Duration(i)*time.Hour), t0.Add(time.Duration(i)*time.Hour+time.Minute),
			mlmd.Prop{Name: "task_name", Custom: true, Value: task})
		w.Associate(run, x)
		if prev != 0 {
			w.Event(x, prev, mlmd.EventInput, t0.Add(time.Duration(i)*time.Hour), "in", 0)
		}
		prev = w.Artifact(w.Type("system.Model", "artifact", ""), fmt.Sprintf("gs://kfp/%s", task), mlmd.ArtLive, t0.Add(time.Duration(i)*time.Hour+time.Minute))
		w.Event(x, prev, mlmd.EventOutput, t0.Add(time.Duration(i)*time.Hour+time.Minute), "model", 0)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadNoTraining loads a store with no training runs: load must say so and how to map
// them, and following its advice must give the store a training run.
func TestLoadNoTraining(t *testing.T) {
	store := kubeflowStore(t)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	code, _, stderr := runCLI(t, "load", "--db", db, store)
	for _, want := range []string{
		"warning: no training runs in " + store + ": no execution has category train, so there are no models to follow.\n",
		"  operator types loaded (category, executions): deploy-model (other, 1), preprocess (other, 1), train-model (other, 1)\n",
		"  map your training components to category 'train' in op_categories, then load again:\n",
		"    mlprov query --db " + db + " \"INSERT OR REPLACE INTO op_categories VALUES ('train-model', 'train')\"\n",
		"    mlprov load --db " + db + " --deploy-rule REGEXP " + store + "\n",
	} {
		if code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr:\n%s\nwant it to hold %q", code, stderr, want)
		}
	}
	for _, args := range [][]string{
		{"query", "--db", db, "INSERT OR REPLACE INTO op_categories VALUES ('train-model', 'train')"},
		{"load", "--db", db, "--deploy-rule", "^deploy", store},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || strings.Contains(stderr, "no training runs") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	_, stdout, _ := runCLI(t, "query", "--db", db, "--format", "csv", "SELECT count(*) FILTER (category = 'train') || ' ' || count(*) FILTER (category = 'deploy') FROM executions")
	if !strings.Contains(stdout, "\n1 1\n") {
		t.Errorf("after mapping: %q, want 1 train and 1 deploy execution", stdout)
	}
	// A store with a Trainer loads without the warning.
	if code, _, stderr := runCLI(t, "load", "--db", filepath.Join(t.TempDir(), "t.duckdb"), mlmdStore(t)); code != 0 || strings.Contains(stderr, "no training runs") {
		t.Errorf("TFX store: exit %d, stderr %q", code, stderr)
	}
}

// TestExportMLMDRepeatedNames loads two sources that each hold a pipeline named p, with attrs
// of its own and the same run and node ids, exports the store as MLMD and loads it back: the
// export must succeed and keep both pipelines, their attrs, runs and nodes.
func TestExportMLMDRepeatedNames(t *testing.T) {
	dir := t.TempDir()
	db, store, back := filepath.Join(dir, "s.duckdb"), filepath.Join(dir, "metadata.sqlite"), filepath.Join(dir, "back.duckdb")
	args := []string{"load", "-q", "--db", db}
	for i, team := range []string{"a", "b"} {
		src := filepath.Join(dir, "src-"+team)
		id := 500 + 100*i
		files := map[string]string{
			"pipelines.jsonl":  fmt.Sprintf(`{"pipeline_id": %d, "name": "p", "attrs": {"team": %q, "tags": ["nightly"]}}`, id, team),
			"executions.jsonl": fmt.Sprintf(`{"execution_id": %d, "pipeline_id": %d, "run_id": "r1", "node_id": "train", "op_type": "Trainer", "state": "complete"}`, id+1, id),
			"artifacts.jsonl":  fmt.Sprintf(`{"artifact_id": %d, "pipeline_id": %d, "type": "Model", "uri": "gs://%s"}`, id+2, id, team),
			"events.jsonl":     fmt.Sprintf(`{"execution_id": %d, "artifact_id": %d, "direction": "out", "role": "model"}`, id+1, id+2),
		}
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(src, name), []byte(text+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, src)
	}
	for _, args := range [][]string{args, {"export", "--db", db, "--format", "mlmd", "--out", store}, {"load", "-q", "--db", back, store}} {
		if code, stdout, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	const q = `SELECT p.name, p.attrs->>'team' AS team, p.attrs->'tags' AS tags, x.run_id, x.node_id, a.uri
		FROM pipelines p JOIN executions x USING (pipeline_id) JOIN events e USING (execution_id) JOIN artifacts a USING (artifact_id) ORDER BY a.uri`
	_, want, _ := runCLI(t, "query", "--db", db, "--format", "csv", q)
	_, got, _ := runCLI(t, "query", "--db", back, "--format", "csv", q)
	if want != got || !strings.Contains(want, "gs://b") {
		t.Errorf("loaded: %q\nround trip: %q", want, got)
	}
}

// TestBadInputOneLine checks what a user sees for each kind of bad input: exit status 1 and
// one line that names the file and what is wrong.
func TestBadInputOneLine(t *testing.T) {
	tiny := `{"execution_id": 5001, "pipeline_id": 500, "op_type": "Trainer", "state": "complete"}`
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"json line that is not json", map[string]string{"events.jsonl": `{"execution_id": 5001,` + "\n"}, "events.jsonl: not valid JSON lines"},
		{"unknown state", map[string]string{"executions.jsonl": strings.Replace(tiny, "complete", "finished", 1)}, `unknown state`},
		{"event to a missing artifact", map[string]string{"events.jsonl": `{"execution_id": 5001, "artifact_id": 999, "direction": "in"}`}, "event names a missing artifact"},
		{"duplicate id", map[string]string{"executions.jsonl": tiny + "\n" + tiny}, "duplicate execution_id"},
		{"csv missing a column", map[string]string{"executions.jsonl": "", "executions.csv": "execution_id,pipeline_id,op_type\n5001,500,Trainer\n"}, "executions.csv: missing column state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"pipelines.jsonl":  `{"pipeline_id": 500, "name": "tiny"}`,
				"executions.jsonl": tiny,
				"artifacts.jsonl":  `{"artifact_id": 5002, "pipeline_id": 500, "type": "Model"}`,
				"events.jsonl":     `{"execution_id": 5001, "artifact_id": 5002, "direction": "out"}`,
			}
			for k, v := range tc.files {
				files[k] = v
			}
			for name, text := range files {
				if text == "" {
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db := filepath.Join(t.TempDir(), "s.duckdb")
			code, _, errOut := mlprov(t, "load", "-q", "--db", db, dir)
			if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "error: load ") || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and one line saying %q", code, errOut, tc.want)
			}
			// The store did not exist before the failed load, and does not after it.
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("a failed load into a new store left %s behind (%v)", db, err)
			}
		})
	}
}

// TestLoadSaysWhatItWarns checks that load prints the loader's warnings (a layout without
// events) on stderr and still succeeds, into a store whose name the DSN would misread.
func TestLoadSaysWhatItWarns(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"pipelines.jsonl":  `{"pipeline_id": 1, "name": "p"}`,
		"executions.jsonl": `{"execution_id": 2, "pipeline_id": 1, "op_type": "Trainer", "state": "complete"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "a?b#c.duckdb")
	code, stdout, stderr := runCLI(t, "load", "--db", db, dir)
	if code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	if want := "warning: " + dir + ": no events file: no execution is linked to an artifact"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not say %q", stderr, want)
	}
	if !strings.Contains(stdout, "1 executions") {
		t.Errorf("stdout %q", stdout)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the store is not where --db named it: %v", err)
	}
	_, help, _ := runCLI(t, "load", "--help")
	if !strings.Contains(help, "taken literally") || !strings.Contains(help, "pipe") {
		t.Errorf("load --help does not say how PATHs are read:\n%s", help)
	}
}
