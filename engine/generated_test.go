package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
	"mlprov/synth"
)

// TestGraphletsOfGeneratedCorpus checks the graphlets of a generated corpus against what the
// generator knows: one per Trainer run, pushed exactly when the ground truth says, each within
// one pipeline, exclusive costs that add up to no more than the pipeline spent, and warm starts
// that stop at the base model.
func TestGraphletsOfGeneratedCorpus(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "corpus")
	cfg := synth.DefaultConfig(12)
	cfg.Days = 60
	cfg.Seed = 11
	if _, err := synth.Generate(ctx, cfg, dir, synth.Options{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	e := open(t, ":memory:", engine.Options{})
	if _, err := e.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := e.DB().QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		return n
	}
	trainers := count(`SELECT count(*) FROM executions WHERE op_type = 'Trainer'`)
	if g := count(`SELECT count(*) FROM graphlets`); g != trainers || g < 100 {
		t.Errorf("%d graphlets for %d Trainer executions", g, trainers)
	}

	// Pushed flags against the generator's ground truth, Trainer by Trainer.
	f, err := os.Open(filepath.Join(dir, "ground_truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth := map[int64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			ExecutionID int64 `json:"execution_id"`
			Pushed      bool  `json:"pushed"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		truth[l.ExecutionID] = l.Pushed
	}
	rows, err := e.DB().QueryContext(ctx, `SELECT graphlet_id, pushed FROM graphlets`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	wrong := 0
	for rows.Next() {
		var id int64
		var pushed bool
		if err := rows.Scan(&id, &pushed); err != nil {
			t.Fatal(err)
		}
		if want, ok := truth[id]; !ok || want != pushed {
			wrong++
		}
	}
	if wrong > 0 || len(truth) != int(trainers) {
		t.Errorf("%d graphlets disagree with the ground truth's pushed flags (%d truths, %d Trainers)", wrong, len(truth), trainers)
	}

	if n := count(`SELECT count(*) FROM graphlet_members m JOIN graphlets g USING (graphlet_id)
		LEFT JOIN executions x ON x.execution_id = m.execution_id LEFT JOIN artifacts a ON a.artifact_id = m.artifact_id
		WHERE coalesce(x.pipeline_id, a.pipeline_id) <> g.pipeline_id`); n > 0 {
		t.Errorf("%d graphlet members belong to another pipeline", n)
	}
	if n := count(`SELECT count(*) FROM (SELECT pipeline_id, sum(cost_exclusive) AS excl FROM graphlets GROUP BY ALL) g
		JOIN (SELECT pipeline_id, sum(cost) AS total FROM executions GROUP BY ALL) x USING (pipeline_id)
		WHERE g.excl > x.total + 1e-6`); n > 0 {
		t.Errorf("%d pipelines' graphlets have exclusive costs above what the pipeline spent", n)
	}

	// Warm starts: the base model is a boundary, and the Trainer that made it stays out.
	warm := count(`SELECT count(*) FROM events WHERE direction = 'in' AND role = 'base_model'`)
	if warm == 0 {
		t.Fatal("the corpus has no warm start to check")
	}
	if n := count(`SELECT count(*) FROM events b
		JOIN artifact_producers p ON p.artifact_id = b.artifact_id
		JOIN graphlet_members m ON m.graphlet_id = b.execution_id AND m.execution_id = p.execution_id
		WHERE b.direction = 'in' AND b.role = 'base_model'`); n > 0 {
		t.Errorf("%d graphlets hold the Trainer of their base model: the warm-start chain leaks", n)
	}
	if n := count(`SELECT count(*) FROM events b
		JOIN graphlet_members m ON m.graphlet_id = b.execution_id AND m.artifact_id = b.artifact_id
		WHERE b.direction = 'in' AND b.role = 'base_model' AND m.side <> 'boundary'`); n > 0 {
		t.Errorf("%d base models are members on a side other than boundary", n)
	}
}
