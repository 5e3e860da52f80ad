package prune

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SavedModel is what `mlprov prune` keeps in the store's prune_models table: the model, the
// encoding of its features, the threshold chosen in advance, the period it learned from and
// its validation figures. Advise scores a Trainer with it.
type SavedModel struct {
	ID      int64     `json:"model_id"`
	SavedAt time.Time `json:"saved_at"`
	Kind    string    `json:"kind"`
	// Encoding is the order the model reads its features in.
	Encoding       Encoding   `json:"encoding"`
	Threshold      float64    `json:"threshold"`
	MaxCadenceLoss float64    `json:"max_cadence_loss"`
	TrainFrom      time.Time  `json:"train_from"`
	TrainUntil     time.Time  `json:"train_until"`
	TrainGraphlets int        `json:"train_graphlets"`
	Validation     Validation `json:"validation"`

	model Model
	enc   *encoder
}

// Encoding names the columns a model reads: the numeric features, then one indicator per
// model type seen in training.
type Encoding struct {
	Features   []string `json:"features"`
	ModelTypes []string `json:"model_types"`
}

// Validation are the figures of the model's choice and of its threshold's, inside the
// training period.
type Validation struct {
	// AUC is the chosen kind's AUC on the validation tail; AUCs every candidate's.
	AUC            float64            `json:"auc"`
	AUCs           map[string]float64 `json:"aucs"`
	OperatingPoint Outcome            `json:"operating_point"`
}

// Saved returns the study's model as the store keeps it.
func (r *Result) Saved() *SavedModel {
	return &SavedModel{
		Kind: r.Model.Kind, Encoding: Encoding{Features: r.enc.names[:r.enc.numeric], ModelTypes: r.enc.modelTypes},
		Threshold: r.Model.Threshold, MaxCadenceLoss: r.MaxCadenceLoss,
		TrainFrom: r.Model.TrainFrom, TrainUntil: r.Model.TrainUntil, TrainGraphlets: r.Model.TrainGraphlets,
		Validation: Validation{AUC: r.Model.ValidationAUC[r.Model.Kind], AUCs: r.Model.ValidationAUC, OperatingPoint: r.Model.Validation},
		model:      r.model, enc: r.enc,
	}
}

// querier is a database or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Save adds m to the store's prune_models table as its newest model and sets m.ID and
// m.SavedAt.
func Save(ctx context.Context, db querier, m *SavedModel) error {
	params, err := json.Marshal(m.model)
	if err != nil {
		return fmt.Errorf("save the pruning model: %w", err)
	}
	enc, _ := json.Marshal(m.Encoding)
	val, err := json.Marshal(m.Validation)
	if err != nil {
		return fmt.Errorf("save the pruning model: %w", err)
	}
	m.SavedAt = time.Now().UTC().Truncate(time.Microsecond)
	err = db.QueryRowContext(ctx, `INSERT INTO prune_models
		SELECT coalesce(max(model_id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM prune_models RETURNING model_id`,
		m.SavedAt, m.Kind, string(params), string(enc), m.Threshold, m.MaxCadenceLoss, m.TrainFrom, m.TrainUntil, m.TrainGraphlets, string(val)).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("save the pruning model: %w", err)
	}
	return nil
}

// Latest reads the newest model of the store's prune_models table; ErrNoModel when there is none.
func Latest(ctx context.Context, db *sql.DB) (*SavedModel, error) {
	var m SavedModel
	var params, enc, val string
	err := db.QueryRowContext(ctx, `SELECT model_id, saved_at, kind, model::VARCHAR, encoding::VARCHAR, threshold, max_cadence_loss,
		train_from, train_until, train_graphlets, validation::VARCHAR FROM prune_models ORDER BY model_id DESC LIMIT 1`).Scan(
		&m.ID, &m.SavedAt, &m.Kind, &params, &enc, &m.Threshold, &m.MaxCadenceLoss, &m.TrainFrom, &m.TrainUntil, &m.TrainGraphlets, &val)
	if err == sql.ErrNoRows {
		return nil, ErrNoModel
	}
	if err != nil {
		return nil, fmt.Errorf("read the pruning model: %w", err)
	}
	if err := json.Unmarshal([]byte(enc), &m.Encoding); err != nil {
		return nil, fmt.Errorf("read pruning model %d's encoding: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(val), &m.Validation); err != nil {
		return nil, fmt.Errorf("read pruning model %d's validation: %w", m.ID, err)
	}
	if m.model = fresh(m.Kind); m.model == nil {
		return nil, fmt.Errorf("read pruning model %d: unknown kind %q: upgrade mlprov", m.ID, m.Kind)
	}
	if err := json.Unmarshal([]byte(params), m.model); err != nil {
		return nil, fmt.Errorf("read pruning model %d: %w", m.ID, err)
	}
	m.enc = &encoder{numeric: len(m.Encoding.Features), modelTypes: m.Encoding.ModelTypes, names: append([]string(nil), m.Encoding.Features...)}
	for _, t := range m.Encoding.ModelTypes {
		m.enc.names = append(m.enc.names, "model_type="+t)
	}
	return &m, nil
}

// NoModelError explains ErrNoModel for a store: it wraps ErrNoModel and says how many
// graphlets the study would learn from, so that the reader knows whether running it is worth it.
func NoModelError(ctx context.Context, db *sql.DB) error {
	var n, pushed int64
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE pushed) FROM graphlets WHERE trainer_start IS NOT NULL`).Scan(&n, &pushed); err != nil {
		return fmt.Errorf("count the graphlets: %w", err)
	}
	return fmt.Errorf("%w: advise scores with the model the pruning study keeps, which learns from the store's %d graphlets (%d pushed, %d not)",
		ErrNoModel, n, pushed, n-pushed)
}

// ErrNoStudy means the store keeps no pruning study made from what was asked.
var ErrNoStudy = errors.New("the store keeps no pruning study made from this")

// SaveStudy keeps the study res in the store, in one transaction: its model as the newest in
// prune_models (Save), and the result in prune_studies under madeFrom, which says what the
// study was made from (StudyOf finds it by it). It returns the model kept.
func SaveStudy(ctx context.Context, db *sql.DB, res *Result, madeFrom string) (*SavedModel, error) {
	if res.model == nil {
		return nil, errors.New("save the pruning study: a study read from the store is kept there already")
	}
	study, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("save the pruning study: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("save the pruning study: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, ErrTxDone: nothing to undo
	m := res.Saved()
	if err := Save(ctx, tx, m); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO prune_studies VALUES (?, ?, ?)`, m.ID, madeFrom, string(study)); err != nil {
		return nil, fmt.Errorf("save the pruning study: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("save the pruning study: %w", err)
	}
	return m, nil
}

// StudyOf reads the newest study the store keeps that was made from madeFrom, and the id of
// its model; ErrNoStudy when there is none. The result read has no decisions (Decisions) and
// cannot be kept again.
func StudyOf(ctx context.Context, db *sql.DB, madeFrom string) (*Result, int64, error) {
	var id int64
	var study string
	err := db.QueryRowContext(ctx, `SELECT model_id, study::VARCHAR FROM prune_studies WHERE made_from = ? ORDER BY model_id DESC LIMIT 1`,
		madeFrom).Scan(&id, &study)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrNoStudy
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read the pruning study: %w", err)
	}
	var res Result
	if err := json.Unmarshal([]byte(study), &res); err != nil {
		return nil, 0, fmt.Errorf("read the pruning study of model %d: %w", id, err)
	}
	return &res, id, nil
}
