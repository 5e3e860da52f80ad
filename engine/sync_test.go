package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/bench"
	"mlprov/engine"
	"mlprov/internal/golden"
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
	q := fmt.Sprintf("SELECT COLUMNS(%s)::VARCHAR FROM %s ORDER BY ALL", cols, table)
	if diff := cmp.Diff(golden.Rows(t, want.DB(), q), golden.Rows(t, got.DB(), q)); diff != "" {
		t.Errorf("%s differs from a single load (-whole +sliced):\n%s", table, diff)
	}
}
