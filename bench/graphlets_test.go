package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mlprov/engine"
	"mlprov/internal/storetest"
	"mlprov/loaders/mlmd"
	"mlprov/loaders/native"
	"mlprov/synth"
)

func materialized(t testing.TB, e *engine.Engine) Members {
	t.Helper()
	m, err := SummariseSQL(context.Background(), e.DB(), "SELECT graphlet_id, execution_id FROM graphlet_executions")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkAlternatives runs every alternative on s and compares what it finds with want.
func checkAlternatives(t *testing.T, s Store, want Members) {
	t.Helper()
	for _, a := range Alternatives() {
		got, err := a.Run(context.Background(), s)
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		if got != want {
			t.Errorf("%s found %+v, want %+v", a.Name, got, want)
		}
	}
}

// TestAlternativesAgree checks that every way of deriving graphlets finds the same members
// as the default, on the hand-made example (where warm starts and baselines must stop the
// walk). The MLMD walk reads the example written as an MLMD store, whose ids are MLMD's own:
// the other alternatives run on the store that file loads into.
func TestAlternativesAgree(t *testing.T) {
	ctx := context.Background()
	e := storetest.Loaded(t, &native.Loader{}, "../testdata/example")
	want := materialized(t, e)
	if want.Pairs != 37 || want.Graphlets != 5 {
		t.Fatalf("the example has %d members in %d graphlets, want 37 in 5", want.Pairs, want.Graphlets)
	}
	c, err := mlmd.ReadCorpus(ctx, e.DB())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "example.sqlite")
	if err := mlmd.WriteCorpus(ctx, path, c); err != nil {
		t.Fatal(err)
	}
	fromMLMD := storetest.Loaded(t, &mlmd.Loader{}, path)
	want = materialized(t, fromMLMD)
	if want.Pairs != 37 || want.Graphlets != 5 {
		t.Fatalf("the example as MLMD has %d members in %d graphlets, want 37 in 5", want.Pairs, want.Graphlets)
	}
	checkAlternatives(t, Store{DB: fromMLMD.DB(), MLMD: path}, want)

	// Loaded beside another store's rows, MLMD's ids are shifted; the walk counts in store ids.
	both := storetest.Loaded(t, &native.Loader{}, "../testdata/example")
	if _, err := both.Load(ctx, &mlmd.Loader{}, path, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	var offset int64
	if err := both.DB().QueryRowContext(ctx, `SELECT min(execution_id) - 1 FROM executions WHERE attrs->>'mlmd_id' IS NOT NULL`).Scan(&offset); err != nil {
		t.Fatal(err)
	}
	want, err = SummariseSQL(ctx, both.DB(), `SELECT graphlet_id, execution_id FROM graphlet_executions WHERE graphlet_id > `+itoa(offset))
	if err != nil {
		t.Fatal(err)
	}
	if offset == 0 || want.Graphlets != 5 {
		t.Fatalf("offset %d, %d graphlets from the second load", offset, want.Graphlets)
	}
	if got, err := MLMDWalk(ctx, path, offset); err != nil || got != want {
		t.Errorf("MLMD walk with offset %d found %+v (%v), want %+v", offset, got, err, want)
	}
}

// TestAlternativesAgreeGenerated runs the alternatives on a small generated corpus, which has
// what the example lacks in number: cache hits, Resolvers, failures, custom components and
// several Trainers per pipeline. Its MLMD store keeps the native ids, so one store serves all.
func TestAlternativesAgreeGenerated(t *testing.T) {
	ctx := context.Background()
	cfg := synth.DefaultConfig(6)
	dir := t.TempDir()
	for _, f := range []string{"csv", engine.FormatMLMD} {
		if _, err := synth.Generate(ctx, cfg, filepath.Join(dir, f), synth.Options{Format: f}); err != nil {
			t.Fatal(err)
		}
	}
	e := storetest.Loaded(t, &native.Loader{}, filepath.Join(dir, "csv"))
	want := materialized(t, e)
	var cached, resolvers int
	if err := e.DB().QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE state = 'cached'), count(*) FILTER (WHERE op_type = 'Resolver') FROM executions`).Scan(&cached, &resolvers); err != nil {
		t.Fatal(err)
	}
	if want.Graphlets < 50 || cached == 0 || resolvers == 0 {
		t.Fatalf("the corpus has %d graphlets, %d cache hits, %d Resolvers: too small a test", want.Graphlets, cached, resolvers)
	}
	checkAlternatives(t, Store{DB: e.DB(), MLMD: filepath.Join(dir, engine.FormatMLMD, synth.MLMDFile)}, want)
}

// TestAlternativesBoundaries builds an MLMD store where every boundary rule decides a member
// on its own: a Tuner (not a Trainer) reads a model as base_model, an Evaluator reads an older
// model as baseline_model, a distilling Trainer reads another Trainer's model under a plain
// role, a Resolver and a cache hit re-link artifacts made earlier, and a custom type derived
// from mlmd.Train is a Trainer. Each alternative must find what graphlet_executions finds.
func TestAlternativesBoundaries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "metadata.sqlite")
	w, err := mlmd.Create(ctx, path, mlmd.MaxSchemaVersion)
	if err != nil {
		t.Fatal(err)
	}
	pipe := w.Context("pipeline", "p", time.Time{})
	minute := 0
	exec := func(op, base string, state int, ins map[string]int64, outs ...string) []int64 {
		minute++
		at := time.Date(2024, 1, 1, 0, minute, 0, 0, time.UTC)
		x := w.Execution(w.Type("tfx.components."+op, "execution", base), state, at, at.Add(time.Minute))
		w.Associate(pipe, x)
		for role, a := range ins {
			w.Event(x, a, mlmd.EventInput, at, role, 0)
		}
		var made []int64
		for _, role := range outs {
			a := w.Artifact(w.Type("Artifact", "artifact", ""), "mem://"+role, mlmd.ArtLive, at)
			w.Attribute(pipe, a)
			w.Event(x, a, mlmd.EventOutput, at, role, 0)
			made = append(made, a)
		}
		return made
	}
	done := mlmd.ExecComplete
	examples := exec("CsvExampleGen", "", done, nil, "examples")[0]
	model1 := exec("Trainer", "", done, map[string]int64{"examples": examples}, "model")[0]
	blessing := exec("Evaluator", "", done, map[string]int64{"model": model1}, "blessing")[0]
	exec("Pusher", "", done, map[string]int64{"model": model1, "blessing": blessing}, "pushed_model")
	// Cache hit and Resolver: their out events re-link; they are nobody's producer.
	cached := w.Execution(w.Type("tfx.components.CsvExampleGen", "execution", ""), mlmd.ExecCached, time.Time{}, time.Time{})
	w.Event(cached, examples, mlmd.EventOutput, time.Time{}, "examples", 0)
	resolver := w.Execution(w.Type("tfx.dsl.Resolver", "execution", ""), done, time.Time{}, time.Time{})
	w.Event(resolver, model1, mlmd.EventOutput, time.Time{}, "model", 0)
	model2 := exec("Trainer", "", done, map[string]int64{"examples": examples, "base_model": model1}, "model")[0]
	exec("Tuner", "mlmd.Train", done, map[string]int64{"examples": examples, "base_model": model2}, "best_hyperparameters")
	exec("Evaluator", "", done, map[string]int64{"model": model2, "baseline_model": model1}, "blessing")
	student := exec("Distiller", "mlmd.Train", done, map[string]int64{"teacher": model2, "examples": examples}, "model")[0]
	exec("Monitor", "", done, map[string]int64{"model": student}, "report")
	exec("Trainer", "", mlmd.ExecCached, map[string]int64{"examples": examples})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e := storetest.Loaded(t, &mlmd.Loader{}, path)
	want := materialized(t, e)
	if want.Graphlets != 3 {
		t.Fatalf("%d graphlets, want 3 (two Trainers and the distiller; the cached Trainer trained nothing and roots none)", want.Graphlets)
	}
	checkAlternatives(t, Store{DB: e.DB(), MLMD: path}, want)
}

func itoa(n int64) string { return idList([]int64{n}) }
