package prune

import (
	"math"
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
	o := Outcome{Name: name}
	var wasted, saved, total, savedAll float64
	var pushes, lost int
	pipelines := map[int64]bool{}
	start := end
	for i, g := range gs {
		pipelines[g.PipelineID] = true
		if g.Start.Before(start) {
			start = g.Start
		}
		total += g.CostExclusive
		if !g.Pushed {
			wasted += g.CostExclusive
		} else {
			pushes++
		}
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
	o.WasteSaved = ratio(saved, wasted)
	o.ComputeSaved = ratio(savedAll, total)
	o.PushesLost = ratio(float64(lost), float64(pushes))
	days := math.Max(end.Sub(start).Hours()/24, 1.0/24)
	if n := float64(len(pipelines)); n > 0 {
		o.BaselinePushesPerPipelineDay = float64(pushes) / n / days
		o.PushesPerPipelineDay = float64(pushes-lost) / n / days
	}
	o.StalenessAddedHoursMean, o.StalenessAddedHoursP95 = stalenessAdded(gs, skip, end)
	return o
}

// stalenessAdded measures, for every push in gs, the delay until the pruned history deploys
// a model at least as fresh: zero if the push was kept, else the time to the pipeline's next
// kept push (or to end).
func stalenessAdded(gs []Graphlet, skip []bool, end time.Time) (mean, p95 float64) {
	type push struct {
		at   time.Time
		kept bool
	}
	byPipeline := map[int64][]push{}
	for i, g := range gs {
		if g.Pushed {
			byPipeline[g.PipelineID] = append(byPipeline[g.PipelineID], push{g.PushTime, !skip[i]})
		}
	}
	var delays []float64
	for _, ps := range byPipeline {
		sort.SliceStable(ps, func(a, b int) bool { return ps[a].at.Before(ps[b].at) })
		next := end // the next kept push, scanning backwards
		for i := len(ps) - 1; i >= 0; i-- {
			if ps[i].kept {
				next = ps[i].at
				delays = append(delays, 0)
				continue
			}
			delays = append(delays, math.Max(next.Sub(ps[i].at).Hours(), 0))
		}
	}
	if len(delays) == 0 {
		return 0, 0
	}
	sort.Float64s(delays)
	var s float64
	for _, d := range delays {
		s += d
	}
	return s / float64(len(delays)), delays[int(math.Ceil(0.95*float64(len(delays))))-1]
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Thresholds are the probabilities the sweep tries: skip a graphlet when its predicted
// probability of pushing is below the threshold.
func Thresholds() []float64 {
	var ts []float64
	for i := 0; i <= 100; i++ {
		ts = append(ts, float64(i)/200) // 0 to 0.5 by 0.005
	}
	return append(ts, 0.6, 0.7, 0.8, 0.9)
}

// Sweep replays gs once per threshold, skipping where score < threshold.
func Sweep(name string, gs []Graphlet, score []float64, end time.Time) []Outcome {
	var out []Outcome
	skip := make([]bool, len(gs))
	for _, t := range Thresholds() {
		t := t
		for i := range gs {
			skip[i] = score[i] < t
		}
		o := Replay(name, gs, skip, end)
		o.Threshold = &t
		out = append(out, o)
	}
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
