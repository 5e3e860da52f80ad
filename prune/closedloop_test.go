package prune

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"
)

// spansHistory is one pipeline's four graphlets with their spans and finish times:
//
//	g1 starts 0h, spans {1}, finishes and pushes at 10h (as g2 starts: not yet known to g2)
//	g2 starts 10h, spans {1,2}, finishes 11h, no push
//	g3 starts 24h, spans {2,3}, pushes at 25h, finishes 25h
//	g4 starts 30h, spans {3,4}, finishes 31h, no push
func spansHistory() *Dataset {
	ds := &Dataset{Names: slices.Clone(historyNames)}
	add := func(id int64, start, finish float64, pushed bool, spans ...int64) {
		g := Graphlet{ID: id, PipelineID: 1, TrainerNode: "Trainer", Start: at(start), Finished: at(finish), Pushed: pushed,
			Spans: spans, Features: make([]float64, len(historyNames)), PPush: math.NaN()}
		if pushed {
			g.PushTime = at(finish)
		}
		ds.Graphlets = append(ds.Graphlets, g)
	}
	add(1, 0, 10, true, 1)
	add(2, 10, 11, false, 1, 2)
	add(3, 24, 25, true, 2, 3)
	add(4, 30, 31, false, 3, 4)
	ds.computeHistory()
	return ds
}

func named(ds *Dataset, x []float64) map[string]float64 {
	m := map[string]float64{}
	for j, n := range ds.Names {
		m[n] = x[j]
	}
	return m
}

// TestHistoryFeatures works the history features out by hand on the whole history.
func TestHistoryFeatures(t *testing.T) {
	ds := spansHistory()
	nan := math.NaN()
	want := []map[string]float64{
		{"new_spans": 1, "overlap_prev": nan, "known_outcomes": 0, "pushes_so_far": 0, "pushes_last_5": 0,
			"push_rate_so_far": nan, "last_known_pushed": nan, "hours_since_push": nan, "new_spans_since_push": nan},
		// g1 finished at 10h, the instant g2 starts: not known yet.
		{"new_spans": 1, "overlap_prev": 0.5, "known_outcomes": 0, "pushes_so_far": 0, "pushes_last_5": 0,
			"push_rate_so_far": nan, "last_known_pushed": nan, "hours_since_push": nan, "new_spans_since_push": nan},
		{"new_spans": 1, "overlap_prev": 0.5, "known_outcomes": 2, "pushes_so_far": 1, "pushes_last_5": 1,
			"push_rate_so_far": 0.5, "last_known_pushed": 0, "hours_since_push": 14, "new_spans_since_push": 2},
		{"new_spans": 1, "overlap_prev": 0.5, "known_outcomes": 3, "pushes_so_far": 2, "pushes_last_5": 2,
			"push_rate_so_far": 2.0 / 3, "last_known_pushed": 1, "hours_since_push": 5, "new_spans_since_push": 1},
	}
	for i, g := range ds.Graphlets {
		checkFeatures(t, g.ID, want[i], named(ds, g.Features))
	}
}

func checkFeatures(t *testing.T, id int64, want, got map[string]float64) {
	t.Helper()
	for n, w := range want {
		if g := got[n]; !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
			t.Errorf("graphlet %d: %s = %v, want %v", id, n, g, w)
		}
	}
}

// TestClosedLoopSeesThePrunedHistory skips g2 and checks what g3 and g4 see: g2 left no
// outcome and no spans behind, so g3's new spans count from g1's and its known outcomes
// are g1's alone.
func TestClosedLoopSeesThePrunedHistory(t *testing.T) {
	ds := spansHistory()
	seen := map[int64]map[string]float64{}
	skip := ds.trackerAt(1).closedLoop(1, 4, func(i int, x []float64) bool {
		seen[ds.Graphlets[i].ID] = named(ds, x)
		return ds.Graphlets[i].ID == 2
	})
	if !slices.Equal(skip, []bool{true, false, false}) {
		t.Fatalf("decisions %v", skip)
	}
	checkFeatures(t, 3, map[string]float64{"new_spans": 2, "overlap_prev": 0, "known_outcomes": 1, "pushes_so_far": 1,
		"pushes_last_5": 1, "push_rate_so_far": 1, "last_known_pushed": 1, "hours_since_push": 14, "new_spans_since_push": 2}, seen[3])
	checkFeatures(t, 4, map[string]float64{"new_spans": 1, "known_outcomes": 2, "pushes_so_far": 2, "push_rate_so_far": 1,
		"last_known_pushed": 1, "hours_since_push": 5}, seen[4])
}

// lastOutcome is a model that predicts a push when the last known outcome was a push.
type lastOutcome struct{ col int }

func (lastOutcome) Kind() string            { return "last_outcome" }
func (lastOutcome) Fit([][]float64, []bool) {}
func (m lastOutcome) Predict(x []float64) float64 {
	if math.IsNaN(x[m.col]) {
		return 1
	}
	return x[m.col]
}

// TestModelPolicyInClosedLoop checks that the model's decisions follow the history they
// produce: once g2 is skipped, g3 and g4 still see g1 as the last outcome, not what g2 and g3
// did, and the scores differ from those on the store's history where they do.
func TestModelPolicyInClosedLoop(t *testing.T) {
	ds := spansHistory()
	// g1 does not push, and is known when g2 starts.
	ds.Graphlets[0].Pushed, ds.Graphlets[0].PushTime = false, time.Time{}
	ds.Graphlets[1].Start = at(12)
	ds.computeHistory()
	col := slices.Index(ds.Names, "last_known_pushed")
	m := lastOutcome{col}
	enc := newEncoder(ds.Names, ds.Graphlets)
	sc := &scorer{model: m, enc: enc, gs: ds.Graphlets, from: 1, base: predictAll(m, enc.encode(ds.Graphlets[1:]))}
	// On the store's history: g2 sees g1 (no push): 0; g3 sees g2 (no push): 0; g4 sees g3 (push): 1.
	if !slices.Equal(sc.base, []float64{0, 0, 1}) {
		t.Fatalf("scores on the store's history %v, want [0 0 1]", sc.base)
	}
	skip, scores := sc.replayAt(ds.trackerAt(1), 4, 0.5)
	// In closed loop every skip leaves g1 the last outcome known: all three are skipped.
	if !slices.Equal(skip, []bool{true, true, true}) || !slices.Equal(scores, []float64{0, 0, 0}) {
		t.Errorf("closed loop: skipped %v on scores %v, want all skipped on 0, 0, 0", skip, scores)
	}
}

// TestModelsKeepTheirScores checks that a fitted model written and read back, as the store
// keeps it, scores every graphlet exactly as before.
func TestModelsKeepTheirScores(t *testing.T) {
	var X [][]float64
	var y []bool
	for i := 0; i < 500; i++ {
		a, b := float64(i%17)/17, float64((i*31)%23)/23
		x := []float64{a, b, math.NaN()}
		if i%4 == 0 {
			x[2] = a * b
		}
		X = append(X, x)
		y = append(y, a+0.3*b > 0.6)
	}
	for _, m := range candidates() {
		m.Fit(X, y)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back := fresh(m.Kind())
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatal(err)
		}
		for i, x := range X {
			if p, q := m.Predict(x), back.Predict(x); p != q {
				t.Fatalf("%s: row %d scores %v, %v once kept", m.Kind(), i, p, q)
			}
		}
	}
}

// TestContributionsAddUp checks that the reasons advise gives account for the score: the
// contributions add up to the model's log-odds less its baseline.
func TestContributionsAddUp(t *testing.T) {
	var X [][]float64
	var y []bool
	for i := 0; i < 400; i++ {
		a, b := float64(i%13)/13, float64((i*17)%19)/19
		x := []float64{a, b, math.NaN()}
		if i%3 == 0 {
			x[2] = b
		}
		X = append(X, x)
		y = append(y, a > 0.4 != (b > 0.8))
	}
	for _, m := range candidates() {
		m.Fit(X, y)
		baseline := func() float64 {
			switch m := m.(type) {
			case *Logistic:
				return m.w[0]
			case *Boosted:
				s := m.base
				for _, n := range m.trees {
					s += n.Value
				}
				return s
			}
			return 0
		}()
		for _, x := range X[:50] {
			var sum float64
			for _, c := range contributions(m, x) {
				sum += c
			}
			p := m.Predict(x)
			if logit := math.Log(p / (1 - p)); math.Abs(baseline+sum-logit) > 1e-6 {
				t.Fatalf("%s: contributions add to %v over the baseline %v, the log-odds are %v", m.Kind(), sum, baseline, logit)
			}
		}
	}
}
