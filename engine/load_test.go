package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
)

// counts returns each canonical table's row count and its number of distinct rows.
func counts(t testing.TB, e *engine.Engine) string {
	t.Helper()
	var out []string
	for _, tb := range []string{"pipelines", "executions", "artifacts", "events"} {
		var n, distinct int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s), (SELECT count(*) FROM (SELECT DISTINCT * FROM %[1]s))`, tb)
		if tb == "pipelines" {
			q = `SELECT count(*), count(DISTINCT pipeline_id) FROM pipelines`
		}
		if err := e.DB().QueryRow(q).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d (%d distinct)", tb, n, distinct))
	}
	return strings.Join(out, ", ")
}

// secondSource is a small layout of its own that loads beside testdata/example; events adds
// event lines to it.
func secondSource(t testing.TB, events string) string {
	return writeLayout(t, map[string]string{
		"pipelines.jsonl":  `{"pipeline_id": 5000, "name": "second"}`,
		"executions.jsonl": `{"execution_id": 5001, "pipeline_id": 5000, "op_type": "Trainer", "state": "complete", "cost": 3}`,
		"artifacts.jsonl":  `{"artifact_id": 5002, "pipeline_id": 5000, "type": "Model"}`,
		"events.jsonl":     `{"execution_id": 5001, "artifact_id": 5002, "direction": "out"}` + "\n" + events,
	})
}

// TestLoadAcrossSources checks what one source may name of another's: a native folder may
// add executions to a pipeline and read artifacts that another folder loaded (the layout's ids
// are global), but an event is loaded with its execution, and a sync may not remove a row
// that another source's rows name.
func TestLoadAcrossSources(t *testing.T) {
	ctx := context.Background()
	t.Run("an event of source 2 names an execution of source 1", func(t *testing.T) {
		e, before, err := loadBeside(t, secondSource(t, `{"execution_id": 101, "artifact_id": 5002, "direction": "in", "role": "model"}`))
		if err == nil {
			t.Fatal("load succeeded")
		}
		checkRefused(t, e, err, before, "event names an execution of another source", "events.jsonl", "event 101->5002", "execution_id 101 of source 1")
	})
	first := copyLayout(t, example)
	e := open(t, ":memory:", engine.Options{})
	if _, err := e.Load(ctx, &native.Loader{}, first, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	second := writeLayout(t, map[string]string{
		"pipelines.jsonl":  `{"pipeline_id": 5000, "name": "second"}`,
		"executions.jsonl": `{"execution_id": 5001, "pipeline_id": 1, "op_type": "Trainer", "state": "complete", "cost": 3}`,
		"artifacts.jsonl":  `{"artifact_id": 5002, "pipeline_id": 1, "type": "Model"}`,
		"events.jsonl": `{"execution_id": 5001, "artifact_id": 5002, "direction": "out"}
{"execution_id": 5001, "artifact_id": 1001, "direction": "in", "role": "examples"}`,
	})
	if _, err := e.Load(ctx, &native.Loader{}, second, engine.LoadOptions{}); err != nil {
		t.Fatalf("a folder adding to a pipeline of another and reading its artifact: %v", err)
	}
	var members int
	if err := e.DB().QueryRow(`SELECT count(*) FROM graphlet_members WHERE graphlet_id = 5001 AND artifact_id = 1001`).Scan(&members); err != nil || members != 1 {
		t.Errorf("the Examples of source 1 in the graphlet of source 2's Trainer: %d rows, %v", members, err)
	}
	before := counts(t, e)
	if _, err := e.Load(ctx, &native.Loader{}, first, engine.LoadOptions{Replace: true}); err != nil {
		t.Fatalf("replacing source 1: %v", err)
	}
	if got := counts(t, e); got != before {
		t.Errorf("replacing source 1 changed the store: %s, was %s", got, before)
	}
	dropLines(t, filepath.Join(first, "artifacts.jsonl"), `"artifact_id": 1001,`)
	dropLines(t, filepath.Join(first, "events.jsonl"), `"artifact_id": 1001,`)
	_, err := e.Load(ctx, &native.Loader{}, first, engine.LoadOptions{})
	if err == nil {
		t.Fatal("a sync removed an artifact that another source reads")
	}
	checkRefused(t, e, err, before, "events of another source name an artifact this load removes", "source 2", "event 5001->1001")
}

func TestReplaceTouchesOnlyItsSource(t *testing.T) {
	ctx := context.Background()
	e := loadExample(t)
	second := secondSource(t, `{"execution_id": 5001, "artifact_id": 5002, "direction": "out", "role": "again"}`)
	if _, err := e.Load(ctx, &native.Loader{}, second, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	want := counts(t, e)
	for _, path := range []string{example, second, example, second} {
		res, err := e.Load(ctx, &native.Loader{}, path, engine.LoadOptions{Replace: true})
		if err != nil || !res.Replaced {
			t.Fatalf("replace %s: %+v, %v", path, res, err)
		}
		if got := counts(t, e); got != want {
			t.Errorf("after replacing %s: %s, want %s", path, got, want)
		}
	}
}

func TestLoadRefusesNonFiniteNumbersAndTimes(t *testing.T) {
	csv := func(execs, arts, events string) func(t testing.TB) string {
		if events == "" {
			events = "5001,5002,out,2024-01-02"
		}
		return func(t testing.TB) string {
			return writeLayout(t, map[string]string{
				"pipelines.csv": "pipeline_id,name\n5000,p",
				"executions.csv": "execution_id,pipeline_id,op_type,state,start_time,end_time,cost\n" +
					"5001,5000,Trainer,complete,2024-01-01,2024-01-02,1\n" + execs,
				"artifacts.csv": "artifact_id,pipeline_id,type,create_time,size_bytes\n5002,5000,Model,2024-01-02,10\n" + arts,
				"events.csv":    "execution_id,artifact_id,direction,event_time\n" + events,
			})
		}
	}
	tests := []struct {
		name   string
		layout func(t testing.TB) string
		want   []string
	}{
		{"NaN cost", csv("5017,5000,Trainer,complete,,,NaN", "", ""), []string{"cost is not a finite number", "executions.csv: execution_id 5017 (cost nan)"}},
		{"infinite cost", csv("5017,5000,Trainer,complete,,,inf", "", ""), []string{"cost is not a finite number", "executions.csv: execution_id 5017 (cost inf)"}},
		{"infinite start", csv("5017,5000,Trainer,complete,infinity,,1", "", ""), []string{"start_time is not a finite time", "executions.csv: execution_id 5017 (start_time infinity)"}},
		{"infinite end", csv("5017,5000,Trainer,complete,,-infinity,1", "", ""), []string{"end_time is not a finite time", "executions.csv: execution_id 5017 (end_time -infinity)"}},
		{"infinite create_time", csv("", "5018,5000,Model,infinity,1", ""), []string{"create_time is not a finite time", "artifacts.csv: artifact_id 5018"}},
		{"infinite event_time", csv("", "", "5001,5002,out,infinity"), []string{"event_time is not a finite time", "events.csv: event 5001->5002"}},
		{"negative size", csv("", "5018,5000,Model,,-5", ""), []string{"negative size_bytes", "artifacts.csv: artifact_id 5018 (size_bytes -5)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, before, err := loadBeside(t, tt.layout(t))
			if err == nil {
				t.Fatal("load succeeded")
			}
			checkRefused(t, e, err, before, tt.want...)
		})
	}
}

func TestOpenStoreWithURLCharactersInItsName(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"a?b.duckdb", "x#y%z.duckdb", "with space&more=1.duckdb"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			e := open(t, path, engine.Options{})
			if _, err := e.Load(ctx, &native.Loader{}, example, engine.LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			matches, _ := filepath.Glob(filepath.Join(dir, "*"))
			if len(matches) == 0 || filepath.Base(matches[0]) != name {
				t.Fatalf("files in the folder: %v, want the store %s", matches, name)
			}
			for _, ro := range []bool{false, true} {
				e := open(t, path, engine.Options{ReadOnly: ro})
				var n int64
				if err := e.DB().QueryRow(`SELECT count(*) FROM executions`).Scan(&n); err != nil || n != 36 {
					t.Errorf("read-only=%v: reopened store holds %d executions (%v), want 36", ro, n, err)
				}
				e.Close()
			}
		})
	}
}

// checkRefused checks that the refused load's error says every one of want and that the
// store still holds what it held before.
func checkRefused(t *testing.T, e *engine.Engine, err error, before string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if got := counts(t, e); got != before {
		t.Errorf("a refused load changed the store: %s, was %s", got, before)
	}
}

// loadBeside loads the layout at dir into a store holding the example and returns the store,
// what it held before (counts) and the load's error.
func loadBeside(t *testing.T, dir string) (*engine.Engine, string, error) {
	t.Helper()
	e := loadExample(t)
	before := counts(t, e)
	_, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{})
	return e, before, err
}

// TestUpgradeThenLoadAgain opens a store that a version without syncs wrote, with a source
// in it: the upgrade gives every row its source, and loading the source again from its path
// rebuilds it once (it has no range of ids yet), then finds it up to date.
func TestUpgradeThenLoadAgain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.duckdb")
	first := copyLayout(t, example)
	e := open(t, path, engine.Options{})
	if _, err := e.Load(ctx, &native.Loader{}, first, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	want := counts(t, e)
	for _, q := range []string{
		`DROP TABLE prune_studies`, `DROP TABLE prune_models`, `DROP TABLE loads`, `DROP TABLE source_keys`, `DROP TABLE openlineage_events`,
		`ALTER TABLE executions DROP COLUMN source_id`, `ALTER TABLE artifacts DROP COLUMN source_id`,
		`ALTER TABLE sources DROP COLUMN identity`, `ALTER TABLE sources DROP COLUMN id_base`,
		`UPDATE mlprov_meta SET value = '1' WHERE key = 'schema_version'`,
	} {
		if _, err := e.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	e = open(t, path, engine.Options{})
	var missing int
	if err := e.DB().QueryRow(`SELECT (SELECT count(*) FROM executions WHERE source_id IS DISTINCT FROM 1) + (SELECT count(*) FROM artifacts WHERE source_id IS DISTINCT FROM 1)`).Scan(&missing); err != nil || missing != 0 {
		t.Fatalf("after the upgrade, %d rows without their source (%v)", missing, err)
	}
	for i, wantRes := range []string{"replaced", "up to date"} {
		res, err := e.Load(ctx, &native.Loader{}, first, engine.LoadOptions{})
		got := map[bool]string{true: "replaced", false: "up to date"}[res.Replaced]
		if err != nil || got != wantRes || res.SourceID != 1 || (i == 1 && !res.UpToDate) {
			t.Errorf("load %d after the upgrade: %+v, %v; want source 1 %s", i+1, res, err, wantRes)
		}
		if got := counts(t, e); got != want {
			t.Errorf("load %d after the upgrade: %s, want %s", i+1, got, want)
		}
	}
}
