// Package bench holds mlprov's benchmarks and the corpora they run on.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mlprov/engine"
	"mlprov/loaders/mlmd"
)

// tfxRun is one TFX pipeline run's shape: (operator, inputs by channel, outputs by channel).
// Each run reads the previous run's model as base_model (warm start) and baseline_model,
// like the production pipelines the paper studied, so lineage spans runs.
var tfxRun = []struct {
	op   string
	ins  []string
	outs []string
}{
	{"CsvExampleGen", nil, []string{"examples"}},
	{"StatisticsGen", []string{"examples"}, []string{"statistics"}},
	{"SchemaGen", []string{"statistics"}, []string{"schema"}},
	{"ExampleValidator", []string{"statistics", "schema"}, []string{"anomalies"}},
	{"Transform", []string{"examples", "schema"}, []string{"transform_graph", "transformed_examples"}},
	{"Trainer", []string{"transformed_examples", "transform_graph", "schema", "base_model"}, []string{"model"}},
	{"Evaluator", []string{"examples", "model", "baseline_model"}, []string{"evaluation", "blessing"}},
	{"Pusher", []string{"model", "blessing"}, []string{"pushed_model"}},
}

var artifactType = map[string]string{
	"examples": "Examples", "statistics": "ExampleStatistics", "schema": "Schema", "anomalies": "ExampleAnomalies",
	"transform_graph": "TransformGraph", "transformed_examples": "Examples", "model": "Model",
	"evaluation": "ModelEvaluation", "blessing": "ModelBlessing", "pushed_model": "PushedModel",
}

// buildMLMD writes an MLMD store (schema 10, TFX IR dialect) with at least events events, in
// runs of 8 executions, 10 artifacts and 21 events over 100 pipelines. The file is cached in
// the temp folder: it is deterministic, and building 1M events takes longer than loading.
func buildMLMD(b *testing.B, events int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "mlprov-bench")
	path := filepath.Join(dir, fmt.Sprintf("mlmd-v1-%d.sqlite", events))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	tmp := path + ".part"
	os.Remove(tmp)
	start := time.Now()
	w, err := mlmd.Create(context.Background(), tmp, 10)
	if err != nil {
		b.Fatal(err)
	}
	const pipelines = 100
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	types := map[string]int64{}
	for _, s := range tfxRun {
		types[s.op] = w.Type("tfx.components."+s.op+".component."+s.op, "execution", "")
	}
	pipes := make([]int64, pipelines)
	lastModel := make([]int64, pipelines)
	for p := range pipes {
		pipes[p] = w.Context("pipeline", fmt.Sprintf("pipeline-%03d", p), t0)
	}
	n := 0
	for run := 0; n < events; run++ {
		p := run % pipelines
		at := t0.Add(time.Duration(run) * time.Minute)
		rc := w.Context("pipeline_run", fmt.Sprintf("run-%d", run), at, pipes[p])
		chans := map[string]int64{"base_model": lastModel[p], "baseline_model": lastModel[p]}
		for i, s := range tfxRun {
			x := w.Execution(types[s.op], mlmd.ExecComplete, at.Add(time.Duration(i)*time.Minute), at.Add(time.Duration(i+1)*time.Minute),
				mlmd.Prop{Name: "code_version", Custom: true, Value: "v1"})
			w.Associate(pipes[p], x)
			w.Associate(rc, x)
			for _, c := range s.ins {
				if a := chans[c]; a != 0 {
					w.Event(x, a, mlmd.EventInput, at, c, 0)
					n++
				}
			}
			for _, c := range s.outs {
				props := []mlmd.Prop{{Name: "span", Value: run}}
				switch c {
				case "blessing":
					props = append(props, mlmd.Prop{Name: "blessed", Custom: true, Value: run % 3})
				case "pushed_model":
					props = append(props, mlmd.Prop{Name: "pushed", Custom: true, Value: run % 3})
				}
				a := w.Artifact(w.Type(artifactType[c], "artifact", ""), fmt.Sprintf("gs://b/p%d/%s/%d", p, c, run), mlmd.ArtLive, at, props...)
				w.Attribute(pipes[p], a)
				w.Event(x, a, mlmd.EventOutput, at, c, 0)
				n++
				chans[c] = a
			}
		}
		lastModel[p] = chans["model"]
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s (%d events) in %v", path, n, time.Since(start).Round(time.Millisecond))
	return path
}

// BenchmarkLoadMLMD loads an MLMD store into an in-memory mlprov store: read through the
// pure-Go SQLite driver, decoded, staged through DuckDB's Appender, validated and inserted in
// one transaction. rows/s counts every row the load added (pipelines, executions, artifacts,
// events). The read-only sub-benchmark scans the same SQLite tables and does nothing else:
// the floor the loader's reading cannot beat.
func BenchmarkLoadMLMD(b *testing.B) {
	for _, events := range []int{100_000, 1_000_000} {
		path := buildMLMD(b, events)
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
			var rows int64
			for b.Loop() {
				e, err := engine.Open(context.Background(), ":memory:", engine.Options{MemoryLimit: "4GB"})
				if err != nil {
					b.Fatal(err)
				}
				res, err := e.Load(context.Background(), &mlmd.Loader{}, path, engine.LoadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				rows = res.Rows()
				e.Close()
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(rows)/sec, "rows/s")
			b.ReportMetric(float64(events)/sec, "events/s")
		})
		b.Run(fmt.Sprintf("events=%d/read-only", events), func(b *testing.B) {
			var rows int64
			for b.Loop() {
				rows = scanSQLite(b, path)
			}
			b.ReportMetric(float64(rows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
		})
	}
}

// scanSQLite reads every row of the tables the loader reads, and returns how many.
func scanSQLite(b *testing.B, path string) int64 {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int64
	for _, q := range []string{
		"SELECT id, type_id, last_known_state, name, create_time_since_epoch, last_update_time_since_epoch FROM Execution",
		"SELECT id, type_id, uri, state, name, create_time_since_epoch, last_update_time_since_epoch FROM Artifact",
		"SELECT execution_id, name, is_custom_property, int_value, double_value, string_value, byte_value, proto_value, bool_value FROM ExecutionProperty",
		"SELECT artifact_id, name, is_custom_property, int_value, double_value, string_value, byte_value, proto_value, bool_value FROM ArtifactProperty",
		"SELECT event_id, is_index_step, step_key FROM EventPath",
		"SELECT id, artifact_id, execution_id, type, milliseconds_since_epoch FROM Event",
		"SELECT context_id, execution_id FROM Association",
		"SELECT context_id, artifact_id FROM Attribution",
	} {
		rows, err := db.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
	}
	return n
}
