package prune

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Advice is the answer to a pipeline that asks, before its Trainer runs, whether to train.
type Advice struct {
	PipelineID int64     `json:"pipeline_id"`
	At         time.Time `json:"at"`
	// Decision is "train" or "skip".
	Decision string `json:"decision"`
	// PPush is the model's score; null when the pipeline has no Trainer run before At to
	// take features from.
	PPush     *float64    `json:"p_push"`
	Threshold float64     `json:"threshold"`
	Model     AdviceModel `json:"model"`
	// GraphletID is the Trainer that started at At, when one did; otherwise the features are
	// those of a Trainer starting then (Basis says from what).
	GraphletID *int64 `json:"graphlet_id,omitempty"`
	Basis      string `json:"basis"`
	// Features are the features the model read, null where unknown.
	Features map[string]*float64 `json:"features"`
	// Reasons are the features that moved the score most, largest first.
	Reasons []Reason `json:"reasons"`
	// Warnings say why the answer is "train" whatever the score: a model older than the
	// pipeline's recent history, or too little history to judge.
	Warnings []string `json:"warnings,omitempty"`
}

// AdviceModel names the model that advised.
type AdviceModel struct {
	ID            int64     `json:"model_id"`
	Kind          string    `json:"kind"`
	TrainedUntil  time.Time `json:"trained_until"`
	ValidationAUC float64   `json:"validation_auc"`
}

// Reason is one feature's share of the score: its value and how far it moved the score, in
// log-odds (negative: towards skipping).
type Reason struct {
	Feature      string   `json:"feature"`
	Value        *float64 `json:"value"`
	Contribution float64  `json:"contribution"`
}

// MinKnownOutcomes is the fewest finished training runs of a pipeline advise judges on; with
// fewer it answers "train".
const MinKnownOutcomes = 5

// Advise scores a Trainer starting at at in pipeline with the saved model m, on the store as
// it was then. When a Trainer of the pipeline did start at at, its features are read as the
// replay reads them, and the score equals its p_push in the study's decisions; otherwise they
// are those of the pipeline's last Trainer before at, with the spans created since added to
// its window and the history features as of at.
func Advise(ctx context.Context, db *sql.DB, m *SavedModel, pipeline int64, at time.Time) (*Advice, error) {
	ds, err := loadPipeline(ctx, db, pipeline)
	if err != nil {
		return nil, err
	}
	a := &Advice{PipelineID: pipeline, At: at, Threshold: m.Threshold,
		Model: AdviceModel{ID: m.ID, Kind: m.Kind, TrainedUntil: m.TrainUntil, ValidationAUC: m.Validation.AUC}}
	i := sort.Search(len(ds.Graphlets), func(i int) bool { return !ds.Graphlets[i].Start.Before(at) })
	switch {
	case i < len(ds.Graphlets) && ds.Graphlets[i].Start.Equal(at):
		id := ds.Graphlets[i].ID
		a.GraphletID = &id
		a.Basis = fmt.Sprintf("the Trainer of graphlet %d, which started at %s", id, at.Format(time.RFC3339Nano))
	case i == 0:
		// Nothing to judge by: a new pipeline trains.
		a.Decision, a.Basis = "train", "none"
		a.Warnings = append(a.Warnings, fmt.Sprintf("pipeline %d: %v before %s (it has %d in the store): too little history to judge: train",
			pipeline, ErrNoTrainer, at.Format(time.RFC3339), len(ds.Graphlets)))
		return a, nil
	default:
		last := ds.Graphlets[i-1]
		next := last
		next.ID, next.Start, next.Finished, next.Pushed, next.PushTime = 0, at, time.Time{}, false, time.Time{}
		if next.Spans, err = spansAt(ctx, db, last, at); err != nil {
			return nil, err
		}
		ds.Graphlets = append(ds.Graphlets[:i:i], next)
		ds.computeHistory()
		a.Basis = fmt.Sprintf("a Trainer starting then: graphlet %d's data, structure and code (the last Trainer before), the spans created since, the history as of then", last.ID)
	}
	m.score(a, ds, ds.Graphlets[i])
	return a, nil
}

// AdviseEach answers, for each of pipeline's graphlets in the order their Trainers started,
// what Advise answers when asked at its Trainer's start, reading the store once.
func AdviseEach(ctx context.Context, db *sql.DB, m *SavedModel, pipeline int64) ([]*Advice, error) {
	ds, err := loadPipeline(ctx, db, pipeline)
	if err != nil {
		return nil, err
	}
	out := make([]*Advice, len(ds.Graphlets))
	for i, g := range ds.Graphlets {
		id := g.ID
		a := &Advice{PipelineID: pipeline, At: g.Start, Threshold: m.Threshold, GraphletID: &id,
			Model: AdviceModel{ID: m.ID, Kind: m.Kind, TrainedUntil: m.TrainUntil, ValidationAUC: m.Validation.AUC},
			Basis: fmt.Sprintf("the Trainer of graphlet %d, which started at %s", id, g.Start.Format(time.RFC3339Nano))}
		m.score(a, ds, g)
		out[i] = a
	}
	return out, nil
}

// score fills in a's score, reasons, warnings and decision for a Trainer with g's features.
func (m *SavedModel) score(a *Advice, ds *Dataset, g Graphlet) {
	pipeline, at := a.PipelineID, a.At

	// The saved model reads its features by name, in its own order.
	x := make([]float64, len(m.enc.names))
	for j := range x {
		x[j] = math.NaN()
	}
	a.Features = map[string]*float64{}
	for j, name := range m.Encoding.Features {
		k := indexOf(ds.Names, name)
		if k >= 0 {
			x[j] = g.Features[k]
		}
		a.Features[name] = nullable(x[j])
	}
	for j, t := range m.Encoding.ModelTypes {
		x[len(m.Encoding.Features)+j] = b2f(g.ModelType == t)
	}
	p := m.model.Predict(x)
	a.PPush = &p

	c := contributions(m.model, x)
	byFeature := map[string]float64{}
	for j, name := range m.enc.names {
		if strings.HasPrefix(name, "model_type=") {
			name = "model_type"
		}
		byFeature[name] += c[j]
	}
	for name, v := range byFeature {
		r := Reason{Feature: name, Contribution: v}
		if name != "model_type" {
			r.Value = a.Features[name]
		}
		a.Reasons = append(a.Reasons, r)
	}
	sort.Slice(a.Reasons, func(p, q int) bool {
		if d := math.Abs(a.Reasons[p].Contribution) - math.Abs(a.Reasons[q].Contribution); d != 0 {
			return d > 0
		}
		return a.Reasons[p].Feature < a.Reasons[q].Feature
	})
	a.Reasons = a.Reasons[:min(3, len(a.Reasons))]

	if known := g.Features[indexOf(ds.Names, "known_outcomes")]; known < MinKnownOutcomes {
		a.Warnings = append(a.Warnings, fmt.Sprintf("pipeline %d has %v finished training runs before %s, fewer than the %d to judge by: train",
			pipeline, known, at.Format(time.RFC3339), MinKnownOutcomes))
	}
	if learned := m.TrainUntil.Sub(m.TrainFrom); at.Sub(m.TrainUntil) > learned {
		a.Warnings = append(a.Warnings, fmt.Sprintf("model %d learned until %s, longer before %s than the %s it learned from: train, and run mlprov prune again",
			m.ID, m.TrainUntil.Format(time.RFC3339), at.Format(time.RFC3339), learned.Round(time.Hour)))
	}
	a.Decision = "train"
	if p < m.Threshold && len(a.Warnings) == 0 {
		a.Decision = "skip"
	}
}

// spansAt is the window of spans a Trainer starting at at would read, after last: last's
// window, moved on by the spans the pipeline created since last started.
func spansAt(ctx context.Context, db *sql.DB, last Graphlet, at time.Time) ([]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT span FROM artifacts
		WHERE pipeline_id = ? AND span IS NOT NULL AND create_time > ? AND create_time <= ? ORDER BY span`, last.PipelineID, last.Start, at)
	if err != nil {
		return nil, fmt.Errorf("read pipeline %d's spans: %w", last.PipelineID, err)
	}
	defer rows.Close()
	spans := append([]int64(nil), last.Spans...)
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("read pipeline %d's spans: %w", last.PipelineID, err)
		}
		if len(spans) == 0 || s > spans[len(spans)-1] {
			spans = append(spans, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pipeline %d's spans: %w", last.PipelineID, err)
	}
	if n := len(last.Spans); n > 0 && len(spans) > n {
		spans = spans[len(spans)-n:]
	}
	return spans, nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func nullable(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// timeLayouts are the forms ParseTime accepts, in UTC unless they carry an offset.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"}

// ParseTime reads the time a Trainer starts, as advise is asked about it: RFC 3339, or
// 2006-01-02 15:04:05 (or a prefix of it down to the day) in UTC.
func ParseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time (want RFC 3339, such as 2024-03-01T12:00:00Z, or 2024-03-01 12:00:00)")
}
