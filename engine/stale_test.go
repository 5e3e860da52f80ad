package engine_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
)

// TestRefreshAfterEdits edits op_categories and then a canonical table through SQL, as the
// shell and mlprov query do: Stale names what changed, Refresh applies the categories and
// derives again (incrementally, then from scratch), and the derived tables equal a full
// derivation each time; a store with no edit is left as it is.
func TestRefreshAfterEdits(t *testing.T) {
	ctx := context.Background()
	e := generatedStore(t, 3, 20)
	stale, err := e.Stale(ctx)
	if err != nil || len(stale) != 0 {
		t.Fatalf("after a load: stale %v, %v; want none", stale, err)
	}
	exec(t, e.DB(), `INSERT OR REPLACE INTO op_categories VALUES ('Transform', 'train')`)
	if stale, err = e.Stale(ctx); err != nil || !slices.Equal(stale, []string{"op_categories"}) {
		t.Fatalf("after an op_categories edit: stale %v, %v; want op_categories", stale, err)
	}
	var transforms int64
	if err := e.DB().QueryRow(`SELECT count(*) FROM executions WHERE op_type = 'Transform'`).Scan(&transforms); err != nil || transforms == 0 {
		t.Fatalf("the corpus has %d Transforms (%v)", transforms, err)
	}
	res, err := e.Refresh(ctx, nil)
	if err != nil || res.Recategorised != transforms || res.Full {
		t.Fatalf("refresh: %+v, %v; want %d executions recategorised, incrementally", res, err, transforms)
	}
	var roots int64
	if err := e.DB().QueryRow(`SELECT count(*) FROM trainers t JOIN executions x ON x.execution_id = t.graphlet_id WHERE x.op_type = 'Transform'`).Scan(&roots); err != nil || roots == 0 {
		t.Errorf("after mapping Transform to train: %d Transforms root a graphlet (%v)", roots, err)
	}
	assertMaterialized(t, e)

	exec(t, e.DB(), `DELETE FROM events WHERE execution_id IN (SELECT min(execution_id) FROM executions WHERE op_type = 'Trainer')`)
	if stale, err = e.Stale(ctx); err != nil || !slices.Equal(stale, []string{"events"}) {
		t.Fatalf("after an events edit: stale %v, %v; want events", stale, err)
	}
	if res, err = e.Refresh(ctx, nil); err != nil || !res.Full || !slices.Equal(res.Stale, []string{"events"}) {
		t.Fatalf("refresh: %+v, %v; want events derived again from scratch", res, err)
	}
	assertMaterialized(t, e)
	if res, err = e.Refresh(ctx, nil); err != nil || len(res.Stale) != 0 || res.Seconds != 0 {
		t.Errorf("a second refresh: %+v, %v; want nothing to do", res, err)
	}
}

// TestEditThenSync edits a row of one source through SQL and then syncs another: the sync
// follows its own rows only, so the edit stays visible until a refresh, even after a sync
// that rewrote the edited row (what the edit may have changed elsewhere is not known).
func TestEditThenSync(t *testing.T) {
	ctx := context.Background()
	dir := copyLayout(t, example)
	e := open(t, ":memory:", engine.Options{})
	second := secondSource(t, "")
	for _, d := range []string{dir, second} {
		if _, err := e.Load(ctx, &native.Loader{}, d, engine.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, e.DB(), `UPDATE executions SET cost = 1 WHERE execution_id = 5001`)
	dropLines(t, filepath.Join(dir, "events.jsonl"), `"execution_id": 215,`)
	res, err := e.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{})
	if err != nil || res.Refreshed.Full || res.Removed.Events == 0 {
		t.Fatalf("sync: %+v, %v; want events removed, followed incrementally", res, err)
	}
	if stale, err := e.Stale(ctx); err != nil || !slices.Equal(stale, []string{"executions"}) {
		t.Errorf("after the sync of another source: stale %v, %v; want the edited executions", stale, err)
	}
	writeFile(t, filepath.Join(second, "executions.jsonl"), `{"execution_id": 5001, "pipeline_id": 5000, "op_type": "Trainer", "state": "complete", "cost": 4}`+"\n")
	if res, err = e.Load(ctx, &native.Loader{}, second, engine.LoadOptions{}); err != nil || res.Updated.Executions != 1 {
		t.Fatalf("sync of the edited source: %+v, %v", res, err)
	}
	if stale, err := e.Stale(ctx); err != nil || !slices.Equal(stale, []string{"executions"}) {
		t.Errorf("after the sync of the edited source: stale %v, %v; want executions until a refresh", stale, err)
	}
	if _, err := e.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if stale, err := e.Stale(ctx); err != nil || len(stale) != 0 {
		t.Errorf("after a refresh: stale %v, %v; want none", stale, err)
	}
	assertMaterialized(t, e)
}
