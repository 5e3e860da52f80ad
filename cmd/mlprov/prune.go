package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"mlprov/internal/plot"
	"mlprov/internal/render"
	"mlprov/prune"
	"mlprov/report/runner"
)

type pruneOptions struct {
	common
	maxCadenceLoss float64
	trainFraction  float64
	groundTruth    string
	seed           uint64
}

// pruneCmd is `mlprov prune`: the pruning study over the store's graphlets.
type pruneCmd command[pruneOptions]

func (c *pruneCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "prune", "mlprov prune [--db FILE] [--max-cadence-loss 0.01] [--train-fraction 0.6] [--ground-truth FILE] [--seed N] [--json] [--out DIR]",
		c.dbFlag(&c.opts.db),
		own(func(fs *pflag.FlagSet) {
			fs.Float64Var(&c.opts.maxCadenceLoss, "max-cadence-loss", runner.DefaultMaxCadenceLoss, "the largest share of pushes the chosen operating point may lose")
			fs.Float64Var(&c.opts.trainFraction, "train-fraction", runner.DefaultTrainFraction, "the share of the window (by time) to learn from; the rest is replayed")
			fs.StringVar(&c.opts.groundTruth, "ground-truth", "", "a generated corpus's ground_truth.jsonl, for the best possible predictor (found beside a generated source by default)")
			fs.Uint64Var(&c.opts.seed, "seed", runner.DefaultSeed, "seed of the random baseline, the importances and the samples the models learn from (a training period past 100,000 graphlets)")
		}),
		jsonFlag(&c.opts.json, "print the result as one JSON object"),
		outFlag(&c.opts.out, "", "also write prune.json, decisions.csv and the plots to DIR"))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("prune", "unexpected argument %q", fs.Arg(0))
	}
	if c.opts.maxCadenceLoss < 0 || c.opts.maxCadenceLoss > 1 {
		return usagef("prune", "--max-cadence-loss %v is not a share in [0, 1]", c.opts.maxCadenceLoss)
	}
	// Read-write: the study keeps its model in the store, for advise.
	e, err := c.openExisting(ctx, c.opts.db, false)
	if err != nil {
		return err
	}
	defer e.Close()
	// The study is kept with its model, for the reports of the store as it is now.
	study, err := runner.RunStudy(ctx, e, runner.PruneOptions{MaxCadenceLoss: c.opts.maxCadenceLoss, TrainFraction: c.opts.trainFraction, Seed: c.opts.seed, GroundTruth: c.opts.groundTruth})
	if err != nil {
		return err
	}
	res := study.Result
	saved, err := runner.KeepStudy(ctx, e, study)
	if err != nil {
		return err
	}
	if c.opts.out != "" {
		if err := writePruneFiles(c.opts.out, res); err != nil {
			return err
		}
	}
	if c.opts.json {
		return writeJSON(c.stdout, res)
	}
	if err := printPrune(c.stdout, res); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "kept as pruning model %d in the store (threshold %.3f), for mlprov advise\n", saved.ID, saved.Threshold)
	return err
}

// writePruneFiles writes prune.json and, as PNG and SVG, the trade-off curve and the feature
// importances, drawn as the report draws them.
func writePruneFiles(dir string, res *prune.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSONFile(filepath.Join(dir, "prune.json"), res); err != nil {
		return err
	}
	if err := writeDecisions(filepath.Join(dir, "decisions.csv"), res.Decisions); err != nil {
		return err
	}
	for _, a := range runner.PruneSections(res) {
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

// writeDecisions writes the operating point's decisions as CSV, one row per replayed
// graphlet: p_push is the model's score on the store's history (what advise says for that
// Trainer), p_push_replayed its score on the history the replay left, which skipped compares
// with the threshold.
func writeDecisions(path string, ds []prune.Decision) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"graphlet_id", "pipeline_id", "trainer_start", "p_push", "p_push_replayed", "skipped"})
	for _, d := range ds {
		_ = w.Write([]string{strconv.FormatInt(d.GraphletID, 10), strconv.FormatInt(d.PipelineID, 10), d.TrainerStart.UTC().Format(time.RFC3339Nano),
			strconv.FormatFloat(d.PPush, 'g', -1, 64), strconv.FormatFloat(d.PPushReplayed, 'g', -1, 64), strconv.FormatBool(d.Skipped)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
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
		val = append(val, fmt.Sprintf("%s %s of the waste saved, AUC %.3f", k, pct(m.ValidationWasteSaved[k]), v))
	}
	sort.Strings(val)
	fmt.Fprintf(w, "model: %s, chosen by the waste it saves on the training period's last quarter (%s)\n", m.Kind, strings.Join(val, "; "))
	fmt.Fprintf(w, "learned from %s up to %s; replayed %d graphlets up to %s: AUC %.3f, calibration error %.3f\n",
		runner.Learned(m), m.TrainUntil.Format("2006-01-02 15:04"), m.EvalGraphlets, m.EvalUntil.Format("2006-01-02 15:04"), m.AUC, m.ECE)
	var top []string
	for _, imp := range m.Importances[:min(5, len(m.Importances))] {
		top = append(top, fmt.Sprintf("%s (%.3f)", imp.Feature, imp.AUCDrop))
	}
	fmt.Fprintf(w, "strongest features (AUC lost when shuffled): %s\n\n", strings.Join(top, ", "))

	t := &render.Result{Columns: outcomeColumns}
	for _, o := range runner.PrunePolicies(res) {
		t.Rows = append(t.Rows, outcomeRow(o))
	}
	for _, o := range res.Sweep {
		if th := *o.Threshold; math.Mod(math.Round(th*1000), 50) == 0 && th <= 0.5 {
			t.Rows = append(t.Rows, outcomeRow(o))
		}
	}
	if err := render.Write(w, "table", t); err != nil {
		return err
	}
	op := res.OperatingPoint
	fmt.Fprintf(w, "threshold %.3f chosen in advance on the training period's last quarter (there: %s of the waste saved, %s of pushes lost); hindsight rows are upper bounds, chosen on the replay itself\n",
		*op.Threshold, pct(m.Validation.WasteSaved), pct(m.Validation.PushesLost))
	if res.BestPossible != nil && res.BestPossible.WasteSaved > 0 {
		fmt.Fprintf(w, "the model reaches %.0f%% of the best possible saving, both chosen in advance\n", 100*op.WasteSaved/res.BestPossible.WasteSaved)
	}
	return nil
}
