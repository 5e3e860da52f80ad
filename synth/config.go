// Package synth generates synthetic provenance corpora that behave like the production TFX
// pipelines of the SIGMOD 2021 study: each pipeline draws a profile from heavy-tailed
// distributions (lifespan, span cadence, trigger policy, rolling window, model type, topology,
// failure and change rates, data size, drift), then runs like a TFX pipeline, one execution at a
// time, writing executions, artifacts and events in mlprov's native layout. Whether a model is
// pushed follows a hidden mechanism whose probability goes to a side file, never into the store.
//
// Corpus-level figures (trained models, retrainings per day, push rate) are not written in
// anywhere: they emerge from the per-pipeline mechanisms and are measured back with SQL. The
// draws that decide how much a pipeline trains and how much of its data drifts take their
// quantiles from a low-discrepancy sequence over the pipelines (quantile.go), so that every
// corpus covers the heavy tails evenly.
package synth

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// PaperPipelines is the number of pipelines of the paper's corpus, which --scale 1 generates.
const PaperPipelines = 3000

// DefaultSeed is the seed used when none is given, so that two runs give the same corpus.
const DefaultSeed uint64 = 20210620

// LogNormal is a heavy-tailed positive distribution given by its median and the standard
// deviation of its logarithm.
type LogNormal struct {
	Median float64
	Sigma  float64
}

func (d LogNormal) draw(r *rand.Rand) float64 {
	return d.Median * math.Exp(d.Sigma*r.NormFloat64())
}

// Weighted is one choice of a discrete distribution with its relative weight.
type Weighted[T any] struct {
	Value  T
	Weight float64
}

func pick[T any](r *rand.Rand, ws []Weighted[T]) T {
	total := 0.0
	for _, w := range ws {
		total += w.Weight
	}
	u := r.Float64() * total
	for _, w := range ws {
		if u < w.Weight {
			return w.Value
		}
		u -= w.Weight
	}
	return ws[len(ws)-1].Value
}

// ModelType is a family of models a Trainer can fit: it scales training cost and nudges
// the chance that a model is blessed.
type ModelType struct {
	Name string
	// CostFactor multiplies the Trainer's and the Evaluator's compute.
	CostFactor float64
	// PushEffect is added to the log-odds of blessing (small by design: the paper found model
	// type a weak cause of not pushing).
	PushEffect float64
}

// Push holds the hidden mechanism that decides whether a trained model is blessed, validated
// and pushed. Each Trainer execution gets log-odds of blessing
//
//	z = base(pipeline) − Drift·max(0, drift − DriftFloor) − Structure·e^(−n/StructureRuns)
//	    − Code·[code changed] − Config·[config changed] − Schema·[schema changed]
//	    − NoNewData·[no new span] − Anomalies·[anomalies] + model type effect + N(0, Noise)
//
// where drift is the largest drift of the spans ingested since the trainer's previous run and
// n counts the trainer's runs since the last structure change. The probability of a push is
// then the chance of passing every step: the Trainer, Evaluator, InfraValidator and Pusher not
// failing, the Evaluator blessing (sigmoid z) and the InfraValidator blessing.
type Push struct {
	// BaseMean and BaseSD give each pipeline its baseline log-odds, drawn once: some teams
	// ship almost every model, others rarely.
	BaseMean      float64
	BaseSD        float64
	Drift         float64
	DriftFloor    float64
	Structure     float64
	StructureRuns float64
	Code          float64
	Config        float64
	Schema        float64
	NoNewData     float64
	Anomalies     float64
	Noise         float64
	// InfraRejects is the chance that InfraValidator rejects a model, and StructureInfra the
	// extra chance just after a structure change (new serving setups break).
	InfraRejects   float64
	StructureInfra float64
}

// Config describes a corpus: its size, its window and the distributions each pipeline's
// profile is drawn from. DefaultConfig documents the calibrated defaults.
type Config struct {
	// Pipelines is the number of pipelines; Days the length of the window; Start its first
	// instant; Seed makes the corpus reproducible (same seed and config, same bytes).
	Pipelines int
	Days      int
	Start     time.Time
	Seed      uint64

	// AlreadyRunning is the share of pipelines active when the window opens; the others start
	// uniformly inside it. Lifespan is how long a pipeline runs, cut by the window's end.
	AlreadyRunning float64
	LifespanDays   LogNormal

	// SpanCadence is how often a new data span lands. Trigger is the policy that starts a run:
	// "every_span", "every_k_spans" (k drawn from EveryK), or "schedule" (every SchedulePeriod,
	// with or without new data). WindowSpans is the rolling window Transform and Trainer read.
	SpanCadence    []Weighted[time.Duration]
	Trigger        []Weighted[string]
	EveryK         []Weighted[int]
	SchedulePeriod []Weighted[time.Duration]
	WindowSpans    LogNormal
	MaxWindowSpans int

	// ModelTypes and Trainers (how many trainers share the pipeline's data).
	ModelTypes []Weighted[ModelType]
	Trainers   []Weighted[int]

	// Topology: the chance that a pipeline has each optional component, and how often the
	// Tuner re-tunes (in Trainer runs).
	Transform, ExampleValidator, InfraValidator, Tuner, CustomPre, CustomPost float64
	TuneEveryRuns                                                             LogNormal

	// WarmStart is the share of pipelines whose Trainers start from their previous model;
	// Caching the share with TFX's execution cache on.
	WarmStart float64
	Caching   float64

	// SpanBytes is the size of one span of data; CostNoise the per-execution spread of compute
	// around the operator's cost model; PipelineCost the per-pipeline spread.
	SpanBytes    LogNormal
	CostNoise    float64
	PipelineCost float64

	// FailureRate is a pipeline's chance that one execution fails; Retries how many times a
	// failed data or training step is retried.
	FailureRate LogNormal
	MaxFailure  float64
	Retries     int

	// Change rates per day, per pipeline: code (code_version), config (config_hash),
	// structure (a component added or removed) and schema (a new Schema).
	CodeChangesPerDay, ConfigChangesPerDay, StructureChangesPerDay, SchemaChangesPerDay LogNormal

	// Drift: a span's drift is DriftNoise·|N(0,1)| plus, during a drift episode, a level drawn
	// uniformly in DriftLevel. Episodes start at DriftEpisodesPerDay and last DriftEpisodeDays.
	// A drift episode forces a new schema with chance SchemaOnDrift.
	DriftNoise          LogNormal
	DriftEpisodesPerDay LogNormal
	DriftEpisodeDays    LogNormal
	DriftLevel          [2]float64
	SchemaOnDrift       float64

	Push Push
}

// DefaultConfig returns the calibrated defaults for a corpus of the given number of pipelines
// over the paper's 130-day window. At 3000 pipelines a corpus holds, averaged over seeds, about
// 490K Trainer runs, 7.3 retrainings per pipeline per day, 1% of pipelines above 100 a day and
// 35% of Trainer runs not pushed; from 300 pipelines on, every corpus stays within 35% of the
// paper's figures scaled to its size (docs/corpus.md, make calibrate).
func DefaultConfig(pipelines int) Config {
	h := time.Hour
	return Config{
		Pipelines: pipelines,
		Days:      130,
		Start:     time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Seed:      DefaultSeed,

		AlreadyRunning: 0.3,
		LifespanDays:   LogNormal{Median: 16, Sigma: 1.0},

		SpanCadence: []Weighted[time.Duration]{
			{10 * time.Minute, 0.9}, {30 * time.Minute, 1.5}, {h, 3}, {2 * h, 3}, {4 * h, 8},
			{6 * h, 12}, {12 * h, 16}, {24 * h, 35}, {48 * h, 6}, {168 * h, 7},
		},
		Trigger:        []Weighted[string]{{"every_span", 65}, {"every_k_spans", 20}, {"schedule", 15}},
		EveryK:         []Weighted[int]{{2, 50}, {3, 25}, {4, 15}, {6, 10}},
		SchedulePeriod: []Weighted[time.Duration]{{h, 10}, {4 * h, 15}, {6 * h, 15}, {12 * h, 20}, {24 * h, 35}, {168 * h, 5}},
		WindowSpans:    LogNormal{Median: 4, Sigma: 0.9},
		MaxWindowSpans: 30,

		ModelTypes: []Weighted[ModelType]{
			{ModelType{"linear", 0.4, 0.15}, 20},
			{ModelType{"gbdt", 1.0, 0.10}, 30},
			{ModelType{"dnn", 3.0, -0.15}, 35},
			{ModelType{"wide_deep", 2.2, -0.10}, 10},
			{ModelType{"ensemble", 4.0, 0.0}, 5},
		},
		Trainers: []Weighted[int]{{1, 76}, {2, 12}, {3, 5}, {4, 3}, {6, 2}, {8, 1.2}, {12, 0.8}},

		Transform: 0.7, ExampleValidator: 0.75, InfraValidator: 0.3, Tuner: 0.1, CustomPre: 0.1, CustomPost: 0.1,
		TuneEveryRuns: LogNormal{Median: 20, Sigma: 0.6},

		WarmStart: 0.3,
		Caching:   0.6,

		SpanBytes:    LogNormal{Median: 1e8, Sigma: 1.5},
		CostNoise:    0.35,
		PipelineCost: 0.5,

		FailureRate: LogNormal{Median: 0.01, Sigma: 0.8},
		MaxFailure:  0.2,
		Retries:     2,

		CodeChangesPerDay:      LogNormal{Median: 0.08, Sigma: 0.8},
		ConfigChangesPerDay:    LogNormal{Median: 0.08, Sigma: 0.8},
		StructureChangesPerDay: LogNormal{Median: 0.1, Sigma: 0.8},
		SchemaChangesPerDay:    LogNormal{Median: 0.03, Sigma: 0.8},

		DriftNoise:          LogNormal{Median: 0.03, Sigma: 0.5},
		DriftEpisodesPerDay: LogNormal{Median: 0.42, Sigma: 0.2},
		DriftEpisodeDays:    LogNormal{Median: 1, Sigma: 0.2},
		DriftLevel:          [2]float64{0.15, 0.6},
		SchemaOnDrift:       0.3,

		Push: Push{
			BaseMean:       3.4,
			BaseSD:         0.3,
			Drift:          24,
			DriftFloor:     0.1,
			Structure:      6,
			StructureRuns:  2,
			Code:           0.35,
			Config:         0.25,
			Schema:         0.6,
			NoNewData:      0.9,
			Anomalies:      0.1,
			Noise:          0.3,
			InfraRejects:   0.03,
			StructureInfra: 0.25,
		},
	}
}

// ScalePipelines is the number of pipelines of a corpus at the given fraction of the paper's.
func ScalePipelines(scale float64) int {
	return int(math.Round(scale * PaperPipelines))
}

// ErrConfig reports a configuration that cannot generate a corpus.
var ErrConfig = errors.New("invalid corpus configuration")

// Validate checks the parts of a Config that a user sets.
func (c Config) Validate() error {
	switch {
	case c.Pipelines < 1:
		return fmt.Errorf("%w: need at least 1 pipeline (got %d)", ErrConfig, c.Pipelines)
	case c.Days < 1:
		return fmt.Errorf("%w: need a window of at least 1 day (got %d)", ErrConfig, c.Days)
	case len(c.SpanCadence) == 0 || len(c.Trigger) == 0 || len(c.EveryK) == 0 || len(c.SchedulePeriod) == 0 ||
		len(c.ModelTypes) == 0 || len(c.Trainers) == 0:
		return fmt.Errorf("%w: empty profile distribution", ErrConfig)
	}
	for _, t := range c.Trigger {
		if t.Value != "every_span" && t.Value != "every_k_spans" && t.Value != "schedule" {
			return fmt.Errorf("%w: unknown trigger %q (want every_span, every_k_spans or schedule)", ErrConfig, t.Value)
		}
	}
	return nil
}
