package prune

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
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

// TestBoostedFitsAsBefore checks that the boosted trees, grown from histograms of flat bins,
// are exactly the trees the scan of every node's rows per feature grew.
func TestBoostedFitsAsBefore(t *testing.T) {
	X, y := noisyRows(3000, 7, 1)
	got := &Boosted{Trees: 40, Depth: 3, Rate: 0.1, L2: 1, Bins: 32}
	got.Fit(X, y)
	want := &Boosted{Trees: 40, Depth: 3, Rate: 0.1, L2: 1, Bins: 32}
	boostedReference(want, X, y)
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if !bytes.Equal(a, b) {
		t.Errorf("the trees differ from the reference fit:\n got %.300s\nwant %.300s", a, b)
	}
}
