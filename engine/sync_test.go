package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"mlprov/bench"
	"mlprov/engine"
	"mlprov/loaders/native"
	"mlprov/synth"
)

// TestSlicedLoads loads a corpus whole, and in 2, 3 and 10 time slices one after another
// (each slice a folder naming rows of the earlier ones): every canonical and derived table
// must come out the same, on a generated corpus and on testdata/example.
func TestSlicedLoads(t *testing.T) {
	ctx := context.Background()
	gen := filepath.Join(t.TempDir(), "corpus")
	cfg := synth.DefaultConfig(4)
	cfg.Days, cfg.Seed = 30, 11
	if _, err := synth.Generate(ctx, cfg, gen, synth.Options{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	ex := filepath.Join(t.TempDir(), "example")
	if err := loadExample(t).Export(ctx, ex, "parquet", false); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"generated": gen, "example": ex} {
		whole := open(t, ":memory:", engine.Options{})
		if _, err := whole.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{2, 3, 10} {
			t.Run(fmt.Sprintf("%s/%d slices", name, n), func(t *testing.T) {
				var cuts []float64
				for i := 1; i < n; i++ {
					cuts = append(cuts, float64(i)/float64(n))
				}
				slices, err := bench.SliceLayout(ctx, dir, t.TempDir(), cuts)
				if err != nil {
					t.Fatal(err)
				}
				e := open(t, ":memory:", engine.Options{})
				incremental := 0
				for _, s := range slices {
					res, err := e.Load(ctx, &native.Loader{}, s, engine.LoadOptions{})
					if errors.Is(err, engine.ErrNothingToLoad) {
						continue // a stretch of time in which nothing ran
					}
					if err != nil {
						t.Fatalf("load %s: %v", filepath.Base(s), err)
					}
					if !res.Refreshed.Full {
						incremental++
					}
				}
				if n == 10 && incremental == 0 {
					t.Errorf("no slice of %d was derived incrementally", n)
				}
				assertSameTables(t, whole, e)
				// The checksums each sync updated by its own rows are those of the tables.
				if stale, err := e.Stale(ctx); err != nil || len(stale) != 0 {
					t.Errorf("after the slices: stale %v, %v; want none", stale, err)
				}
			})
		}
	}
}

// assertSameTables checks that two stores hold the same canonical rows (whichever source
// holds them) and the same derived tables, as multisets.
func assertSameTables(t *testing.T, want, got *engine.Engine) {
	t.Helper()
	for _, v := range engine.Views() {
		compareTable(t, want, got, v.Name, "*")
	}
	for _, tb := range engine.Tables {
		compareTable(t, want, got, tb.Name, "* EXCLUDE (source_id)")
		if tb.Name == "events" {
			compareTable(t, want, got, tb.Name, "*")
		}
	}
}

func compareTable(t *testing.T, want, got *engine.Engine, table, cols string) {
	t.Helper()
	if cols == "* EXCLUDE (source_id)" && table == "events" {
		return
	}
	q := fmt.Sprintf("SELECT %s FROM %s ORDER BY ALL", cols, table)
	w, g := rowsOf(t, want, q), rowsOf(t, got, q)
	if len(w) != len(g) {
		t.Errorf("%s: %d rows, want %d", table, len(g), len(w))
		return
	}
	for i := range w {
		if w[i] != g[i] {
			t.Errorf("%s: row %d is\n  %s\nwant\n  %s", table, i, g[i], w[i])
			return
		}
	}
}

func rowsOf(t *testing.T, e *engine.Engine, q string) []string {
	t.Helper()
	rows, err := e.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
