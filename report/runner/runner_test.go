package runner_test

import (
	"context"
	"slices"
	"testing"

	"mlprov/engine"
	"mlprov/internal/storetest"
	"mlprov/loaders/native"
	"mlprov/report"
	"mlprov/report/runner"
)

func exampleStore(t testing.TB) *engine.Engine {
	t.Helper()
	return storetest.Loaded(t, &native.Loader{}, "../../testdata/example")
}

// TestHeadlinePruningFigure checks that the headline's pruning row comes from headline.sql
// with the figure the runner hands it: the saving when the study ran, "not run: REASON" when
// it did not, and no row at all for a run without a figure (mlprov analyze headline), which
// must also leave no figure behind on the store's connections.
func TestHeadlinePruningFigure(t *testing.T) {
	ctx := context.Background()
	e := exampleStore(t)
	const metric = "waste saved by pruning, chosen in advance for at most 2.5% of pushes lost"
	saved := 0.4567
	for _, tc := range []struct {
		name string
		fig  runner.PruneFigure
		want []any
	}{
		{"ran", runner.PruneFigure{MaxCadenceLoss: 0.025, WasteSaved: &saved}, []any{metric, "≈ 50%", "45.7%"}},
		{"not run", runner.PruneFigure{MaxCadenceLoss: 0.025, NotRun: "too few graphlets"}, []any{metric, "≈ 50%", "not run: too few graphlets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runner.Headline(ctx, e, tc.fig)
			if err != nil {
				t.Fatal(err)
			}
			last := res.Rows[len(res.Rows)-1]
			if !slices.Equal(last[:3], tc.want) {
				t.Errorf("last headline row = %v, want %v", last[:3], tc.want)
			}
		})
	}
	// The pool may hand out the connection the figure was set on: it must be gone.
	e.DB().SetMaxOpenConns(1)
	res, err := runner.RunAnalysis(ctx, e, report.HeadlineName)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Rows); n != 7 {
		t.Errorf("the headline without a figure has %d rows, want the 7 without pruning", n)
	}
}
