package synth

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"
)

// A corpus of a few hundred pipelines drawn independently from heavy-tailed profiles is one
// noisy draw: a couple of pipelines that span every ten minutes for months with several
// trainers can hold half of its Trainer runs, or be missing. So the draws that decide how much
// a pipeline trains (its rate class, lifespan and start) and how much of its data drifts (its
// rate of drift episodes) take their quantiles from a low-discrepancy sequence indexed by the
// pipeline instead of from its own generator: pipeline i's quantiles are point i of the first
// four dimensions of Sobol's sequence, each shifted (XOR) by bits drawn from the seed. Every
// point is uniform, so a pipeline's profile has the same distribution as with independent
// draws, but any 2^m consecutive pipelines from a multiple of 2^m put exactly one (rate,
// lifespan) point in each dyadic box of area 2^-m, and one point of each quantile in each
// stratum of width 2^-m: a corpus covers the distributions' tails evenly, fast pipelines with
// long and short lives alike, and the seed decides which pipeline falls where. The quantiles
// depend only on the seed and the pipeline's index, so a smaller corpus is still the beginning
// of a larger one.

// sobolDims are the second to fourth dimensions of Sobol's sequence (Joe and Kuo's
// direction numbers): the degree s of the primitive polynomial, its inner coefficients a and
// the initial numbers m_1..m_s. The first dimension is the index's bits reversed.
var sobolDims = [...]struct {
	s, a uint
	m    []uint64
}{{1, 0, []uint64{1}}, {2, 1, []uint64{1, 3}}, {3, 1, []uint64{1, 3, 1}}}

// sobolDirections holds each dimension's direction numbers, placed below the binary point:
// bit k of the index flips the bits of directions[k].
var sobolDirections = func() (dirs [len(sobolDims)][64]uint64) {
	for d, dim := range sobolDims {
		m := make([]uint64, 64)
		copy(m, dim.m)
		for k := int(dim.s); k < 64; k++ {
			// m_k = 2·a_1·m_(k-1) ^ 4·a_2·m_(k-2) ^ ... ^ 2^s·m_(k-s) ^ m_(k-s)
			x := m[k-int(dim.s)] ^ m[k-int(dim.s)]<<dim.s
			for j := uint(1); j < dim.s; j++ {
				if dim.a>>(dim.s-1-j)&1 != 0 {
					x ^= m[k-int(j)] << j
				}
			}
			m[k] = x
		}
		for k := range m {
			dirs[d][k] = m[k] << (63 - k)
		}
	}
	return dirs
}()

// quantiles are the points of the pipeline's profile drawn from the low-discrepancy sequence.
type quantiles struct {
	rate, life, start, episodes float64
}

// quantilesOf returns pipeline idx's quantiles, each in [0, 1).
func quantilesOf(seed uint64, idx int) quantiles {
	shift := rand.New(rand.NewPCG(seed, 0x7175616e74696c65))
	var x [1 + len(sobolDims)]uint64
	x[0] = bits.Reverse64(uint64(idx))
	for d := range sobolDims {
		for k := 0; idx>>k != 0; k++ {
			if idx>>k&1 != 0 {
				x[d+1] ^= sobolDirections[d][k]
			}
		}
	}
	for d := range x {
		x[d] ^= shift.Uint64()
	}
	return quantiles{unit(x[0]), unit(x[1]), unit(x[2]), unit(x[3])}
}

// unit maps 64 random bits to [0, 1) with 53 bits of precision.
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// at returns the distribution's quantile q: the median times e^(σ·Φ⁻¹(q)).
func (d LogNormal) at(q float64) float64 {
	return d.Median * math.Exp(d.Sigma*math.Sqrt2*math.Erfinv(2*q-1))
}

// rateClass is one combination of the profile choices that set how often a pipeline trains:
// span cadence, trigger (with its k or period) and number of trainers.
type rateClass struct {
	cadence  time.Duration
	trigger  string
	k        int
	period   time.Duration
	trainers int
	perDay   float64 // Trainer runs per day while the pipeline lives
	cum      float64 // chance of this class or a slower one
}

// rateClasses lists every combination of cadence, trigger and trainers with its chance (the
// product of the weights of its choices), slowest first: a quantile of the list draws all of
// them at once, and a quantile near 1 a fast pipeline.
func rateClasses(c *Config) []rateClass {
	cad, trig, ks, periods, trainers := shares(c.SpanCadence), shares(c.Trigger), shares(c.EveryK), shares(c.SchedulePeriod), shares(c.Trainers)
	type choice struct {
		class rateClass
		p     float64
	}
	var all []choice
	for ci, cd := range c.SpanCadence {
		for ti, tg := range c.Trigger {
			// The trigger's own choice: k for every_k_spans, the period for a schedule.
			var runs []choice
			switch tg.Value {
			case "every_k_spans":
				for ki, k := range c.EveryK {
					runs = append(runs, choice{rateClass{k: k.Value, perDay: day / (float64(k.Value) * cd.Value.Seconds())}, ks[ki]})
				}
			case "schedule":
				for pi, pd := range c.SchedulePeriod {
					runs = append(runs, choice{rateClass{period: pd.Value, perDay: day / pd.Value.Seconds()}, periods[pi]})
				}
			default:
				runs = []choice{{rateClass{perDay: day / cd.Value.Seconds()}, 1}}
			}
			for _, run := range runs {
				for ni, n := range c.Trainers {
					rc := run.class
					rc.cadence, rc.trigger, rc.trainers = cd.Value, tg.Value, n.Value
					rc.perDay *= float64(n.Value)
					all = append(all, choice{rc, cad[ci] * trig[ti] * run.p * trainers[ni]})
				}
			}
		}
	}
	// A stable sort keeps equal rates in the order of the configuration's lists.
	slices.SortStableFunc(all, func(a, b choice) int { return cmp.Compare(a.class.perDay, b.class.perDay) })
	classes := make([]rateClass, len(all))
	cum := 0.0
	for i, ch := range all {
		cum += ch.p
		classes[i] = ch.class
		classes[i].cum = cum
	}
	return classes
}

// shares returns the chance of each choice of a weighted list.
func shares[T any](ws []Weighted[T]) []float64 {
	total := 0.0
	for _, w := range ws {
		total += w.Weight
	}
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = w.Weight / total
	}
	return out
}

// classAt returns the rate class at quantile q.
func classAt(classes []rateClass, q float64) rateClass {
	total := classes[len(classes)-1].cum
	i, _ := slices.BinarySearchFunc(classes, q*total, func(c rateClass, x float64) int {
		if c.cum <= x {
			return -1
		}
		return 1
	})
	return classes[min(i, len(classes)-1)]
}
