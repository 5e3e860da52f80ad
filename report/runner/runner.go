// Package runner runs on a store everything a report shows: every canned analysis and the
// pruning study, with the study's figure in the headline and its sections after the
// analyses. It is the report as a library call: Run gives the report.Input that report.Write
// renders.
//
// It is a package of its own, not part of report, because it needs the engine, and with it
// DuckDB; the renderer in report needs neither, so that a program can render results it
// got elsewhere without linking a database.
package runner

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/prune"
	"mlprov/report"
)

// The pruning study's parameters when no one chooses them, as a report runs it.
const (
	DefaultMaxCadenceLoss = 0.01
	DefaultTrainFraction  = 0.6
	DefaultSeed           = 1
)

// PruneOptions set up the pruning study.
type PruneOptions struct {
	// MaxCadenceLoss is the largest share of pushes the chosen operating point may lose.
	MaxCadenceLoss float64
	// TrainFraction is the share of the window (by time) to learn from; the rest is replayed.
	TrainFraction float64
	// Seed seeds the random baseline and the importances.
	Seed uint64
	// GroundTruth is a generated corpus's ground_truth.jsonl, for the best possible
	// predictor; empty looks for one beside the store's source (see FindGroundTruth).
	GroundTruth string
}

// DefaultPruneOptions are the options a report runs the study with.
func DefaultPruneOptions() PruneOptions {
	return PruneOptions{MaxCadenceLoss: DefaultMaxCadenceLoss, TrainFraction: DefaultTrainFraction, Seed: DefaultSeed}
}

// Options configure Run.
type Options struct {
	// Params are recorded in the report's manifest.json beside the study's parameters, such
	// as the command's flags.
	Params map[string]any
	// Progress, when set, receives a short line per step.
	Progress func(step string)
	// Study, when set, receives the pruning study the report shows, run or reused, so that
	// a caller whose store is read-only can keep it once it may write (KeepStudy).
	Study func(*Study)
}

// Study is a pruning study as a report uses it.
type Study struct {
	Result *prune.Result
	// MadeFrom says what the study was made from (StudyMadeFrom); empty when the store
	// cannot tell, and then the study is neither reused nor kept.
	MadeFrom string
	// Kept says the store keeps the study already: it was reused, or kept when it ran.
	Kept bool
	// ModelID is its model in the store's prune_models when Kept.
	ModelID int64
}

// studyVersion is part of what a kept study was made from: raise it when a change to the
// study changes its figures, so that no report reuses a study an older mlprov made.
const studyVersion = 3

// StudyMadeFrom says what a study of e with opts is made from, as the store keeps it beside
// the study: the checksums of the tables the derived tables were last derived from (which
// every load and refresh updates), the options, the ground truth file (its path, size and
// modification time) and the study's version. It is empty for a store that recorded no
// derivation.
func StudyMadeFrom(ctx context.Context, e *engine.Engine, opts PruneOptions) (string, error) {
	var derived string
	err := e.DB().QueryRowContext(ctx, `SELECT value FROM mlprov_meta WHERE key = 'derived_from'`).Scan(&derived)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read what the store was derived from: %w", err)
	}
	from := map[string]any{"derived_from": json.RawMessage(derived), "study_version": studyVersion,
		"max_cadence_loss": opts.MaxCadenceLoss, "train_fraction": opts.TrainFraction, "seed": opts.Seed}
	truth := opts.GroundTruth
	if truth == "" {
		truth = FindGroundTruth(ctx, e)
	}
	if truth != "" {
		fi, err := os.Stat(truth)
		if err != nil {
			return "", fmt.Errorf("ground truth: %w", err)
		}
		from["ground_truth"] = map[string]any{"path": truth, "size": fi.Size(), "modified": fi.ModTime().UTC()}
	}
	b, err := json.Marshal(from)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// KeptStudy returns the study of e with opts that the store keeps, made from the store as
// it is; nil when it keeps none.
func KeptStudy(ctx context.Context, e *engine.Engine, opts PruneOptions) (*Study, error) {
	from, err := StudyMadeFrom(ctx, e, opts)
	if err != nil || from == "" {
		return nil, err
	}
	res, id, err := prune.StudyOf(ctx, e.DB(), from)
	if errors.Is(err, prune.ErrNoStudy) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Study{Result: res, MadeFrom: from, Kept: true, ModelID: id}, nil
}

// RunStudy runs the study of e with opts (Prune) and says what it was made from.
func RunStudy(ctx context.Context, e *engine.Engine, opts PruneOptions) (*Study, error) {
	from, err := StudyMadeFrom(ctx, e, opts)
	if err != nil {
		return nil, err
	}
	res, err := Prune(ctx, e, opts)
	if err != nil {
		return nil, err
	}
	return &Study{Result: res, MadeFrom: from}, nil
}

// KeepStudy keeps a study that ran in e's store (which must be writable): its model, for
// advise, and the study, for the reports that follow (prune.SaveStudy). It returns the model.
func KeepStudy(ctx context.Context, e *engine.Engine, s *Study) (*prune.SavedModel, error) {
	m, err := prune.SaveStudy(ctx, e.DB(), s.Result, s.MadeFrom)
	if err != nil {
		return nil, err
	}
	s.Kept, s.ModelID = true, m.ID
	return m, nil
}

// Run runs every canned analysis and the pruning study (with DefaultPruneOptions) on e and
// returns what the report shows, for report.Write; the caller sets the Input's Version and
// Progress. A study the store keeps, made from the store as it is with the same options
// (KeptStudy), is reused instead of run again; a study that ran is left to the caller to
// keep (Options.Study, KeepStudy). A store too small for the study gets a pruning section
// that says why, and a headline figure "not run: REASON"; any other failure of the study is
// an error. Run stops when ctx is cancelled.
func Run(ctx context.Context, e *engine.Engine, opts Options) (*report.Input, error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	as, err := engine.Analyses()
	if err != nil {
		return nil, err
	}
	info, err := e.Info(ctx)
	if err != nil {
		return nil, err
	}
	in := &report.Input{Fingerprint: info.Fingerprint, Seed: info.Seed, Sources: info.Sources, Params: map[string]any{}}
	for k, v := range opts.Params {
		in.Params[k] = v
	}
	var trainings int64
	if err := e.DB().QueryRowContext(ctx, "SELECT count(*) FROM trainers").Scan(&trainings); err != nil {
		return nil, fmt.Errorf("count the training runs: %w", err)
	}
	in.NoTrainingRuns = trainings == 0

	// The study comes first: the headline shows its figure. A study the store keeps, made
	// from the store as it is, is reused.
	popts := DefaultPruneOptions()
	t := time.Now()
	study, err := KeptStudy(ctx, e, popts)
	switch {
	case err != nil:
		return nil, fmt.Errorf("pruning study: %w", err)
	case study != nil:
		progress(fmt.Sprintf("reused the pruning study kept with pruning model %d: the store has not changed since", study.ModelID))
	default:
		study, err = RunStudy(ctx, e, popts)
		if err == nil {
			progress(fmt.Sprintf("ran the pruning study in %s", time.Since(t).Round(time.Millisecond)))
		}
	}
	var pruning []catalog.Analysis
	figure := PruneFigure{MaxCadenceLoss: popts.MaxCadenceLoss}
	switch {
	case errors.Is(err, prune.ErrTooFewGraphlets):
		progress(fmt.Sprintf("pruning study skipped: %v", err))
		// The headline says the study did not run; its section says why in full.
		figure.NotRun = prune.ErrTooFewGraphlets.Error()
		pruning = []catalog.Analysis{prunedNothing(err, in.NoTrainingRuns)}
	case err != nil:
		return nil, fmt.Errorf("pruning study: %w", err)
	default:
		if opts.Study != nil {
			opts.Study(study)
		}
		figure.WasteSaved = &study.Result.OperatingPoint.WasteSaved
		pruning = PruneSections(study.Result)
		in.Params["prune"] = map[string]any{"max_cadence_loss": popts.MaxCadenceLoss, "train_fraction": popts.TrainFraction, "seed": popts.Seed}
	}

	for i, a := range as {
		t := time.Now()
		var res *render.Result
		if a.Name == report.HeadlineName {
			res, err = Headline(ctx, e, figure)
		} else {
			res, err = RunAnalysis(ctx, e, a.Name)
		}
		if err != nil {
			return nil, err
		}
		progress(fmt.Sprintf("ran %s (%d/%d): %d rows in %s", a.Name, i+1, len(as), len(res.Rows), time.Since(t).Round(time.Millisecond)))
		a.Result = res
		in.Analyses = append(in.Analyses, a)
	}
	in.Analyses = append(in.Analyses, pruning...)
	return in, nil
}

// RunAnalysis runs the canned analysis called name on e and reads its whole result.
func RunAnalysis(ctx context.Context, e *engine.Engine, name string) (*render.Result, error) {
	rows, err := e.RunAnalysis(ctx, name)
	if err != nil {
		return nil, err
	}
	return read(name, rows)
}

func read(name string, rows *sql.Rows) (*render.Result, error) {
	defer rows.Close()
	res, err := render.Read(rows)
	if err != nil {
		return nil, fmt.Errorf("analysis %s: %w", name, err)
	}
	return res, nil
}

// PruneFigure is the pruning study's figure in the headline.
type PruneFigure struct {
	// MaxCadenceLoss is the bound the study held the pushes lost to.
	MaxCadenceLoss float64
	// WasteSaved is the share of the wasted compute the operating point saves; nil when the
	// study did not run.
	WasteSaved *float64
	// NotRun says why the study did not run, when it did not.
	NotRun string
}

// Headline runs the headline analysis (sql/analyses/headline.sql) with the pruning study's
// figure, which it reads from the DuckDB variables pruning_max_cadence_loss,
// pruning_waste_saved and pruning_not_run. They are set on a connection of its own and
// reset before the connection goes back to the pool; without them (mlprov analyze headline)
// the headline has no pruning row.
func Headline(ctx context.Context, e *engine.Engine, f PruneFigure) (res *render.Result, err error) {
	conn, err := e.DB().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("analysis %s: %w", report.HeadlineName, err)
	}
	defer conn.Close()
	vars := []struct {
		name  string
		value any
	}{{"pruning_max_cadence_loss", f.MaxCadenceLoss}, {"pruning_waste_saved", f.WasteSaved}, {"pruning_not_run", f.NotRun}}
	defer func() {
		for _, v := range vars {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "RESET VARIABLE "+v.name); rerr != nil && err == nil {
				err = fmt.Errorf("analysis %s: %w", report.HeadlineName, rerr)
			}
		}
	}()
	for _, v := range vars {
		if _, err := conn.ExecContext(ctx, "SET VARIABLE "+v.name+" = ?", v.value); err != nil {
			return nil, fmt.Errorf("analysis %s: set %s: %w", report.HeadlineName, v.name, err)
		}
	}
	rows, err := e.RunAnalysisOn(ctx, conn, report.HeadlineName)
	if err != nil {
		return nil, err
	}
	return read(report.HeadlineName, rows)
}

// Prune loads the store's graphlet features, attaches the generator's ground truth when
// there is one, and runs the pruning study. It returns prune.ErrTooFewGraphlets for a store
// too small to study.
func Prune(ctx context.Context, e *engine.Engine, opts PruneOptions) (*prune.Result, error) {
	path := opts.GroundTruth
	if path == "" {
		path = FindGroundTruth(ctx, e)
	}
	// The ground truth is read beside the features.
	var truth prune.GroundTruth
	read := make(chan error, 1)
	go func() {
		var err error
		if path != "" {
			truth, err = prune.ReadGroundTruth(path)
		}
		read <- err
	}()
	ds, err := prune.Load(ctx, e.DB())
	if rerr := <-read; err == nil && rerr != nil {
		err = fmt.Errorf("ground truth: %w", rerr)
	}
	if err != nil {
		return nil, err
	}
	if path != "" {
		n := ds.AttachGroundTruth(truth)
		if opts.GroundTruth != "" && n < len(ds.Graphlets) {
			return nil, fmt.Errorf("ground truth %s covers %d of %d graphlets: is it this store's corpus?", path, n, len(ds.Graphlets))
		}
	}
	return prune.Study(ds, prune.Options{TrainFraction: opts.TrainFraction, MaxCadenceLoss: opts.MaxCadenceLoss, Seed: opts.Seed})
}

// FindGroundTruth returns the ground_truth.jsonl that `mlprov gen` wrote beside the store's
// only source, if there is exactly one such source. An MLMD store counts only as the store's
// only source: its ids match the ground truth's only when the loader shifted them by nothing.
func FindGroundTruth(ctx context.Context, e *engine.Engine) string {
	rows, err := e.DB().QueryContext(ctx, `SELECT kind, uri, (SELECT count(*) FROM sources) FROM sources WHERE kind IN (?, ?)`, engine.FormatNative, engine.FormatMLMD)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var kind, uri string
		var sources int
		if rows.Scan(&kind, &uri, &sources) != nil {
			continue
		}
		dir := uri
		if kind == engine.FormatMLMD {
			if sources > 1 {
				continue
			}
			dir = filepath.Dir(uri)
		}
		p := filepath.Join(dir, "ground_truth.jsonl")
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		}
	}
	if rows.Err() != nil || len(found) != 1 {
		return ""
	}
	return found[0]
}

// Learned says how many graphlets a study's model learned from: "N graphlets", or "a sample of
// N of the M graphlets" of a training period larger than the study learns from whole.
func Learned(m prune.ModelReport) string {
	if m.LearnedGraphlets < m.TrainGraphlets {
		return fmt.Sprintf("a sample of %d of the %d graphlets", m.LearnedGraphlets, m.TrainGraphlets)
	}
	return fmt.Sprintf("%d graphlets", m.TrainGraphlets)
}

// PruneSections presents the study as report sections: the policies compared, the trade-off
// curves of the model and of the best possible predictor, and the features that mattered.
func PruneSections(res *prune.Result) []catalog.Analysis {
	summary := &render.Result{Columns: []string{"policy", "threshold", "skipped", "waste_saved", "compute_saved", "pushes_lost", "pushes_per_pipeline_day", "baseline_pushes_per_pipeline_day", "staleness_added_hours_mean", "staleness_added_hours_p95"}}
	add := func(o prune.Outcome) {
		var th any
		if o.Threshold != nil {
			th = *o.Threshold
		}
		summary.Rows = append(summary.Rows, []any{o.Name, th, int64(o.Skipped), o.WasteSaved, o.ComputeSaved, o.PushesLost,
			o.PushesPerPipelineDay, o.BaselinePushesPerPipelineDay, o.StalenessAddedHoursMean, o.StalenessAddedHoursP95})
	}
	for _, o := range PrunePolicies(res) {
		add(o)
	}
	curve := &render.Result{Columns: []string{"policy", "threshold", "pushes_lost", "waste_saved"}}
	for _, sweep := range [][]prune.Outcome{res.Sweep, res.BestPossibleSweep} {
		for _, o := range sweep {
			curve.Rows = append(curve.Rows, []any{o.Name, *o.Threshold, o.PushesLost, o.WasteSaved})
		}
	}
	imp := &render.Result{Columns: []string{"feature", "auc_drop"}}
	for _, i := range res.Model.Importances {
		imp.Rows = append(imp.Rows, []any{i.Feature, i.AUCDrop})
	}
	m := res.Model
	return []catalog.Analysis{
		{Name: "pruning", Topic: "waste", Result: summary, Plot: catalog.Plot{Kind: "none"},
			Description: fmt.Sprintf("Skipping the graphlets predicted not to push: a %s learned from %s (AUC %.3f on the %d replayed), against baselines; shares are fractions",
				m.Kind, Learned(m), m.AUC, m.EvalGraphlets)},
		{Name: "pruning_tradeoff", Topic: "waste", Result: curve, Plot: catalog.Plot{Kind: "line", X: "pushes_lost", Y: "waste_saved", Series: "policy"},
			Description: "Waste saved against pushes lost as the skipping threshold rises, for the model and the best possible predictor"},
		{Name: "pruning_features", Topic: "causes", Result: imp, Plot: catalog.Plot{Kind: "bar", X: "feature", Y: "auc_drop"},
			Description: "What the pruning model relies on: the AUC it loses when a feature's values are shuffled"},
	}
}

// PrunePolicies are the study's policies as a table lists them, each named for what it is:
// the operating point and the best possible predictor with their thresholds chosen in
// advance, the same with thresholds chosen in hindsight (upper bounds), then the baselines.
func PrunePolicies(res *prune.Result) []prune.Outcome {
	bound := fmt.Sprintf("%.1f%%", 100*res.MaxCadenceLoss)
	op := res.OperatingPoint
	op.Name = fmt.Sprintf("operating point of the %s (chosen in advance for pushes lost <= %s)", res.Model.Kind, bound)
	hs := res.Hindsight
	hs.Name = fmt.Sprintf("hindsight: %s, threshold chosen on the replay (an upper bound)", res.Model.Kind)
	out := []prune.Outcome{op}
	if res.BestPossible != nil {
		b := *res.BestPossible
		b.Name += ", chosen in advance"
		out = append(out, b)
	}
	out = append(out, hs)
	if res.BestPossibleHindsight != nil {
		b := *res.BestPossibleHindsight
		b.Name = "hindsight: " + b.Name + " (an upper bound)"
		out = append(out, b)
	}
	return append(out, res.Baselines...)
}

// prunedNothing is the pruning section of a store too small to study: it says why, and what
// would fill it, instead of leaving the section out.
func prunedNothing(err error, noTrainingRuns bool) catalog.Analysis {
	fill := "a store with more history would fill it"
	if noTrainingRuns {
		fill = "mapping the store's training jobs to category train in op_categories would fill it (see the headline)"
	}
	return catalog.Analysis{
		Name: "pruning", Topic: "waste", Plot: catalog.Plot{Kind: "none"}, Result: &render.Result{},
		Description: "Skipping the graphlets predicted not to push: a model learned on the older graphlets, replayed on the newer ones, against baselines",
		Note:        fmt.Sprintf("Nothing to show: %v; %s.", err, fill),
	}
}
