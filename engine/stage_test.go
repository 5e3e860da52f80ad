package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
)

// rowLoader stages one row of each table through the StageWriter.
type rowLoader struct{}

func (rowLoader) Format() string                                      { return "rows" }
func (rowLoader) Detect(string) bool                                  { return false }
func (rowLoader) Fingerprint(context.Context, string) (string, error) { return "rows", nil }

func (rowLoader) Stage(ctx context.Context, st *engine.Stage, _ string) error {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return st.Write(ctx, func(w *engine.StageWriter) error {
		return errors.Join(
			w.Pipeline(engine.Pipeline{ID: 1, Name: "p", Attrs: `{"a":1}`, Src: "s"}),
			w.Execution(engine.Execution{ID: 2, PipelineID: 1, RunID: "run", NodeID: "node", OpType: "Op",
				Category: "train", State: engine.StateFailed, Start: t0, End: t0.Add(time.Minute),
				Cost: sql.NullFloat64{Float64: 1.5, Valid: true}, Attrs: `{"x":2}`, Src: "s"}),
			w.Artifact(engine.Artifact{ID: 3, PipelineID: 1, Type: "Model", URI: "uri", Span: sql.NullInt64{Int64: 4, Valid: true},
				Version: sql.NullInt64{Int64: 5, Valid: true}, State: "pending", Created: t0.Add(time.Hour),
				SizeBytes: sql.NullInt64{Int64: 6, Valid: true}, Attrs: `{"y":3}`, Src: "s"}),
			w.Event(engine.Event{ExecutionID: 2, ArtifactID: 3, Direction: engine.DirectionOut, Role: "model", Time: t0.Add(2 * time.Hour), Src: "s"}),
		)
	})
}

// TestStageWriterColumns checks that each StageWriter method puts every field of its row in
// the column of engine.Tables that holds it.
func TestStageWriterColumns(t *testing.T) {
	ctx := context.Background()
	e := open(t, ":memory:", engine.Options{})
	in := filepath.Join(t.TempDir(), "rows")
	if err := os.WriteFile(in, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(ctx, rowLoader{}, in, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"pipelines":  `pipeline_id=1 name=p source_id=1 attrs={"a":1}`,
		"executions": `execution_id=2 pipeline_id=1 run_id=run node_id=node op_type=Op category=train state=failed start_time=2024-01-02 03:04:05 end_time=2024-01-02 03:05:05 cost=1.5 attrs={"x":2} source_id=1`,
		"artifacts":  `artifact_id=3 pipeline_id=1 type=Model uri=uri span=4 version=5 state=pending create_time=2024-01-02 04:04:05 size_bytes=6 attrs={"y":3} source_id=1`,
		"events":     `execution_id=2 artifact_id=3 direction=out role=model event_time=2024-01-02 05:04:05`,
	}
	for _, table := range engine.Tables {
		var parts []string
		for _, c := range table.Columns {
			parts = append(parts, fmt.Sprintf(`'%[1]s=' || %[1]s::VARCHAR`, c.Name))
		}
		var got string
		q := fmt.Sprintf(`SELECT concat_ws(' ', %s) FROM %s`, strings.Join(parts, ", "), table.Name)
		if err := e.DB().QueryRowContext(ctx, q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[table.Name], got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", table.Name, diff)
		}
	}
}

// racingLoader stages one execution, after running meanwhile, once, the load race makes.
type racingLoader struct{ race func() }

func (racingLoader) Format() string                                      { return "racing" }
func (racingLoader) Detect(string) bool                                  { return false }
func (racingLoader) Fingerprint(context.Context, string) (string, error) { return "racing", nil }

func (l racingLoader) Stage(ctx context.Context, st *engine.Stage, _ string) error {
	if l.race != nil {
		l.race()
	}
	return st.Write(ctx, func(w *engine.StageWriter) error {
		return errors.Join(
			w.Pipeline(engine.Pipeline{ID: 11, Name: "q", Src: "r"}),
			w.Execution(engine.Execution{ID: 12, PipelineID: 11, OpType: "Op", State: engine.StateComplete, Src: "r"}))
	})
}

// TestLoadRacedByAnotherLoad checks that a load staged while another one added a source to
// the store (a load stages before its transaction begins) is refused, changing nothing,
// rather than given the source id and range of ids the other took.
func TestLoadRacedByAnotherLoad(t *testing.T) {
	ctx := context.Background()
	e := open(t, ":memory:", engine.Options{})
	dir := t.TempDir()
	rows, racing := filepath.Join(dir, "rows"), filepath.Join(dir, "racing")
	for _, p := range []string{rows, racing} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	race := func() {
		if _, err := e.Load(ctx, rowLoader{}, rows, engine.LoadOptions{}); err != nil {
			t.Error(err)
		}
	}
	_, err := e.Load(ctx, racingLoader{race: race}, racing, engine.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "another load added a source to the store while this one read its input: load again") {
		t.Fatalf("raced load: got error %v", err)
	}
	count := func() (sources, executions int) {
		t.Helper()
		if err := e.DB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM executions)`).Scan(&sources, &executions); err != nil {
			t.Fatal(err)
		}
		return sources, executions
	}
	if s, x := count(); s != 1 || x != 1 {
		t.Fatalf("after the raced load: %d sources and %d executions, want the other load's 1 and 1", s, x)
	}
	res, err := e.Load(ctx, racingLoader{}, racing, engine.LoadOptions{})
	if err != nil {
		t.Fatalf("loaded again: %v", err)
	}
	if s, x := count(); res.SourceID != 2 || s != 2 || x != 2 {
		t.Fatalf("loaded again: source %d, %d sources and %d executions, want source 2 of 2 and 2 executions", res.SourceID, s, x)
	}
}
