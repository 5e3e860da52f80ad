package prune

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

// history is a tiny two-pipeline history, worked out by hand below.
//
//	pipeline 1: g1 pushed at 1h (cost 10), g2 not (cost 20), g3 pushed at 25h (cost 30),
//	            g4 not (cost 40)
//	pipeline 2: g5 pushed at 3h (cost 5), g6 pushed at 13h (cost 5)
//
// Wasted exclusive cost: 20 + 40 = 60. Pushes: 4. The period runs from 0h to 48h: 2 days.
func history() []Graphlet {
	return []Graphlet{
		{ID: 1, PipelineID: 1, Start: at(0), Pushed: true, PushTime: at(1), CostExclusive: 10},
		{ID: 5, PipelineID: 2, Start: at(2), Pushed: true, PushTime: at(3), CostExclusive: 5},
		{ID: 2, PipelineID: 1, Start: at(10), CostExclusive: 20},
		{ID: 6, PipelineID: 2, Start: at(12), Pushed: true, PushTime: at(13), CostExclusive: 5},
		{ID: 3, PipelineID: 1, Start: at(24), Pushed: true, PushTime: at(25), CostExclusive: 30},
		{ID: 4, PipelineID: 1, Start: at(30), CostExclusive: 40},
	}
}

func TestReplayArithmetic(t *testing.T) {
	end := at(48)
	tests := []struct {
		name string
		skip []bool
		want Outcome
	}{
		{"run everything", []bool{false, false, false, false, false, false}, Outcome{
			PushesPerPipelineDay: 1, BaselinePushesPerPipelineDay: 1, // 4 pushes / 2 pipelines / 2 days
		}},
		{"oracle", []bool{false, false, true, false, false, true}, Outcome{
			Skipped: 2, WasteSaved: 1, ComputeSaved: 60.0 / 110, PushesPerPipelineDay: 1, BaselinePushesPerPipelineDay: 1,
		}},
		// Skipping g2 (waste 20) and g3 (a push at 25h, next kept push: none, so until 48h:
		// 23 h late). Delays over the 4 pushes: 0, 0, 0, 23: mean 5.75, p95 23.
		{"skip g2 and g3", []bool{false, false, true, false, true, false}, Outcome{
			Skipped: 2, WasteSaved: 20.0 / 60, ComputeSaved: 50.0 / 110, PushesLost: 0.25,
			PushesPerPipelineDay: 0.75, BaselinePushesPerPipelineDay: 1,
			StalenessAddedHoursMean: 5.75, StalenessAddedHoursP95: 23,
		}},
		// Skipping g5 (pushed at 3h): pipeline 2's next kept push is g6 at 13h: 10 h late.
		{"skip g5", []bool{false, true, false, false, false, false}, Outcome{
			Skipped: 1, ComputeSaved: 5.0 / 110, PushesLost: 0.25,
			PushesPerPipelineDay: 0.75, BaselinePushesPerPipelineDay: 1,
			StalenessAddedHoursMean: 2.5, StalenessAddedHoursP95: 10,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Replay("", history(), tt.skip, end)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("Replay (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOperatingPointRespectsTheBound(t *testing.T) {
	gs := history()
	// Scores: the unpushed graphlets score lowest, then g5.
	score := []float64{0.9, 0.3, 0.1, 0.8, 0.7, 0.2}
	op, sweep := Search(func(ts []float64) []Outcome { return Sweep("model", gs, score, at(48), ts) }, 0.0)
	if op.WasteSaved != 1 || op.PushesLost != 0 || *op.Threshold <= 0.2 || *op.Threshold > 0.3 {
		t.Errorf("operating point with no loss allowed = %+v, want all waste saved at a threshold in (0.2, 0.3]", op)
	}
	op = OperatingPoint(sweep, 0.3)
	if op.WasteSaved != 1 || op.PushesLost != 0 {
		t.Errorf("a looser bound must not pick a point that saves no more: %+v", op)
	}
}

// TestSearchFindsTheFineOptimum checks that the search, which sweeps the coarse thresholds
// and then the fine ones around the best, finds the operating point a sweep of every fine
// threshold finds, at bounds from none to a fifth of the pushes lost.
func TestSearchFindsTheFineOptimum(t *testing.T) {
	ds := pipelinesHistory(5)
	gs := ds.Graphlets
	score := make([]float64, len(gs))
	for i, g := range gs {
		score[i] = min(1, g.Features[0]*0.6+0.1*b2f(g.Pushed)) // the feature that drives pushes, and a hint
	}
	end := periodEnd(gs)
	var every []float64
	for i := 0; i <= 100; i++ {
		every = append(every, float64(i)/200)
	}
	all := Sweep("model", gs, score, end, append(every, 0.6, 0.7, 0.8, 0.9))
	var thresholds []float64
	for _, bound := range []float64{0, 0.01, 0.02, 0.05, 0.1, 0.2} {
		want := OperatingPoint(all, bound)
		got, swept := Search(func(ts []float64) []Outcome { return Sweep("model", gs, score, end, ts) }, bound)
		if *got.Threshold != *want.Threshold || got.WasteSaved != want.WasteSaved {
			t.Errorf("bound %v: search finds threshold %v saving %v, every threshold finds %v saving %v",
				bound, *got.Threshold, got.WasteSaved, *want.Threshold, want.WasteSaved)
		}
		if !sort.SliceIsSorted(swept, func(a, b int) bool { return *swept[a].Threshold < *swept[b].Threshold }) {
			t.Errorf("bound %v: the outcomes swept are not in threshold order", bound)
		}
		thresholds = append(thresholds, *want.Threshold)
	}
	if slices.Sort(thresholds); len(slices.Compact(thresholds)) < 3 {
		t.Fatalf("the bounds give operating points at %v: too few apart to test the search", thresholds)
	}
}

func TestAUC(t *testing.T) {
	y := []bool{false, false, true, true}
	if got := AUC([]float64{0.1, 0.2, 0.3, 0.4}, y); got != 1 {
		t.Errorf("perfect ranking AUC = %v", got)
	}
	if got := AUC([]float64{0.4, 0.3, 0.2, 0.1}, y); got != 0 {
		t.Errorf("reversed ranking AUC = %v", got)
	}
	if got := AUC([]float64{0.5, 0.5, 0.5, 0.5}, y); got != 0.5 {
		t.Errorf("all-tied AUC = %v", got)
	}
	if got := AUC([]float64{0.1, 0.2}, []bool{true, true}); !math.IsNaN(got) {
		t.Errorf("one-class AUC = %v, want NaN", got)
	}
}

// TestModelsLearn checks both classifiers on data whose rule they can find: push unless
// drift is high, with a known and an unknown feature.
func TestModelsLearn(t *testing.T) {
	var X [][]float64
	var y []bool
	for i := 0; i < 2000; i++ {
		drift := float64(i%100) / 100
		noise := float64((i*7919)%13) / 13
		x := []float64{drift, noise, math.NaN()}
		if i%3 == 0 {
			x[2] = noise
		}
		X = append(X, x)
		y = append(y, drift < 0.6)
	}
	for _, m := range []Model{&Logistic{L2: 1e-3}, &Boosted{Trees: 50, Depth: 3, Rate: 0.2, L2: 1, Bins: 32}} {
		m.Fit(X, y)
		if auc := AUC(predictAll(m, X), y); auc < 0.95 {
			t.Errorf("%s: training AUC %.3f on a separable rule", m.Kind(), auc)
		}
		if p := m.Predict([]float64{0.9, 0.5, math.NaN()}); p > 0.3 {
			t.Errorf("%s: p(push | high drift) = %.2f", m.Kind(), p)
		}
	}
}
