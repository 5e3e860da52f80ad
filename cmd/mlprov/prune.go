package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/engine/prune"
	"mlprov/internal/plot"
	"mlprov/internal/render"
)

type pruneOptions struct {
	db             string
	maxCadenceLoss float64
	trainFraction  float64
	groundTruth    string
	seed           uint64
	json           bool
	out            string
}

// pruneCmd is `mlprov prune`: the pruning study over the store's graphlets.
type pruneCmd struct {
	*cli
	opts pruneOptions
}

func (c *pruneCmd) Run(ctx context.Context, args []string) error {
	fs := c.flags("prune", "mlprov prune [--db FILE] [--max-cadence-loss 0.01] [--train-fraction 0.6] [--ground-truth FILE] [--seed N] [--json] [--out DIR]")
	c.dbFlag(fs, &c.opts.db)
	fs.Float64Var(&c.opts.maxCadenceLoss, "max-cadence-loss", 0.01, "the largest share of pushes the chosen operating point may lose")
	fs.Float64Var(&c.opts.trainFraction, "train-fraction", 0.6, "the share of the window (by time) to learn from; the rest is replayed")
	fs.StringVar(&c.opts.groundTruth, "ground-truth", "", "a generated corpus's ground_truth.jsonl, for the best possible predictor (found beside a generated source by default)")
	fs.Uint64Var(&c.opts.seed, "seed", 1, "seed of the random baseline and the importances")
	fs.BoolVar(&c.opts.json, "json", false, "print the result as one JSON object")
	fs.StringVar(&c.opts.out, "out", "", "also write prune.json and the plots to DIR")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("prune", "unexpected argument %q", fs.Arg(0))
	}
	if c.opts.maxCadenceLoss < 0 || c.opts.maxCadenceLoss > 1 {
		return usagef("prune", "--max-cadence-loss %v is not a share in [0, 1]", c.opts.maxCadenceLoss)
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := runPruneStudy(ctx, e, c.opts)
	if err != nil {
		return err
	}
	if c.opts.out != "" {
		if err := writePruneFiles(c.opts.out, res); err != nil {
			return err
		}
	}
	if c.opts.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return printPrune(c.stdout, res)
}

// runPruneStudy loads the features, attaches the generator's ground truth when there is
// one, and runs the study.
func runPruneStudy(ctx context.Context, e *engine.Engine, opts pruneOptions) (*prune.Result, error) {
	ds, err := prune.Load(ctx, e.DB())
	if err != nil {
		return nil, err
	}
	truth := opts.groundTruth
	if truth == "" {
		truth = findGroundTruth(ctx, e)
	}
	if truth != "" {
		n, err := ds.AttachGroundTruth(truth)
		if err != nil {
			return nil, fmt.Errorf("ground truth: %w", err)
		}
		if opts.groundTruth != "" && n < len(ds.Graphlets) {
			return nil, fmt.Errorf("ground truth %s covers %d of %d graphlets: is it this store's corpus?", truth, n, len(ds.Graphlets))
		}
	}
	return prune.Study(ds, prune.Options{TrainFraction: opts.trainFraction, MaxCadenceLoss: opts.maxCadenceLoss, Seed: opts.seed})
}

// findGroundTruth returns the ground_truth.jsonl that `mlprov gen` wrote beside the store's
// only source, if there is exactly one such source. An MLMD store counts only as the store's
// only source: its ids match the ground truth's only when the loader shifted them by nothing.
func findGroundTruth(ctx context.Context, e *engine.Engine) string {
	rows, err := e.DB().QueryContext(ctx, `SELECT kind, uri, (SELECT count(*) FROM sources) FROM sources WHERE kind IN ('native', 'mlmd')`)
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
		if kind == "mlmd" {
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
	if len(found) != 1 {
		return ""
	}
	return found[0]
}

// writePruneFiles writes prune.json and, as PNG and SVG, the trade-off curve and the feature
// importances, drawn as the report draws them.
func writePruneFiles(dir string, res *prune.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "prune.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	for _, a := range pruneSections(res) {
		if a.Plot.Kind == "none" {
			continue
		}
		fig, err := plot.Draw(a)
		if err != nil {
			return fmt.Errorf("plot %s: %w", a.Name, err)
		}
		for ext, data := range map[string][]byte{".png": fig.PNG, ".svg": fig.SVG} {
			if err := os.WriteFile(filepath.Join(dir, a.Name+ext), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func outcomeRow(o prune.Outcome) []any {
	th := any(nil)
	if o.Threshold != nil {
		th = fmt.Sprintf("%.3f", *o.Threshold)
	}
	return []any{o.Name, th, o.Skipped, pct(o.WasteSaved), pct(o.ComputeSaved), pct(o.PushesLost),
		fmt.Sprintf("%.2f", o.PushesPerPipelineDay), fmt.Sprintf("%.2f", o.StalenessAddedHoursMean), fmt.Sprintf("%.1f", o.StalenessAddedHoursP95)}
}

var outcomeColumns = []string{"policy", "threshold", "skipped", "waste saved", "compute saved", "pushes lost", "pushes/pipeline/day", "staleness +h mean", "staleness +h p95"}

func printPrune(w io.Writer, res *prune.Result) error {
	m := res.Model
	var val []string
	for k, v := range m.ValidationAUC {
		val = append(val, fmt.Sprintf("%s %.3f", k, v))
	}
	sort.Strings(val)
	fmt.Fprintf(w, "model: %s, chosen by validation AUC inside the training period (%s)\n", m.Kind, strings.Join(val, ", "))
	fmt.Fprintf(w, "learned from %d graphlets up to %s; replayed %d graphlets up to %s: AUC %.3f, calibration error %.3f\n",
		m.TrainGraphlets, m.TrainUntil.Format("2006-01-02 15:04"), m.EvalGraphlets, m.EvalUntil.Format("2006-01-02 15:04"), m.AUC, m.ECE)
	var top []string
	for _, imp := range m.Importances[:min(5, len(m.Importances))] {
		top = append(top, fmt.Sprintf("%s (%.3f)", imp.Feature, imp.AUCDrop))
	}
	fmt.Fprintf(w, "strongest features (AUC lost when shuffled): %s\n\n", strings.Join(top, ", "))

	t := &render.Result{Columns: outcomeColumns}
	op := res.OperatingPoint
	op.Name = fmt.Sprintf("operating point (pushes lost <= %s)", pct(res.MaxCadenceLoss))
	t.Rows = append(t.Rows, outcomeRow(op))
	if res.BestPossible != nil {
		t.Rows = append(t.Rows, outcomeRow(*res.BestPossible))
	}
	for _, b := range res.Baselines {
		t.Rows = append(t.Rows, outcomeRow(b))
	}
	for _, o := range res.Sweep {
		if th := *o.Threshold; math.Mod(math.Round(th*1000), 50) == 0 && th <= 0.5 {
			t.Rows = append(t.Rows, outcomeRow(o))
		}
	}
	if err := render.Write(w, "table", t); err != nil {
		return err
	}
	if res.BestPossible != nil && res.BestPossible.WasteSaved > 0 {
		fmt.Fprintf(w, "the model reaches %.0f%% of the best possible saving at the same bound\n", 100*op.WasteSaved/res.BestPossible.WasteSaved)
	}
	return nil
}

// pruneSections presents the study as report sections: the policies compared, the trade-off
// curves of the model and of the best possible predictor, and the features that mattered.
func pruneSections(res *prune.Result) []catalog.Analysis {
	summary := &render.Result{Columns: []string{"policy", "threshold", "skipped", "waste_saved", "compute_saved", "pushes_lost", "pushes_per_pipeline_day", "baseline_pushes_per_pipeline_day", "staleness_added_hours_mean", "staleness_added_hours_p95"}}
	add := func(o prune.Outcome) {
		var th any
		if o.Threshold != nil {
			th = *o.Threshold
		}
		summary.Rows = append(summary.Rows, []any{o.Name, th, int64(o.Skipped), o.WasteSaved, o.ComputeSaved, o.PushesLost,
			o.PushesPerPipelineDay, o.BaselinePushesPerPipelineDay, o.StalenessAddedHoursMean, o.StalenessAddedHoursP95})
	}
	op := res.OperatingPoint
	op.Name = fmt.Sprintf("operating point of the %s (pushes lost <= %s)", res.Model.Kind, pct(res.MaxCadenceLoss))
	add(op)
	if res.BestPossible != nil {
		add(*res.BestPossible)
	}
	for _, b := range res.Baselines {
		add(b)
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
			Description: fmt.Sprintf("Skipping the graphlets predicted not to push: a %s learned on %d graphlets (AUC %.3f on the %d replayed), against baselines; shares are fractions",
				m.Kind, m.TrainGraphlets, m.AUC, m.EvalGraphlets)},
		{Name: "pruning_tradeoff", Topic: "waste", Result: curve, Plot: catalog.Plot{Kind: "line", X: "pushes_lost", Y: "waste_saved", Series: "policy"},
			Description: "Waste saved against pushes lost as the skipping threshold rises, for the model and the best possible predictor"},
		{Name: "pruning_features", Topic: "causes", Result: imp, Plot: catalog.Plot{Kind: "bar", X: "feature", Y: "auc_drop"},
			Description: "What the pruning model relies on: the AUC it loses when a feature's values are shuffled"},
	}
}

// headlineWithPruning adds the study's saving to the headline table, beside the paper's 50%.
func headlineWithPruning(h *render.Result, res *prune.Result) {
	h.Rows = append(h.Rows, []any{
		fmt.Sprintf("waste saved by pruning with at most %s of pushes lost", pct(res.MaxCadenceLoss)),
		"≈ 50%", pct(res.OperatingPoint.WasteSaved),
		"share of the wasted compute (exclusive) that skipping the graphlets the pruning model predicts not to push saves on the replayed graphlets",
	})
}
