package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/loaders/native"
)

const example = "../testdata/example"

func loadExample(t testing.TB) *engine.Engine {
	t.Helper()
	e := open(t, ":memory:", engine.Options{})
	if _, err := e.Load(context.Background(), &native.Loader{}, example, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

type graphletRow struct {
	ID, Pipeline, Executions, Artifacts int64
	Total, Exclusive, Amortised         float64
	Spans                               string
	Pushed                              bool
	PushTime                            string
}

// TestGraphletsOfExample checks the graphlets of testdata/example against values worked out
// by hand from its files:
//
//   - 106 (taxi, day 1): upstream 101 CsvExampleGen, 102 StatisticsGen, 103 SchemaGen,
//     105 Transform; downstream 107 Evaluator, 108 Pusher. Total 120+40+5+200+900+150+10 = 1425.
//     101, 102 and 103 are shared with 116 and 125 (through the schema), so exclusive =
//     200+900+150+10 = 1260 and amortised = (120+40+5)/3 + 1260 = 1315. Pushed (1010 pushed=1).
//   - 116 (taxi, day 2, warm start): upstream 101, 102, 103 (113 is a cache hit that only
//     re-links the schema, 119 a Resolver), 111 CsvExampleGen, 115 Transform; downstream 117,
//     118. The base model 1007 is a boundary: 105 and 106 stay out. Total 1627; 111 is shared
//     with 125, so exclusive = 230+950+155+2 = 1337, amortised = 55 + 125/2 + 1337 = 1454.5.
//     Not pushed (blessed 0, PushedModel pushed=0).
//   - 125 (taxi, day 3): upstream 101, 102, 103, 111, 121, 124 (122 failed and wrote nothing;
//     123's statistics feed no Trainer); downstream 126, 127. Total 1671, exclusive
//     118+225+880+148+10 = 1381, amortised 55 + 62.5 + 1381 = 1498.5. Pushed. Spans 2, 3.
//   - 204 (fraud, day 1): upstream 201, 202, 203, downstream 205, 206. Total 568; 201-203 are
//     shared with 213: exclusive 485, amortised 83/2 + 485 = 526.5. Pushed.
//   - 213 (fraud, day 3): upstream 201, 202, 203, 211; downstream 214, 215. Total 628,
//     exclusive 545, amortised 586.5. Pushed.
func TestGraphletsOfExample(t *testing.T) {
	e := loadExample(t)
	rows, err := e.DB().Query(`SELECT graphlet_id, pipeline_id, n_executions, n_artifacts, cost_total,
		cost_exclusive, cost_amortised, input_spans::VARCHAR, pushed, coalesce(strftime(push_time, '%Y-%m-%d %H:%M'), '')
		FROM graphlets ORDER BY graphlet_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []graphletRow
	for rows.Next() {
		var r graphletRow
		if err := rows.Scan(&r.ID, &r.Pipeline, &r.Executions, &r.Artifacts, &r.Total, &r.Exclusive, &r.Amortised, &r.Spans, &r.Pushed, &r.PushTime); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []graphletRow{
		{106, 1, 7, 9, 1425, 1260, 1315, "[1]", true, "2024-03-01 03:50"},
		{116, 1, 8, 11, 1627, 1337, 1454.5, "[1, 2]", false, ""},
		{125, 1, 9, 12, 1671, 1381, 1498.5, "[2, 3]", true, "2024-03-03 03:47"},
		{204, 2, 6, 7, 568, 485, 526.5, "[1]", true, "2024-03-01 02:46"},
		{213, 2, 7, 9, 628, 545, 586.5, "[1, 2]", true, "2024-03-03 02:46"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("graphlets (-want +got):\n%s", diff)
	}
}

func TestGraphletMembersOfExample(t *testing.T) {
	e := loadExample(t)
	rows, err := e.DB().Query(`SELECT graphlet_id || ' ' || side || ': ' || string_agg(coalesce('x' || execution_id, 'a' || artifact_id), ' ' ORDER BY coalesce(execution_id, artifact_id))
		FROM graphlet_members WHERE graphlet_id IN (116, 125) GROUP BY graphlet_id, side ORDER BY graphlet_id, side`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{
		"116 boundary: a1007",
		"116 downstream: x117 x118 a1017 a1018 a1019 a1020",
		"116 trainer: x116",
		"116 upstream: x101 x102 x103 x111 x115 a1001 a1002 a1003 a1011 a1015 a1016",
		"125 boundary: a1007",
		"125 downstream: x126 x127 a1027 a1028 a1029 a1030",
		"125 trainer: x125",
		"125 upstream: x101 x102 x103 x111 x121 x124 a1001 a1002 a1003 a1011 a1021 a1025 a1026",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func TestLiveViewsMatchTables(t *testing.T) {
	e := loadExample(t)
	for _, v := range engine.Views() {
		var diff int64
		q := "SELECT count(*) FROM ((FROM views." + v.Name + " EXCEPT ALL FROM main." + v.Name + ") UNION ALL (FROM main." + v.Name + " EXCEPT ALL FROM views." + v.Name + "))"
		if err := e.DB().QueryRow(q).Scan(&diff); err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if diff != 0 {
			t.Errorf("views.%s and the table %s differ in %d rows", v.Name, v.Name, diff)
		}
	}
}

func writeLayout(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.TrimSpace(text)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestIDsAgainstTheFlow checks that provenance whose ids do not follow the order the
// executions ran in (a consumer numbered before its producer) is no cycle: the check reads
// such a graph out and walks it.
func TestIDsAgainstTheFlow(t *testing.T) {
	e := open(t, ":memory:", engine.Options{})
	dir := writeLayout(t, map[string]string{
		"pipelines.jsonl": `{"pipeline_id": 1, "name": "backwards"}`,
		"executions.jsonl": `{"execution_id": 3, "pipeline_id": 1, "op_type": "Transform", "state": "complete"}
{"execution_id": 2, "pipeline_id": 1, "op_type": "Trainer", "state": "complete"}
{"execution_id": 1, "pipeline_id": 1, "op_type": "Evaluator", "state": "complete"}`,
		"artifacts.jsonl": `{"artifact_id": 10, "pipeline_id": 1, "type": "Examples"}
{"artifact_id": 11, "pipeline_id": 1, "type": "Model"}
{"artifact_id": 12, "pipeline_id": 1, "type": "ModelEvaluation"}`,
		"events.jsonl": `{"execution_id": 3, "artifact_id": 10, "direction": "out"}
{"execution_id": 2, "artifact_id": 10, "direction": "in"}
{"execution_id": 2, "artifact_id": 11, "direction": "out"}
{"execution_id": 1, "artifact_id": 11, "direction": "in"}
{"execution_id": 1, "artifact_id": 12, "direction": "out"}`,
	})
	if _, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := e.DB().QueryRow(`SELECT string_agg(execution_id || ' ' || side, ', ' ORDER BY execution_id) FROM graphlet_executions WHERE graphlet_id = 2`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "1 downstream, 2 trainer, 3 upstream"; got != want {
		t.Errorf("graphlet 2: %s, want %s", got, want)
	}
}

func TestCyclesAreRefused(t *testing.T) {
	execs := `{"execution_id": 1, "pipeline_id": 1, "op_type": "Transform", "state": "complete"}
{"execution_id": 2, "pipeline_id": 1, "op_type": "Trainer", "state": "complete"}
{"execution_id": 3, "pipeline_id": 1, "op_type": "StatisticsGen", "state": "complete"}`
	arts := `{"artifact_id": 10, "pipeline_id": 1, "type": "Examples"}
{"artifact_id": 11, "pipeline_id": 1, "type": "Model"}
{"artifact_id": 12, "pipeline_id": 1, "type": "ExampleStatistics"}`
	twoExecutions := `{"execution_id": 1, "artifact_id": 10, "direction": "out"}
{"execution_id": 2, "artifact_id": 10, "direction": "in"}
{"execution_id": 2, "artifact_id": 11, "direction": "out"}
{"execution_id": 1, "artifact_id": 11, "direction": "in"}`
	// starts, when set, are the executions' start times: a cycle among timed executions has
	// an edge back in time, or between executions that started at the same instant.
	tests := []struct {
		name, events, want string
		starts             []string
	}{
		{"two executions", twoExecutions, "execution 1 (Transform) -> execution 2 (Trainer) -> execution 1 (Transform)", nil},
		{"two executions in time", twoExecutions, "execution 1 (Transform) -> execution 2 (Trainer) -> execution 1 (Transform)",
			[]string{"2021-01-01 10:00:00", "2021-01-01 11:00:00", "2021-01-01 12:00:00"}},
		{"two executions at one instant", twoExecutions, "execution 1 (Transform) -> execution 2 (Trainer) -> execution 1 (Transform)",
			[]string{"2021-01-01 10:00:00", "2021-01-01 10:00:00", "2021-01-01 10:00:00"}},
		{"self-loop", `{"execution_id": 3, "artifact_id": 12, "direction": "out"}
{"execution_id": 3, "artifact_id": 12, "direction": "in"}`, "execution 3 (StatisticsGen) -> execution 3 (StatisticsGen)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := loadExample(t)
			timed := execs
			for i, start := range tt.starts {
				id := fmt.Sprintf(`"execution_id": %d,`, i+1)
				timed = strings.Replace(timed, id, id+` "start_time": "`+start+`",`, 1)
			}
			dir := writeLayout(t, map[string]string{
				"pipelines.jsonl":  `{"pipeline_id": 1000, "name": "loop"}`,
				"executions.jsonl": strings.ReplaceAll(timed, `"pipeline_id": 1`, `"pipeline_id": 1000`),
				"artifacts.jsonl":  strings.ReplaceAll(arts, `"pipeline_id": 1`, `"pipeline_id": 1000`),
				"events.jsonl":     tt.events,
			})
			var before int64
			if err := e.DB().QueryRow(`SELECT count(*) FROM graphlet_members`).Scan(&before); err != nil {
				t.Fatal(err)
			}
			_, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{})
			if !errors.Is(err, engine.ErrCycle) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a cycle naming %s", err, tt.want)
			}
			var after, execs int64
			if err := e.DB().QueryRow(`SELECT count(*) FROM graphlet_members`).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if err := e.DB().QueryRow(`SELECT count(*) FROM executions`).Scan(&execs); err != nil {
				t.Fatal(err)
			}
			if after != before || execs != 36 {
				t.Errorf("a refused load left %d members (was %d) and %d executions (was 36)", after, before, execs)
			}
		})
	}
}
