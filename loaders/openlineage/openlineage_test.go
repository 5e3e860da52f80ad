package openlineage

import (
	"fmt"
	mlgolden "mlprov/internal/golden"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mlprov/engine"
	"mlprov/internal/storetest"
)

func load(tb testing.TB, e *engine.Engine, l *Loader, path string) ([]string, engine.LoadResult, error) {
	tb.Helper()
	return storetest.Load(tb, e, l, path, engine.LoadOptions{})
}

func query(tb testing.TB, e *engine.Engine, q string) string {
	tb.Helper()
	return mlgolden.Rows(tb, e.DB(), q)
}

// dump renders what a load put in the store and the progress lines it printed, then its
// warnings (LoadResult.Warnings) as the CLI prints them.
func dump(tb testing.TB, e *engine.Engine, steps []string, res engine.LoadResult) string {
	var b strings.Builder
	for _, s := range []struct{ title, q string }{
		{"counts", `SELECT (SELECT count(*) FROM pipelines), (SELECT count(*) FROM executions), (SELECT count(*) FROM artifacts), (SELECT count(*) FROM events)`},
		{"pipelines", `SELECT pipeline_id, name FROM pipelines ORDER BY pipeline_id`},
		{"executions", `SELECT execution_id, pipeline_id, run_id, node_id, op_type, category, state, start_time, end_time, printf('%.3f', cost), attrs::VARCHAR FROM executions ORDER BY execution_id`},
		{"artifacts", `SELECT artifact_id, pipeline_id, type, uri, version, size_bytes, create_time, attrs::VARCHAR FROM artifacts ORDER BY artifact_id`},
		{"events", `SELECT execution_id, direction, artifact_id, role, event_time FROM events ORDER BY ALL`},
	} {
		fmt.Fprintf(&b, "%s:\n%s", s.title, query(tb, e, s.q))
	}
	fmt.Fprintf(&b, "steps:\n")
	for _, s := range steps {
		if strings.HasPrefix(s, "materialized ") {
			continue // the derived tables, and how long they took: not the loader's
		}
		if !strings.HasPrefix(s, "reading ") && !strings.HasPrefix(s, "validating") && !strings.HasPrefix(s, "inserting") {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

// TestMarquez loads Marquez's demo seed: 13 jobs, each run once (START, COMPLETE), over 13
// tables, with 14 reads and 13 writes.
func TestMarquez(t *testing.T) {
	path := filepath.Join(storetest.SharedData(t), "openlineage", "marquez-food-delivery.json")
	l := &Loader{}
	if !l.Detect(path) {
		t.Fatal("Detect: the Marquez sample is not recognised")
	}
	e := storetest.Open(t)
	steps, res, err := load(t, e, l, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := [4]int64{res.Pipelines, res.Executions, res.Artifacts, res.Events}, [4]int64{1, 13, 13, 27}; got != want {
		t.Errorf("loaded %v (pipelines, executions, artifacts, events), want %v", got, want)
	}
	mlgolden.CheckCase(t, "marquez", dump(t, e, steps, res))
}

// TestSamples loads the folder of Marquez's OpenLineage test events, plus the demo seed: the
// job and dataset events have no run and are skipped; the rest load.
func TestSamples(t *testing.T) {
	dir := filepath.Join(storetest.SharedData(t), "openlineage")
	l := &Loader{}
	if !l.Detect(dir) {
		t.Fatal("Detect: the samples folder is not recognised")
	}
	e := storetest.Open(t)
	steps, res, err := load(t, e, l, dir)
	if err != nil {
		t.Fatal(err)
	}
	mlgolden.CheckCase(t, "samples", dump(t, e, steps, res))
}

func writeFile(tb testing.TB, name, text string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// A small ML pipeline as JSON lines, written the way real emitters get it wrong: no
// schemaURL, nanosecond and zone-less times, unicode names, a failed run, a run with no
// terminal event, and dataset versions.
const mlLog = `{"eventType":"START","eventTime":"2024-05-01T10:00:00.123456789Z","run":{"runId":"r-dag-1"},"job":{"namespace":"ml","name":"prévision"}}
{"eventType":"START","eventTime":"2024-05-01T10:00:01","run":{"runId":"r-ingest-1","facets":{"parent":{"run":{"runId":"r-dag-1"},"job":{"namespace":"ml","name":"prévision"}}}},"job":{"namespace":"ml","name":"prévision.ingest"},"outputs":[{"namespace":"s3://lake","name":"données/ventes","facets":{"version":{"datasetVersion":"7"}}}]}
{"eventType":"COMPLETE","eventTime":"2024-05-01T12:02:01.5+02:00","run":{"runId":"r-ingest-1"},"job":{"namespace":"ml","name":"prévision.ingest"},"outputs":[{"namespace":"s3://lake","name":"données/ventes","facets":{"version":{"datasetVersion":"7"}},"outputFacets":{"outputStatistics":{"rowCount":10,"size":4096}}}]}

{"eventType":"START","eventTime":"2024-05-01 10:03:00","run":{"runId":"r-train-1","facets":{"parent":{"run":{"runId":"r-dag-1"},"job":{"namespace":"ml","name":"prévision"}}}},"job":{"namespace":"ml","name":"prévision.train"},"inputs":[{"namespace":"s3://lake","name":"données/ventes","facets":{"version":{"datasetVersion":"7"}}}]}
{"eventType":"COMPLETE","eventTime":"2024-05-01T10:13:00.000000000001Z","run":{"runId":"r-train-1"},"job":{"namespace":"ml","name":"prévision.train"},"outputs":[{"namespace":"s3://models","name":"ventes-model"}]}
{"eventType":"START","eventTime":"2024-05-01T10:14:00Z","run":{"runId":"r-deploy-1","facets":{"parent":{"run":{"runId":"r-dag-1"},"job":{"namespace":"ml","name":"prévision"}}}},"job":{"namespace":"ml","name":"prévision.deploy_model"},"inputs":[{"namespace":"s3://models","name":"ventes-model"}]}
{"eventType":"COMPLETE","eventTime":"2024-05-01T10:15:00Z","run":{"runId":"r-deploy-1"},"job":{"namespace":"ml","name":"prévision.deploy_model"}}
{"eventType":"START","eventTime":"2024-05-02T08:03:00Z","run":{"runId":"r-train-2"},"job":{"namespace":"ml","name":"prévision.train"}}
{"eventType":"FAIL","eventTime":"2024-05-02T08:04:00Z","run":{"runId":"r-train-2"},"job":{"namespace":"ml","name":"prévision.train"}}
{"eventType":"START","eventTime":"2024-05-02T09:00:00Z","run":{"runId":"r-deploy-2"},"job":{"namespace":"ml","name":"prévision.deploy_model"}}
{"eventType":"ABORT","eventTime":"2024-05-02T09:01:00Z","run":{"runId":"r-deploy-2"},"job":{"namespace":"ml","name":"prévision.deploy_model"}}
{"eventType":"RUNNING","eventTime":"2024-05-03T09:00:00Z","run":{"runId":"r-train-3"},"job":{"namespace":"ml","name":"prévision.train"}}
{"eventType":"COMPLETE","eventTime":"2024-05-01T10:20:00Z","run":{"runId":"r-dag-1"},"job":{"namespace":"ml","name":"prévision"}}
`

// TestDeployRule loads an ML-shaped log with a deploy rule: the complete deploy run becomes
// a Pusher that writes a PushedModel with pushed = 1 downstream of the trained model; the
// aborted one pushes nothing.
func TestDeployRule(t *testing.T) {
	path := writeFile(t, "ml.jsonl", mlLog)
	e := storetest.Open(t)
	steps, res, err := storetest.Load(t, e, &Loader{}, path, engine.LoadOptions{DeployRule: regexp.MustCompile(`deploy`)})
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, e, steps, res)
	// The push, in plain SQL: the model the train run wrote, read by a complete deploy run
	// that wrote a PushedModel with pushed = 1.
	got += "pushed:\n" + query(t, e, `SELECT t.node_id, m.uri, p.node_id, pm.type
		FROM executions t JOIN events o ON o.execution_id = t.execution_id AND o.direction = 'out'
		JOIN artifacts m ON m.artifact_id = o.artifact_id
		JOIN events i ON i.artifact_id = m.artifact_id AND i.direction = 'in'
		JOIN executions p ON p.execution_id = i.execution_id AND p.category = 'deploy' AND p.state = 'complete'
		JOIN events po ON po.execution_id = p.execution_id AND po.direction = 'out'
		JOIN artifacts pm ON pm.artifact_id = po.artifact_id AND (pm.attrs->>'pushed')::INT = 1
		ORDER BY ALL`)
	mlgolden.CheckCase(t, "deploy_rule", got)
}

// TestBadInput checks that a bad record fails the load with an error naming the file and
// the line, and leaves the store as it was.
func TestBadInput(t *testing.T) {
	good := strings.Split(mlLog, "\n")
	cases := []struct {
		name, file, text, want string
	}{
		{"invalid line", "log.jsonl", strings.Join(good[:3], "\n") + "\n{\"eventType\": \"START\", \"eventTime\": \n" + strings.Join(good[4:], "\n"),
			"log.jsonl: line 4: invalid JSON"},
		{"not an object", "log.jsonl", good[0] + "\n" + good[1] + "\n[1, 2]\n",
			"log.jsonl: line 3: a RunEvent is a JSON object, not a JSON array"},
		{"wrong type", "log.jsonl", good[0] + "\n" + `{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":42},"job":{"namespace":"ml","name":"x"}}` + "\n",
			"log.jsonl: line 2: field run.runId: want a string, not a JSON number"},
		{"bad time", "log.jsonl", good[0] + "\n" + `{"eventType":"START","eventTime":"yesterday","run":{"runId":"r"},"job":{"namespace":"ml","name":"x"}}` + "\n",
			`log.jsonl: line 2: run r: eventTime "yesterday" is not an ISO 8601 time`},
		{"no job", "log.jsonl", good[0] + "\n" + `{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r"},"job":{"namespace":"ml"}}` + "\n",
			"log.jsonl: line 2: run r: job.name is missing"},
		{"array cut short", "log.json", "[\n" + good[0] + ",\n" + good[1] + ",\n{\"eventType\": \"START\"",
			"log.json: line 4 (event 3 of the array): invalid JSON: the record is cut short"},
		{"pretty broken", "log.json", "{\n  \"eventType\": \"START\",\n  \"eventTime\": \"2024-05-01T10:00:00Z\",\n  \"run\": {\"runId\": \"r\"}\n  \"job\": {}\n}\n",
			"log.json: line 5: invalid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := storetest.Open(t)
			if _, _, err := load(t, e, &Loader{}, writeFile(t, "first.jsonl", mlLog)); err != nil {
				t.Fatal(err)
			}
			before := query(t, e, `SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM executions), (SELECT count(*) FROM artifacts), (SELECT count(*) FROM events)`)
			_, _, err := load(t, e, &Loader{}, writeFile(t, c.file, c.text))
			if err == nil {
				t.Fatal("load succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.want)
			}
			after := query(t, e, `SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM executions), (SELECT count(*) FROM artifacts), (SELECT count(*) FROM events)`)
			if before != after {
				t.Errorf("store changed by a failed load: %s -> %s", before, after)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2020, 12, 28, 9, 52, 0, 1_000_000, time.UTC)
	for _, s := range []string{
		"2020-12-28T19:52:00.001+10:00",
		"2020-12-28T09:52:00.001Z",
		"2020-12-28T09:52:00.001000000Z",
		"2020-12-28T09:52:00.001000000000Z",
		"2020-12-28T09:52:00.001",
		"2020-12-28 09:52:00.001",
		"2020-12-28T11:52:00.001+0200",
	} {
		got, err := ParseTime(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
		} else if !got.Equal(want) {
			t.Errorf("%s: got %v, want %v", s, got, want)
		}
	}
	for _, s := range []string{"", "yesterday", "2020-13-28T09:52:00Z"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(mlLog))
	f.Add([]byte(`[{"eventTime":"2020-01-01T00:00:00Z","run":{"runId":"a"},"job":{"name":"j"}}]`))
	f.Add([]byte("{\n\"run\": {\"runId\": \"x\"}\n}\n{\"job\": {}}"))
	f.Add([]byte("[\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("error does not name a line: %v", err)
			}
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, r := range recs {
			if r.Line < 1 || r.Line > lines {
				t.Errorf("record at line %d of %d", r.Line, lines)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	f.Add("2020-12-28T19:52:00.001+10:00")
	f.Add("2020-12-28T09:52:00.0010000000001")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if err == nil && got.Location() != time.UTC {
			t.Errorf("%q: not UTC", s)
		}
	})
}

// TestWritesAreVersions checks that jobs reading and writing the same tables make a chain of
// dataset versions, not a cycle: extract reads raw and writes clean; score reads clean and
// writes raw back (a feedback loop), then extract runs again.
func TestWritesAreVersions(t *testing.T) {
	dir := t.TempDir()
	ev := func(typ, run, job, at, in, out string) string {
		return fmt.Sprintf(`{"eventType": %q, "eventTime": %q, "run": {"runId": %q}, "job": {"namespace": "loop", "name": %q}, "inputs": [{"namespace": "db", "name": %q}], "outputs": [{"namespace": "db", "name": %q}]}`,
			typ, at, run, job, in, out)
	}
	lines := []string{
		ev("START", "r1", "extract", "2024-01-01T00:00:00Z", "raw", "clean"),
		ev("COMPLETE", "r1", "extract", "2024-01-01T00:10:00Z", "raw", "clean"),
		ev("START", "r2", "score", "2024-01-01T01:00:00Z", "clean", "raw"),
		ev("COMPLETE", "r2", "score", "2024-01-01T01:10:00Z", "clean", "raw"),
		ev("START", "r3", "extract", "2024-01-02T00:00:00Z", "raw", "clean"),
		ev("COMPLETE", "r3", "extract", "2024-01-02T00:10:00Z", "raw", "clean"),
	}
	path := filepath.Join(dir, "loop.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := storetest.Open(t)
	if _, _, err := load(t, e, &Loader{}, path); err != nil {
		t.Fatalf("a feedback loop between jobs must load as a chain: %v", err)
	}
	got := query(t, e, `SELECT p.node_id || ' -> ' || (a.attrs->>'name') || ' -> ' || c.node_id
		FROM lineage_edges l JOIN executions p ON p.execution_id = l.producer_id
		JOIN executions c ON c.execution_id = l.consumer_id JOIN artifacts a USING (artifact_id)
		ORDER BY p.start_time`)
	want := "  extract -> clean -> score\n  score -> raw -> extract\n"
	if got != want {
		t.Errorf("lineage:\n%swant:\n%s", got, want)
	}
	// raw as first seen (read by r1), clean written by r1 and by r3, raw written by r2.
	if n := query(t, e, `SELECT count(*) FROM artifacts`); n != "  4\n" {
		t.Errorf("artifacts: %s, want 4", n)
	}
}

// TestPipesAreRefused loads a log that is a pipe, or a folder holding one: the load must
// neither block nor record a source.
func TestPipesAreRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "log.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no named pipes here:", err)
	}
	for _, path := range []string{fifo, dir} {
		e := storetest.Open(t)
		done := make(chan error, 1)
		go func() {
			_, _, err := load(t, e, &Loader{}, path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "log.jsonl: is a pipe, not a regular file") {
				t.Errorf("load %s: err = %v, want one naming the pipe", path, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("load %s hangs on a pipe", path)
		}
		var sources int
		if err := e.DB().QueryRow(`SELECT count(*) FROM sources`).Scan(&sources); err != nil {
			t.Fatal(err)
		}
		if sources != 0 {
			t.Errorf("load %s recorded %d sources", path, sources)
		}
	}
}
