package prune

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// boostedReference fits m as Boosted.Fit did before it read its bins from histograms: every
// node scans its rows once per feature.
func boostedReference(m *Boosted, X [][]float64, y []bool) {
	d := len(X[0])
	m.cuts = make([][]float64, d)
	for j := 0; j < d; j++ {
		var vals []float64
		for _, x := range X {
			if !math.IsNaN(x[j]) {
				vals = append(vals, x[j])
			}
		}
		sort.Float64s(vals)
		var cuts []float64
		for q := 1; q < m.Bins && len(vals) > 0; q++ {
			c := vals[q*len(vals)/m.Bins]
			if len(cuts) == 0 || c > cuts[len(cuts)-1] {
				cuts = append(cuts, c)
			}
		}
		m.cuts[j] = cuts
	}
	binned := make([][]uint8, len(X))
	for i, x := range X {
		binned[i] = make([]uint8, d)
		for j, v := range x {
			binned[i][j] = uint8(m.bin(j, v))
		}
	}
	var pos float64
	for _, t := range y {
		pos += b2f(t)
	}
	rate := math.Min(math.Max(pos/float64(len(y)), 1e-6), 1-1e-6)
	m.base = math.Log(rate / (1 - rate))
	score := make([]float64, len(X))
	for i := range score {
		score[i] = m.base
	}
	grad, hess := make([]float64, len(X)), make([]float64, len(X))
	idx := make([]int, len(X))
	for i := range idx {
		idx[i] = i
	}
	var grow func(idx []int, depth int) *node
	grow = func(idx []int, depth int) *node {
		var G, H float64
		for _, i := range idx {
			G += grad[i]
			H += hess[i]
		}
		n := &node{Value: -m.Rate * G / (H + m.L2), Feature: -1}
		if depth == 0 || len(idx) < 20 {
			return n
		}
		nb := m.Bins + 1
		best, bestGain := [2]int{-1, 0}, 1e-9
		parent := G * G / (H + m.L2)
		gs, hs := make([]float64, nb), make([]float64, nb)
		for j := range binned[idx[0]] {
			clear(gs)
			clear(hs)
			for _, i := range idx {
				gs[binned[i][j]] += grad[i]
				hs[binned[i][j]] += hess[i]
			}
			var gl, hl float64
			for b := 0; b < nb-1; b++ {
				gl += gs[b]
				hl += hs[b]
				gr, hr := G-gl, H-hl
				if hl < 1e-3 || hr < 1e-3 {
					continue
				}
				if gain := gl*gl/(hl+m.L2) + gr*gr/(hr+m.L2) - parent; gain > bestGain {
					best, bestGain = [2]int{j, b}, gain
				}
			}
		}
		if best[0] < 0 {
			return n
		}
		var left, right []int
		for _, i := range idx {
			if int(binned[i][best[0]]) <= best[1] {
				left = append(left, i)
			} else {
				right = append(right, i)
			}
		}
		n.Feature, n.Bin = best[0], best[1]
		n.Left, n.Right = grow(left, depth-1), grow(right, depth-1)
		return n
	}
	m.trees = nil
	for t := 0; t < m.Trees; t++ {
		for i := range X {
			p := sigmoid(score[i])
			grad[i] = p - b2f(y[i])
			hess[i] = math.Max(p*(1-p), 1e-6)
		}
		tree := grow(idx, m.Depth)
		m.trees = append(m.trees, tree)
		for i := range X {
			score[i] += leaf(tree, binned[i])
		}
	}
}

// noisyRows are n rows of d features, some unknown and some tied, with outcomes that depend
// on a few of them and on chance.
func noisyRows(n, d int, seed uint64) ([][]float64, []bool) {
	rng := rand.New(rand.NewPCG(seed, 3))
	X, y := make([][]float64, n), make([]bool, n)
	for i := range X {
		x := make([]float64, d)
		for j := range x {
			switch {
			case rng.Float64() < 0.1:
				x[j] = math.NaN()
			case j%3 == 0:
				x[j] = float64(rng.IntN(4))
			default:
				x[j] = rng.NormFloat64()
			}
		}
		X[i] = x
		z := 0.8*x[1] - 0.5*x[2] + 0.3*x[0]
		if math.IsNaN(z) {
			z = 0.5
		}
		y[i] = rng.Float64() < sigmoid(z)
	}
	return X, y
}

// TestBoostedFitsAsBefore checks that the boosted trees, grown from histograms of flat bins
// (of two halves of the rows side by side when there are many), are exactly the trees the
// scan of every node's rows per feature grew.
func TestBoostedFitsAsBefore(t *testing.T) {
	for _, c := range []struct{ rows, trees int }{{3000, 40}, {2*halfRows + 1001, 4}} {
		X, y := noisyRows(c.rows, 7, 1)
		got := &Boosted{Trees: c.trees, Depth: 3, Rate: 0.1, L2: 1, Bins: 32}
		got.Fit(X, y)
		want := &Boosted{Trees: c.trees, Depth: 3, Rate: 0.1, L2: 1, Bins: 32}
		boostedReference(want, X, y)
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if !bytes.Equal(a, b) {
			t.Errorf("%d rows: the trees differ from the reference fit:\n got %.300s\nwant %.300s", c.rows, a, b)
		}
	}
}

// TestBoostedPredictsFromCuts checks that Predict, which compares values with the bins'
// upper edges, scores as walking the trees on the values' bins does, for values on the edges,
// between them, past them and unknown.
func TestBoostedPredictsFromCuts(t *testing.T) {
	X, y := noisyRows(3000, 7, 2)
	m := &Boosted{Trees: 40, Depth: 3, Rate: 0.1, L2: 1, Bins: 32}
	m.Fit(X, y)
	rows := X[:500]
	for j, cuts := range m.cuts {
		for _, c := range cuts {
			for _, v := range []float64{c, math.Nextafter(c, math.Inf(-1)), math.Nextafter(c, math.Inf(1)), math.Inf(1), math.Inf(-1), math.NaN()} {
				x := append([]float64(nil), X[j]...)
				x[j] = v
				rows = append(rows, x)
			}
		}
	}
	for i, x := range rows {
		b := make([]uint8, len(x))
		for j, v := range x {
			b[j] = uint8(m.bin(j, v))
		}
		s := m.base
		for _, tree := range m.trees {
			s += leaf(tree, b)
		}
		if p, want := m.Predict(x), sigmoid(s); p != want {
			t.Fatalf("row %d %v: Predict %v, by bins %v", i, x, p, want)
		}
	}
}

// TestImportancesWalkOnlyTheTreesASplitReads checks that the boosted trees' importances,
// which walk again only the trees that split on the shuffled feature, are those of scoring
// every shuffled row whole, on more rows than the importances sample.
func TestImportancesWalkOnlyTheTreesASplitReads(t *testing.T) {
	X, y := noisyRows(importanceRows+2000, 7, 3)
	m := &Boosted{Trees: 40, Depth: 3, Rate: 0.1, L2: 1, Bins: 32}
	m.Fit(X[:3000], y[:3000])
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	got := permutationImportance(m, names, X, y, 5)
	// A Model that is only a Model scores each shuffled row with Predict.
	want := permutationImportance(struct{ Model }{m}, names, X, y, 5)
	if !slices.Equal(got, want) {
		t.Errorf("importances:\n got %v\nwant %v", got, want)
	}
	if got[0].AUCDrop <= 0.01 {
		t.Errorf("importances %v: want the leading feature's shuffle to cost AUC", got)
	}
}

// pipelinesHistory is a history of 30 pipelines of 60 graphlets each, interleaved in time,
// with spans that overlap their predecessors', outcomes known some hours after each start,
// and a feature x beside the history features.
func pipelinesHistory(seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 5))
	ds := &Dataset{Names: append([]string{"x"}, historyNames...)}
	id := int64(0)
	for k := 0; k < 60; k++ {
		for p := int64(1); p <= 30; p++ {
			id++
			start := float64(k)*24 + float64(p)/2
			span := int64(k) + p*1000
			g := Graphlet{ID: id, PipelineID: p, TrainerNode: "Trainer", Start: at(start), Finished: at(start + 1 + 40*rng.Float64()),
				Spans: []int64{span, span + 1}, CostExclusive: 1 + rng.Float64(), ModelType: []string{"a", "b"}[p%2],
				Features: make([]float64, len(ds.Names)), PPush: math.NaN()}
			if rng.IntN(4) == 0 {
				g.Spans = g.Spans[:1]
			}
			g.Features[0] = rng.Float64()
			if rng.Float64() < 0.3+0.5*g.Features[0] {
				g.Pushed, g.PushTime = true, g.Finished
			}
			ds.Graphlets = append(ds.Graphlets, g)
		}
	}
	ds.computeHistory()
	return ds
}

// TestSweepReplaysAsEachThresholdDoes checks that the sweep, which replays again only the
// pipelines whose decisions change, gives every threshold the outcome of a closed-loop replay
// of the whole period at that threshold alone.
func TestSweepReplaysAsEachThresholdDoes(t *testing.T) {
	ds := pipelinesHistory(3)
	from := len(ds.Graphlets) / 2
	m := &Boosted{Trees: 30, Depth: 3, Rate: 0.2, L2: 1, Bins: 16}
	enc := newEncoder(ds.Names, ds.Graphlets[:from])
	m.Fit(enc.encode(ds.Graphlets[:from]), labels(ds.Graphlets[:from]))
	eval := ds.Graphlets[from:]
	end := periodEnd(eval)
	start := ds.trackerAt(from)
	newScorer := func() *scorer {
		return &scorer{model: m, enc: enc, gs: ds.Graphlets, from: from, base: predictAll(m, enc.encode(eval))}
	}
	thresholds := append(Thresholds(), finer(0.1)...) // out of order: each replays from the one before
	got := newScorer().sweep("model", start, len(ds.Graphlets), end, thresholds)
	ref := newScorer()
	var kinds []bool
	for k, th := range thresholds {
		skip, _ := ref.replayAt(start, len(ds.Graphlets), th)
		want := Replay("model", eval, skip, end)
		want.Threshold = &th
		a, _ := json.Marshal(got[k])
		b, _ := json.Marshal(want)
		if !bytes.Equal(a, b) {
			t.Errorf("threshold %v: sweep %s, replay %s", th, a, b)
		}
		kinds = append(kinds, want.Skipped > 0 && want.Skipped < len(eval))
	}
	if !slices.Contains(kinds, true) {
		t.Fatal("no threshold skips some graphlets and keeps others: the test proves nothing")
	}
}

// TestStudyIsDeterministic checks that the study, whose independent steps run side by side,
// gives the same result every time on the same history.
func TestStudyIsDeterministic(t *testing.T) {
	var first []byte
	for k := 0; k < 3; k++ {
		res, err := Study(pipelinesHistory(4), Options{Seed: 1, MaxCadenceLoss: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		if k == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("run %d differs from the first:\n%.400s\n%.400s", k+1, b, first)
		}
	}
}
