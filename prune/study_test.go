package prune

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// synthetic is a history of n graphlets over 20 pipelines, one every hour, whose one feature x
// sets the chance of a push; pushed says, from x and a uniform draw u, whether one pushed.
func synthetic(n int, pushed func(x, u float64) bool) *Dataset {
	rng := rand.New(rand.NewPCG(7, 7))
	ds := &Dataset{Names: []string{"x"}}
	for i := 0; i < n; i++ {
		x, u := rng.Float64(), rng.Float64()
		g := Graphlet{ID: int64(i + 1), PipelineID: int64(i%20 + 1), Start: at(float64(i)), CostExclusive: 1,
			ModelType: "m", Features: []float64{x}, PPush: math.NaN(), NewSpans: 1}
		if pushed(x, u) {
			g.Pushed, g.PushTime = true, at(float64(i)+0.5)
		}
		ds.Graphlets = append(ds.Graphlets, g)
	}
	return ds
}

// TestThresholdChosenInAdvance checks that the operating point's threshold comes from the
// training period alone: changing the outcomes of the replayed period leaves it as it was,
// while the hindsight optimum, chosen on the replay, moves.
func TestThresholdChosenInAdvance(t *testing.T) {
	push := func(x, u float64) bool { return u < x }
	ds := synthetic(2000, push)
	res, err := Study(ds, Options{TrainFraction: 0.6, MaxCadenceLoss: 0.01, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	op := res.OperatingPoint
	if !op.ChosenInAdvance || res.Hindsight.ChosenInAdvance {
		t.Errorf("chosen_in_advance: operating point %v, hindsight %v; want true, false", op.ChosenInAdvance, res.Hindsight.ChosenInAdvance)
	}
	if *op.Threshold != res.Model.Threshold || *op.Threshold != *res.Model.Validation.Threshold {
		t.Errorf("operating point threshold %v, model threshold %v, validation threshold %v: want one threshold",
			*op.Threshold, res.Model.Threshold, *res.Model.Validation.Threshold)
	}

	// The replayed period (the last 40%) now pushes far more often at low x: the loss at the
	// old threshold rises, so a threshold picked on the replay must fall.
	changed := synthetic(2000, push)
	_, eval := splitByTime(changed.Graphlets, 0.6)
	for i := range eval {
		if !eval[i].Pushed && eval[i].Features[0] < 0.5 && eval[i].ID%2 == 0 {
			eval[i].Pushed, eval[i].PushTime = true, eval[i].Start.Add(time.Hour/2)
		}
	}
	again, err := Study(changed, Options{TrainFraction: 0.6, MaxCadenceLoss: 0.01, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if *again.OperatingPoint.Threshold != *op.Threshold {
		t.Errorf("the replayed period's outcomes moved the threshold chosen in advance from %v to %v", *op.Threshold, *again.OperatingPoint.Threshold)
	}
	if *again.Hindsight.Threshold >= *res.Hindsight.Threshold {
		t.Errorf("hindsight threshold %v with more pushes at low scores, %v before: want it lower", *again.Hindsight.Threshold, *res.Hindsight.Threshold)
	}
}

// TestChooseByWasteSaved checks that the study keeps the candidate that saves the most waste
// on the validation tail, whatever the AUCs say, and goes by AUC only among equal savings.
func TestChooseByWasteSaved(t *testing.T) {
	at := func(saved ...float64) []Outcome {
		var out []Outcome
		for _, s := range saved {
			out = append(out, Outcome{WasteSaved: s})
		}
		return out
	}
	for _, c := range []struct {
		name   string
		points []Outcome
		aucs   []float64
		want   int
	}{
		{"more saved, lower AUC", at(0.64, 0.68), []float64{0.89, 0.86}, 1},
		{"more saved first", at(0.70, 0.65), []float64{0.80, 0.95}, 0},
		{"equal saving, higher AUC", at(0.5, 0.5), []float64{0.80, 0.85}, 1},
		{"all equal: the first", at(0.5, 0.5), []float64{0.8, 0.8}, 0},
	} {
		if got := choose(c.points, c.aucs); got != c.want {
			t.Errorf("%s: chose %d, want %d", c.name, got, c.want)
		}
	}
}

// TestStudyLearnsFromASample checks that a training period larger than LearnRows is learned
// from a sample that size, the same on every run, and that a smaller one is learned whole.
func TestStudyLearnsFromASample(t *testing.T) {
	var first []byte
	for k := 0; k < 2; k++ {
		res, err := Study(pipelinesHistory(4), Options{Seed: 1, MaxCadenceLoss: 0.05, LearnRows: 300})
		if err != nil {
			t.Fatal(err)
		}
		if m := res.Model; m.LearnedGraphlets != 300 || m.TrainGraphlets <= 300 {
			t.Fatalf("learned from %d of %d graphlets, want 300 of more", m.LearnedGraphlets, m.TrainGraphlets)
		}
		b, _ := json.Marshal(res)
		if k == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatal("two runs learned from different samples")
		}
	}
	res, err := Study(pipelinesHistory(4), Options{Seed: 1, MaxCadenceLoss: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Model; m.LearnedGraphlets != m.TrainGraphlets {
		t.Fatalf("learned from %d of %d graphlets, want all", m.LearnedGraphlets, m.TrainGraphlets)
	}
}
