package prune_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
	"mlprov/prune"
	"mlprov/synth"
)

// generated loads a small generated corpus into an in-memory store.
func generated(t *testing.T, pipelines int, seed uint64) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "corpus")
	cfg := synth.DefaultConfig(pipelines)
	cfg.Seed = seed
	if _, err := synth.Generate(ctx, cfg, dir, synth.Options{}); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(ctx, ":memory:", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if _, err := e.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestHistoryFeaturesAgreeWithSQL checks the one definition of each history feature: on the
// whole history, what the replay computes in Go equals graphlet_features' column.
func TestHistoryFeaturesAgreeWithSQL(t *testing.T) {
	ctx := context.Background()
	e := generated(t, 12, 3)
	ds, err := prune.Load(ctx, e.DB())
	if err != nil {
		t.Fatal(err)
	}
	names := prune.HistoryFeatures()
	var cols []string
	for _, n := range names {
		cols = append(cols, fmt.Sprintf("(%s)::DOUBLE", n))
	}
	rows, err := e.DB().QueryContext(ctx, `SELECT graphlet_id, `+strings.Join(cols, ", ")+` FROM graphlet_features WHERE trainer_start IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sqlValues := map[int64][]*float64{}
	for rows.Next() {
		var id int64
		vals := make([]*float64, len(names))
		dest := []any{&id}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		sqlValues[id] = vals
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(sqlValues) != len(ds.Graphlets) || len(ds.Graphlets) < 500 {
		t.Fatalf("%d graphlets in graphlet_features, %d loaded: want the same, and a few hundred", len(sqlValues), len(ds.Graphlets))
	}
	col := map[string]int{}
	for j, n := range ds.Names {
		col[n] = j
	}
	mismatches := 0
	for _, g := range ds.Graphlets {
		for k, n := range names {
			want, got := sqlValues[g.ID][k], g.Features[col[n]]
			same := want == nil && math.IsNaN(got) || want != nil && math.Abs(*want-got) < 1e-9
			if !same && mismatches < 10 {
				mismatches++
				w := "NULL"
				if want != nil {
					w = fmt.Sprint(*want)
				}
				t.Errorf("graphlet %d: %s = %v in Go, %s in graphlet_features", g.ID, n, got, w)
			}
		}
	}
}
