package synth

import (
	"math"
	"testing"
)

// TestQuantilesCoverStrata: the first 2^m pipelines of any seed put one point of (training
// rate, lifespan) in each dyadic box of area 2^-m, and one point of every other drawn quantile
// in each stratum of width 2^-m, so a corpus covers the tail of the profile distribution evenly
// instead of by chance.
func TestQuantilesCoverStrata(t *testing.T) {
	const m = 6
	const n = 1 << m
	for _, seed := range []uint64{DefaultSeed, 1, 2, 3} {
		qs := make([]quantiles, n)
		for i := range qs {
			qs[i] = quantilesOf(seed, i)
		}
		for j := 0; j <= m; j++ {
			seen := map[[2]int]int{}
			for i, q := range qs {
				box := [2]int{int(q.rate * float64(int(1)<<j)), int(q.life * float64(int(1)<<(m-j)))}
				if prev, ok := seen[box]; ok {
					t.Fatalf("seed %d: pipelines %d and %d share the box %v of %d x %d", seed, prev, i, box, 1<<j, 1<<(m-j))
				}
				seen[box] = i
			}
		}
		for name, get := range map[string]func(quantiles) float64{
			"rate": func(q quantiles) float64 { return q.rate }, "life": func(q quantiles) float64 { return q.life },
			"start": func(q quantiles) float64 { return q.start }, "episodes": func(q quantiles) float64 { return q.episodes },
		} {
			seen := map[int]bool{}
			for _, q := range qs {
				seen[int(get(q)*n)] = true
			}
			if len(seen) != n {
				t.Errorf("seed %d: the %s quantiles of %d pipelines fill %d of %d strata", seed, name, n, len(seen), n)
			}
		}
	}
	if a, b := quantilesOf(1, 5), quantilesOf(2, 5); a == b {
		t.Errorf("seeds 1 and 2 give pipeline 5 the same quantiles %v", a)
	}
}

// TestRateClasses: the rate classes are the product of the configured choices, slowest first,
// with chances summing to 1, so a uniform quantile draws each choice with its weight.
func TestRateClasses(t *testing.T) {
	cfg := DefaultConfig(1)
	classes := rateClasses(&cfg)
	runs := len(cfg.SpanCadence) * (1 + len(cfg.EveryK) + len(cfg.SchedulePeriod)) * len(cfg.Trainers)
	if len(classes) != runs {
		t.Fatalf("%d classes, want %d", len(classes), runs)
	}
	if total := classes[len(classes)-1].cum; math.Abs(total-1) > 1e-9 {
		t.Errorf("chances sum to %v, want 1", total)
	}
	tenMinutes := 0.0
	prev := rateClass{}
	for i, c := range classes {
		if c.perDay < prev.perDay {
			t.Fatalf("class %d (%v a day) after one of %v a day", i, c.perDay, prev.perDay)
		}
		if c.cadence == cfg.SpanCadence[0].Value {
			tenMinutes += c.cum - prev.cum
		}
		prev = c
	}
	want := shares(cfg.SpanCadence)[0]
	if math.Abs(tenMinutes-want) > 1e-9 {
		t.Errorf("the 10-minute cadence has chance %v over the classes, want %v", tenMinutes, want)
	}
	if top := classAt(classes, 1-1e-12); top.perDay != classes[len(classes)-1].perDay {
		t.Errorf("quantile 1 draws %v a day, want the fastest class %v", top.perDay, classes[len(classes)-1].perDay)
	}
	if low := classAt(classes, 0); low != classes[0] {
		t.Errorf("quantile 0 draws %+v, want the slowest class", low)
	}
}
