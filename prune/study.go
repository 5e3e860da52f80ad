package prune

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune the study.
type Options struct {
	// TrainFraction is the share of the window (by Trainer start time) the model learns from;
	// the rest is replayed. Default 0.6.
	TrainFraction float64
	// MaxCadenceLoss bounds the share of pushes the operating point may lose on the
	// validation tail, where its threshold is chosen (and the hindsight optimum on the
	// replay). Default 0.01.
	MaxCadenceLoss float64
	// Seed drives the random baseline, the permutation importances and the samples the
	// models learn from.
	Seed uint64
	// LearnRows is the most graphlets a model learns from; a larger period is sampled at
	// random. Default 100,000 (learnRows).
	LearnRows int
}

// learnRows is the default Options.LearnRows. At the paper's scale (243K graphlets to fit
// on, 308K in the training period) the models learned from samples that size choose the same
// kind and threshold, and save 61.2% of the waste with 0.79% of pushes lost, against 60.6%
// and 0.75% (replay AUC 0.895 against 0.894), in 11.6 s against 19.2. At a tenth of the
// paper's scale no period is that large.
const learnRows = 100000

// ModelReport says which classifier was chosen and how well it predicts the replayed period.
type ModelReport struct {
	Kind string `json:"kind"`
	// Threshold is the operating point's threshold, chosen on the validation tail of the
	// training period (Validation), before the replayed period begins.
	Threshold float64 `json:"threshold"`
	// Validation is the operating point on the validation tail, scored by the model fitted
	// on the graphlets before it: where the threshold was chosen.
	Validation    Outcome            `json:"validation_operating_point"`
	AUC           float64            `json:"auc"`
	ValidationAUC map[string]float64 `json:"validation_auc"`
	// ValidationWasteSaved is each candidate's share of the waste saved on the validation
	// tail at the threshold chosen there: what the study chooses the model by.
	ValidationWasteSaved map[string]float64 `json:"validation_waste_saved"`
	Calibration          []CalibrationBin   `json:"calibration"`
	ECE                  float64            `json:"expected_calibration_error"`
	Importances          []Importance       `json:"feature_importances"`
	TrainGraphlets       int                `json:"train_graphlets"`
	// LearnedGraphlets is how many of the training period's graphlets the model learned
	// from: all of them, or Options.LearnRows drawn at random.
	LearnedGraphlets int       `json:"learned_graphlets"`
	EvalGraphlets    int       `json:"eval_graphlets"`
	TrainFrom        time.Time `json:"train_from"`
	TrainUntil       time.Time `json:"train_until"`
	EvalUntil        time.Time `json:"eval_until"`
}

// Result is the whole study.
type Result struct {
	MaxCadenceLoss float64 `json:"max_cadence_loss"`
	// OperatingPoint is the replay at the threshold chosen in advance, from the training
	// period alone: what a team would have saved.
	OperatingPoint Outcome `json:"operating_point"`
	// Hindsight is the replay at the threshold chosen on the replayed period itself: an
	// upper bound, not a saving anyone could have planned.
	Hindsight Outcome `json:"hindsight"`
	// BestPossible is the generator's p_push with its threshold chosen as OperatingPoint's
	// is; BestPossibleHindsight as Hindsight's is.
	BestPossible          *Outcome    `json:"best_possible,omitempty"`
	BestPossibleHindsight *Outcome    `json:"best_possible_hindsight,omitempty"`
	Baselines             []Outcome   `json:"baselines"`
	Model                 ModelReport `json:"model"`
	// Sweep is the model's closed-loop replay at each threshold Search tried, in order;
	// BestPossibleSweep the generator's p_push's.
	Sweep             []Outcome `json:"sweep"`
	BestPossibleSweep []Outcome `json:"best_possible_sweep,omitempty"`
	model             Model     // the model fitted on the training period
	enc               *encoder  // its encoding
	// Decisions are the operating point's decisions, one per replayed graphlet in time order.
	Decisions []Decision `json:"-"`
}

// Decision is what the operating point decided for one replayed graphlet.
type Decision struct {
	GraphletID   int64
	PipelineID   int64
	TrainerStart time.Time
	// PPush is the model's score on the features known at the start in the store's history,
	// as advise computes it; PPushReplayed its score on the history the replay left, on which
	// the decision was made (the same unless an earlier graphlet of the pipeline was skipped).
	PPush, PPushReplayed float64
	Skipped              bool
}

var (
	// ErrTooFewGraphlets means the history is too short or too one-sided to learn from.
	ErrTooFewGraphlets = errors.New("too few graphlets to study pruning")
	// ErrNoModel means the store keeps no pruning model.
	ErrNoModel = errors.New("the store keeps no pruning model")
	// ErrNoTrainer means a pipeline has no Trainer run in the store to judge it by; advise
	// answers "train" with it as a warning.
	ErrNoTrainer = errors.New("no Trainer run to judge by")
)

// candidates are the classifiers the study chooses from, by the waste each saves on the
// validation tail of the training period (Study).
func candidates() []Model {
	return []Model{
		&Logistic{L2: 1e-3},
		&Boosted{Trees: 150, Depth: 3, Rate: 0.1, L2: 1, Bins: 32},
	}
}

// fresh returns an unfitted model of the given kind, nil for a kind mlprov does not know.
func fresh(kind string) Model {
	for _, m := range candidates() {
		if m.Kind() == kind {
			return m
		}
	}
	return nil
}

// counted says how many graphlets gs holds and how many of them pushed.
func counted(gs []Graphlet) string {
	var pos int
	for _, g := range gs {
		if g.Pushed {
			pos++
		}
	}
	return fmt.Sprintf("%d graphlets (%d pushed, %d not)", len(gs), pos, len(gs)-pos)
}

func bothClasses(gs []Graphlet) bool {
	var pos int
	for _, g := range gs {
		if g.Pushed {
			pos++
		}
	}
	return pos > 0 && pos < len(gs)
}

// Study learns on the earlier part of the history (the training period), chooses the
// threshold on the training period's last quarter, and replays the later part in closed loop
// at that threshold; it also sweeps the thresholds over the replay, for the hindsight optimum
// and the trade-off curve. Each threshold is chosen by Search, and the replays are linear in
// the graphlets, once per threshold tried.
func Study(ds *Dataset, opts Options) (*Result, error) {
	if opts.TrainFraction <= 0 || opts.TrainFraction >= 1 {
		opts.TrainFraction = 0.6
	}
	if opts.LearnRows <= 0 {
		opts.LearnRows = learnRows
	}
	if opts.MaxCadenceLoss < 0 {
		return nil, fmt.Errorf("max cadence loss %v is negative", opts.MaxCadenceLoss)
	}
	train, eval := splitByTime(ds.Graphlets, opts.TrainFraction)
	fit, valid := splitByTime(train, 0.75)
	for _, part := range [][]Graphlet{fit, valid, eval} {
		if len(part) < 10 || !bothClasses(part) {
			return nil, fmt.Errorf("%w: %s, and it needs at least 10 graphlets in each of three parts by time, each with pushed and unpushed ones: to learn from %s, to choose the threshold on %s, to replay %s",
				ErrTooFewGraphlets, counted(ds.Graphlets), counted(fit), counted(valid), counted(eval))
		}
	}

	nFit, nTrain, n := len(fit), len(train), len(ds.Graphlets)

	res := &Result{MaxCadenceLoss: opts.MaxCadenceLoss}
	res.Model.ValidationAUC, res.Model.ValidationWasteSaved = map[string]float64{}, map[string]float64{}
	enc := newEncoder(ds.Names, fit)
	validX, validY := enc.encode(valid), labels(valid)
	// The steps that do not wait for one another run side by side; each is deterministic,
	// so the result does not depend on how they interleave.
	rng := rand.New(rand.NewPCG(opts.Seed, 3))
	learn := learnFrom(fit, opts.LearnRows, rng)
	fitX, fitY := enc.encode(learn), labels(learn)
	ms := candidates()
	scores := make([][]float64, len(ms))
	together(len(ms), func(k int) {
		ms[k].Fit(fitX, fitY)
		scores[k] = predictAll(ms[k], validX)
	})
	// Each candidate's threshold is chosen on the validation tail, replayed in closed loop as
	// the candidate fitted before it scores it: nothing of the replayed period enters the
	// choice. The candidate that saves the most waste there within the bound is kept (the one
	// with the higher validation AUC among equals), and its kind learns the whole training
	// period.
	validEnd := periodEnd(valid)
	start := ds.trackerAt(nFit)
	points := make([]Outcome, len(ms))
	together(len(ms), func(k int) {
		sc := &scorer{model: ms[k], enc: enc, gs: ds.Graphlets, from: nFit, base: scores[k]}
		points[k], _ = Search(func(ts []float64) []Outcome {
			return sc.sweep("model", start, nTrain, validEnd, ts)
		}, opts.MaxCadenceLoss)
	})
	aucs := make([]float64, len(ms))
	for k, m := range ms {
		aucs[k] = AUC(scores[k], validY)
		res.Model.ValidationAUC[m.Kind()] = aucs[k]
		res.Model.ValidationWasteSaved[m.Kind()] = points[k].WasteSaved
	}
	best := choose(points, aucs)
	res.Model.Validation = points[best]
	model := fresh(ms[best].Kind())
	trainEnc := newEncoder(ds.Names, train)
	learn = learnFrom(train, opts.LearnRows, rng)
	model.Fit(trainEnc.encode(learn), labels(learn))
	threshold := *res.Model.Validation.Threshold
	res.Model.Threshold = threshold
	enc = trainEnc

	X, y := enc.encode(eval), labels(eval)
	sc := &scorer{model: model, enc: enc, gs: ds.Graphlets, from: nTrain, base: predictAll(model, X)}
	res.Model.Kind = model.Kind()
	res.Model.AUC = AUC(sc.base, y)
	res.Model.Calibration, res.Model.ECE = calibration(sc.base, y)
	res.Model.TrainGraphlets, res.Model.LearnedGraphlets, res.Model.EvalGraphlets = len(train), len(learn), len(eval)
	res.Model.TrainFrom, res.Model.TrainUntil = train[0].Start, train[len(train)-1].Start
	res.model, res.enc = model, enc
	end := periodEnd(eval)
	res.Model.EvalUntil = end

	// The replayed period, in closed loop: a skipped graphlet leaves no outcome and no
	// spans behind, and the later graphlets of its pipeline are scored on what remains.
	atEval := ds.trackerAt(nTrain)
	together(2, func(k int) {
		if k == 0 {
			res.Hindsight, res.Sweep = Search(func(ts []float64) []Outcome {
				return sc.sweep("model", atEval, n, end, ts)
			}, opts.MaxCadenceLoss)
			return
		}
		res.Model.Importances = permutationImportance(model, enc.names, X, y, opts.Seed)
	})
	skip, replayed := sc.replayAt(atEval, n, threshold)
	rp := newReplayer(eval, end)
	res.OperatingPoint = rp.replay("model", skip)
	res.OperatingPoint.Threshold, res.OperatingPoint.ChosenInAdvance = &threshold, true
	for i, g := range eval {
		res.Decisions = append(res.Decisions, Decision{GraphletID: g.ID, PipelineID: g.PipelineID, TrainerStart: g.Start,
			PPush: sc.base[i], PPushReplayed: replayed[i], Skipped: skip[i]})
	}

	none, oracle, random := make([]bool, len(eval)), make([]bool, len(eval)), make([]bool, len(eval))
	share := float64(res.OperatingPoint.Skipped) / float64(len(eval))
	rng = rand.New(rand.NewPCG(opts.Seed, 2))
	for i, g := range eval {
		oracle[i] = !g.Pushed
		random[i] = rng.Float64() < share
	}
	newSpans, known := atEval.col["new_spans"]
	noData := atEval.clone().closedLoop(nTrain, n, func(i int, x []float64) bool {
		if known {
			return x[newSpans] == 0
		}
		return ds.Graphlets[i].NewSpans == 0
	})
	res.Baselines = []Outcome{
		rp.replay("run everything", none),
		rp.replay("oracle (skip exactly the unpushed)", oracle),
		rp.replay("skip when no new data", noData),
		rp.replay(fmt.Sprintf("skip a random %.1f%%", 100*share), random),
	}
	if ds.HasGroundTruth() {
		p := make([]float64, len(eval))
		for i, g := range eval {
			p[i] = g.PPush
		}
		vp := make([]float64, len(valid))
		for i, g := range valid {
			vp[i] = g.PPush
		}
		// The generator's p_push reads no history: its replays are the same in closed loop.
		const name = "best possible (generator's p_push)"
		chosen, _ := Search(func(ts []float64) []Outcome { return Sweep(name, valid, vp, validEnd, ts) }, opts.MaxCadenceLoss)
		inAdvance := atThreshold(name, eval, p, *chosen.Threshold, end)
		res.BestPossible = &inAdvance
		var hindsight Outcome
		hindsight, res.BestPossibleSweep = Search(func(ts []float64) []Outcome { return Sweep(name, eval, p, end, ts) }, opts.MaxCadenceLoss)
		res.BestPossibleHindsight = &hindsight
	}
	return res, nil
}

// learnFrom returns the graphlets of a period a model learns from: all of them when there
// are at most limit, else limit of them drawn at random, in time order.
func learnFrom(gs []Graphlet, limit int, rng *rand.Rand) []Graphlet {
	pick := sampleRows(len(gs), limit, rng)
	if pick == nil {
		return gs
	}
	out := make([]Graphlet, len(pick))
	for k, i := range pick {
		out[k] = gs[i]
	}
	return out
}

// sampleRows returns k of the rows 0..n-1 drawn at random, in order; nil when n <= k.
func sampleRows(n, k int, rng *rand.Rand) []int {
	if n <= k {
		return nil
	}
	pick := rng.Perm(n)[:k]
	slices.Sort(pick)
	return pick
}

// choose returns which candidate to keep, given each one's operating point on the
// validation tail and its validation AUC: the one that saves the most waste, and among
// those that save as much, the one with the highest AUC (the first among equals).
func choose(points []Outcome, aucs []float64) int {
	best := 0
	for k := range points {
		d := points[k].WasteSaved - points[best].WasteSaved
		if d > 1e-12 || d > -1e-12 && aucs[k] > aucs[best] {
			best = k
		}
	}
	return best
}

// together runs do(0), ..., do(n-1) side by side and returns when all have.
func together(n int, do func(k int)) {
	var wg sync.WaitGroup
	for k := 0; k < n; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(k)
		}()
	}
	wg.Wait()
}

// each runs do(0), ..., do(n-1), as many at once as Go runs goroutines in parallel.
func each(n int, do func(i int)) {
	var next atomic.Int64
	together(runtime.GOMAXPROCS(0), func(int) {
		for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
			do(i)
		}
	})
}

// periodEnd closes a period of graphlets: its last Trainer start or push.
func periodEnd(gs []Graphlet) time.Time {
	end := gs[0].Start
	for _, g := range gs {
		end = later(end, later(g.Start, g.PushTime))
	}
	return end
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
