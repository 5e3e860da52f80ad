package native_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/internal/storetest"
	"mlprov/loaders/native"
)

// TestDeployRule loads a custom pipeline with no TFX Pusher in the native layout, with a
// deploy rule that names the node ship and the node iris.release by its full name: both
// become Pushers of category deploy; the complete ship writes a PushedModel with pushed = 1
// whose id goes past every id in the store, the failed one pushes nothing, and release, which
// wrote a PushedModel itself, gets no second one. The one operator type left with no category
// is named in a warning.
func TestDeployRule(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "pipelines.jsonl"), `{"pipeline_id": 7, "name": "iris"}
`)
	write(t, filepath.Join(dir, "executions.jsonl"), `{"execution_id": 21, "pipeline_id": 7, "run_id": "r1", "node_id": "fit", "op_type": "fit", "category": "train", "state": "complete", "start_time": "2024-05-01T10:00:00Z", "end_time": "2024-05-01T10:10:00Z"}
{"execution_id": 22, "pipeline_id": 7, "run_id": "r1", "node_id": "ship", "op_type": "ship", "state": "complete", "start_time": "2024-05-01T10:11:00Z", "end_time": "2024-05-01T10:12:00Z"}
{"execution_id": 23, "pipeline_id": 7, "run_id": "r2", "node_id": "ship", "op_type": "ship", "state": "failed", "start_time": "2024-05-02T10:11:00Z", "end_time": "2024-05-02T10:12:00Z"}
{"execution_id": 24, "pipeline_id": 7, "run_id": "r1", "node_id": "release", "op_type": "release", "state": "complete", "start_time": "2024-05-01T10:13:00Z", "end_time": "2024-05-01T10:14:00Z"}
{"execution_id": 25, "pipeline_id": 7, "run_id": "r1", "node_id": "evaluate", "op_type": "evaluate", "state": "complete", "start_time": "2024-05-01T10:10:00Z", "end_time": "2024-05-01T10:11:00Z"}
`)
	write(t, filepath.Join(dir, "artifacts.jsonl"), `{"artifact_id": 31, "pipeline_id": 7, "type": "Model", "state": "live"}
{"artifact_id": 32, "pipeline_id": 7, "type": "PushedModel", "state": "live", "attrs": {"pushed": 1}}
`)
	write(t, filepath.Join(dir, "events.jsonl"), `{"execution_id": 21, "artifact_id": 31, "direction": "out", "role": "model"}
{"execution_id": 22, "artifact_id": 31, "direction": "in", "role": "model"}
{"execution_id": 23, "artifact_id": 31, "direction": "in", "role": "model"}
{"execution_id": 24, "artifact_id": 31, "direction": "in", "role": "model"}
{"execution_id": 24, "artifact_id": 32, "direction": "out", "role": "pushed_model"}
{"execution_id": 25, "artifact_id": 31, "direction": "in", "role": "model"}
`)
	e := storetest.Open(t)
	load(t, e, example, engine.LoadOptions{}) // source 1: the rule's push must not take its ids
	res, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{DeployRule: regexp.MustCompile(`^ship$|^iris\.release$`)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 operator types have no category and count as other: evaluate (add them to op_categories)"}
	if diff := cmp.Diff(want, res.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	got := query(t, e, `SELECT execution_id, op_type, category FROM executions WHERE pipeline_id = 7 ORDER BY ALL`)
	wantRows := [][]string{
		{"21", "fit", "train"}, {"22", "Pusher", "deploy"}, {"23", "Pusher", "deploy"},
		{"24", "Pusher", "deploy"}, {"25", "evaluate", "other"},
	}
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("executions (-want +got):\n%s", diff)
	}
	got = query(t, e, `SELECT e.execution_id, e.role, a.artifact_id, a.type, a.state,
		a.attrs->>'pushed', strftime(a.create_time, '%d %H:%M'), strftime(e.event_time, '%d %H:%M')
		FROM events e JOIN artifacts a USING (artifact_id)
		WHERE a.type = 'PushedModel' AND a.pipeline_id = 7 ORDER BY ALL`)
	wantRows = [][]string{
		// The rule's PushedModel takes an id of the engine's part of source 2's range, past
		// every id loaded.
		{"22", "pushed_model", itoa(engine.IDSpan + engine.IDSpan/4*3 + 1), "PushedModel", "live", "1", "01 10:12", "01 10:12"},
		{"24", "pushed_model", "32", "PushedModel", "live", "1", "NULL", "NULL"},
	}
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
	// A sync of the grown folder finds the rule's PushedModel as it was.
	f, err := os.OpenFile(filepath.Join(dir, "executions.jsonl"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"execution_id": 26, "pipeline_id": 7, "node_id": "fit", "op_type": "fit", "state": "running"}` + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res, err = e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{DeployRule: regexp.MustCompile(`^ship$|^iris\.release$`)})
	if err != nil || res.Executions != 1 || res.Artifacts != 0 || res.Events != 0 || res.Updated.Rows() != 0 || res.Removed.Rows() != 0 {
		t.Errorf("sync of the grown folder: %+v, %v; want 1 execution added and nothing else", res, err)
	}
}

// query runs q and returns its rows as text.
func query(t testing.TB, e *engine.Engine, q string) [][]string {
	t.Helper()
	res, err := render.Query(context.Background(), e.DB(), q)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]string, len(res.Rows))
	for i, r := range res.Rows {
		for _, v := range r {
			out[i] = append(out[i], render.Text(v, "NULL"))
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
