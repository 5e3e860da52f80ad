package prune

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Outcome is what one skipping policy did over the replayed period. Shares are fractions in [0, 1].
type Outcome struct {
	Name string `json:"name"`
	// Threshold is the predicted push probability below which the policy skipped; nil for
	// policies that do not threshold a score.
	Threshold *float64 `json:"threshold"`
	// ChosenInAdvance says the threshold was chosen before the replayed period, from the
	// training period alone; false for a threshold chosen on the replay itself (hindsight).
	ChosenInAdvance bool `json:"chosen_in_advance"`
	Skipped         int  `json:"skipped"`
	// WasteSaved is the share of the wasted exclusive cost (graphlets that did not push) that
	// skipping saved.
	WasteSaved float64 `json:"waste_saved"`
	// ComputeSaved is the share of all graphlets' exclusive cost that skipping saved.
	ComputeSaved float64 `json:"compute_saved"`
	// PushesLost is the share of pushes that skipping prevented.
	PushesLost float64 `json:"pushes_lost"`
	// PushesPerPipelineDay is the deployment cadence with skipping; Baseline... without.
	PushesPerPipelineDay         float64 `json:"pushes_per_pipeline_day"`
	BaselinePushesPerPipelineDay float64 `json:"baseline_pushes_per_pipeline_day"`
	// StalenessAdded is, over every push of the full history, how much later a model at least
	// as fresh reached serving (zero for a push that was kept): mean and 95th percentile, hours.
	StalenessAddedHoursMean float64 `json:"staleness_added_hours_mean"`
	StalenessAddedHoursP95  float64 `json:"staleness_added_hours_p95"`
}

// Replay plays gs (the evaluation period, in time order) skipping the graphlets for which skip
// says so: a skipped graphlet saves its exclusive cost and deploys nothing, and its pipeline
// keeps serving the model it had until its next kept push. end closes the period.
func Replay(name string, gs []Graphlet, skip []bool, end time.Time) Outcome {
	return newReplayer(gs, end).replay(name, skip)
}

// replayer replays one period under many policies: what every replay needs is worked out
// once. Replays may run side by side.
type replayer struct {
	gs              []Graphlet
	end             time.Time
	wasted, total   float64
	pushes          int
	pipelines, days float64
	// pushed are the graphlets that pushed, by pipeline and within one by push time, and
	// pipelineEnds where each pipeline's run of them ends.
	pushed       []int
	pipelineEnds []int
}

func newReplayer(gs []Graphlet, end time.Time) *replayer {
	r := &replayer{gs: gs, end: end}
	pipelines := map[int64]int{}
	var ofPipeline []int // how many pushed, by pipeline in order of first appearance
	pipelineOf := make([]int, len(gs))
	start := end
	for i, g := range gs {
		p, ok := pipelines[g.PipelineID]
		if !ok {
			p = len(ofPipeline)
			pipelines[g.PipelineID] = p
			ofPipeline = append(ofPipeline, 0)
		}
		pipelineOf[i] = p
		if g.Start.Before(start) {
			start = g.Start
		}
		r.total += g.CostExclusive
		if !g.Pushed {
			r.wasted += g.CostExclusive
		} else {
			r.pushes++
			ofPipeline[p]++
		}
	}
	r.pipelines, r.days = float64(len(ofPipeline)), math.Max(end.Sub(start).Hours()/24, 1.0/24)
	// The pushed graphlets, placed by pipeline in graphlet order, then sorted within each
	// pipeline by push time.
	r.pushed = make([]int, r.pushes)
	at := make([]int, len(ofPipeline))
	for p := 1; p < len(at); p++ {
		at[p] = at[p-1] + ofPipeline[p-1]
	}
	for i, g := range gs {
		if g.Pushed {
			r.pushed[at[pipelineOf[i]]] = i
			at[pipelineOf[i]]++
		}
	}
	from := 0
	for _, to := range at {
		if to > from {
			slices.SortStableFunc(r.pushed[from:to], func(a, b int) int { return gs[a].PushTime.Compare(gs[b].PushTime) })
			r.pipelineEnds = append(r.pipelineEnds, to)
		}
		from = to
	}
	return r
}

func (r *replayer) replay(name string, skip []bool) Outcome {
	o := Outcome{Name: name}
	var saved, savedAll float64
	var lost int
	for i, g := range r.gs {
		if !skip[i] {
			continue
		}
		o.Skipped++
		savedAll += g.CostExclusive
		if g.Pushed {
			lost++
		} else {
			saved += g.CostExclusive
		}
	}
	o.WasteSaved = ratio(saved, r.wasted)
	o.ComputeSaved = ratio(savedAll, r.total)
	o.PushesLost = ratio(float64(lost), float64(r.pushes))
	if n := r.pipelines; n > 0 {
		o.BaselinePushesPerPipelineDay = float64(r.pushes) / n / r.days
		o.PushesPerPipelineDay = float64(r.pushes-lost) / n / r.days
	}
	o.StalenessAddedHoursMean, o.StalenessAddedHoursP95 = r.stalenessAdded(skip)
	return o
}

// stalenessAdded measures, for every push in the period, the delay until the pruned history
// deploys a model at least as fresh: zero if the push was kept, else the time to the
// pipeline's next kept push (or to end).
func (r *replayer) stalenessAdded(skip []bool) (mean, p95 float64) {
	if r.pushes == 0 {
		return 0, 0
	}
	// Only the delays that are not zero are kept and sorted; the zeros come before them.
	var delays []float64
	from := 0
	for _, to := range r.pipelineEnds {
		next := r.end // the next kept push, scanning backwards
		for k := to - 1; k >= from; k-- {
			i := r.pushed[k]
			at := r.gs[i].PushTime
			if !skip[i] {
				next = at
				continue
			}
			if d := next.Sub(at).Hours(); d > 0 {
				delays = append(delays, d)
			}
		}
		from = to
	}
	sort.Float64s(delays)
	var s float64
	for _, d := range delays {
		s += d
	}
	zeros := r.pushes - len(delays)
	if q := int(math.Ceil(0.95*float64(r.pushes))) - 1; q >= zeros {
		p95 = delays[q-zeros]
	}
	return s / float64(r.pushes), p95
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Thresholds are the probabilities a sweep tries first: skip a graphlet when its predicted
// probability of pushing is below the threshold. They run from 0 to 0.5 by 0.025, then by
// 0.1 to 0.9; Search refines them by 0.005 around the operating point.
func Thresholds() []float64 {
	var ts []float64
	for i := 0; i <= 100; i += 5 {
		ts = append(ts, float64(i)/200)
	}
	return append(ts, 0.6, 0.7, 0.8, 0.9)
}

// finer returns the thresholds by 0.005 from 0 to 0.5 that lie less than 0.025 from t
// and that Thresholds lacks.
func finer(t float64) []float64 {
	var ts []float64
	for i := 0; i <= 100; i++ {
		if v := float64(i) / 200; i%5 != 0 && math.Abs(v-t) < 0.025 {
			ts = append(ts, v)
		}
	}
	return ts
}

// Search finds the operating point for a bound on pushes lost (OperatingPoint) in two
// sweeps: over Thresholds, then by 0.005 around the best of them. It returns the operating
// point and every outcome swept, by threshold. sweep replays at each of the thresholds it
// is given, in order.
func Search(sweep func(thresholds []float64) []Outcome, maxLoss float64) (Outcome, []Outcome) {
	all := sweep(Thresholds())
	all = append(all, sweep(finer(*OperatingPoint(all, maxLoss).Threshold))...)
	sort.SliceStable(all, func(a, b int) bool { return *all[a].Threshold < *all[b].Threshold })
	return OperatingPoint(all, maxLoss), all
}

// Sweep replays gs once per threshold, skipping where score < threshold; the thresholds
// replay side by side.
func Sweep(name string, gs []Graphlet, score []float64, end time.Time, thresholds []float64) []Outcome {
	out := make([]Outcome, len(thresholds))
	r := newReplayer(gs, end)
	each(len(thresholds), func(k int) {
		skip := make([]bool, len(gs))
		for i := range gs {
			skip[i] = score[i] < thresholds[k]
		}
		out[k] = r.replay(name, skip)
		out[k].Threshold = &thresholds[k]
	})
	return out
}

// atThreshold replays gs skipping where score < threshold, a threshold chosen in advance.
func atThreshold(name string, gs []Graphlet, score []float64, threshold float64, end time.Time) Outcome {
	skip := make([]bool, len(gs))
	for i := range gs {
		skip[i] = score[i] < threshold
	}
	o := Replay(name, gs, skip, end)
	o.Threshold = &threshold
	o.ChosenInAdvance = true
	return o
}

// OperatingPoint picks, from a sweep, the largest waste saving whose share of pushes lost
// stays within maxLoss (the lowest threshold among equals).
func OperatingPoint(sweep []Outcome, maxLoss float64) Outcome {
	best := sweep[0]
	for _, o := range sweep[1:] {
		if o.PushesLost <= maxLoss+1e-12 && o.WasteSaved > best.WasteSaved+1e-12 {
			best = o
		}
	}
	return best
}
