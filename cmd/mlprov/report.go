package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/engine/prune"
	"mlprov/internal/render"
	"mlprov/report"
)

type reportOptions struct {
	db    string
	out   string
	quiet bool
}

// reportCmd is `mlprov report`: every canned analysis, run on the store and written up as a
// report folder (see package report).
type reportCmd struct {
	*cli
	opts reportOptions
}

func (c *reportCmd) Run(ctx context.Context, args []string) error {
	fs := c.flags("report", "mlprov report [--db FILE] [--out DIR] [-q]")
	c.dbFlag(fs, &c.opts.db)
	fs.StringVar(&c.opts.out, "out", "mlprov-report", "the folder to write: new, empty, or an earlier report, which is replaced")
	fs.BoolVarP(&c.opts.quiet, "quiet", "q", false, "print no progress, only the headline and where the report is")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("report", "unexpected argument %q", fs.Arg(0))
	}
	if c.opts.out == "" {
		return usagef("report", "--out needs a folder")
	}
	progress := func(format string, args ...any) {
		if !c.opts.quiet {
			fmt.Fprintf(c.stderr, "report: "+format+"\n", args...)
		}
	}
	start := time.Now()
	as, err := engine.Analyses()
	if err != nil {
		return err
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	info, err := e.Info(ctx)
	if err != nil {
		return err
	}
	in := report.Input{
		Version:     mlprovVersion(),
		Fingerprint: info.Fingerprint,
		Seed:        info.Seed,
		Params:      map[string]any{"db": c.opts.db, "out": c.opts.out},
		Progress:    func(step string) { progress("%s", step) },
	}
	in.Sources = info.Sources
	for i, a := range as {
		t := time.Now()
		res, err := runAnalysis(ctx, e, a.Name)
		if err != nil {
			return err
		}
		progress("ran %s (%d/%d): %d rows in %s", a.Name, i+1, len(as), len(res.Rows), time.Since(t).Round(time.Millisecond))
		a.Result = res
		in.Analyses = append(in.Analyses, a)
	}
	var trainings int64
	if err := e.DB().QueryRowContext(ctx, "SELECT count(*) FROM trainers").Scan(&trainings); err != nil {
		return fmt.Errorf("count the training runs: %w", err)
	}
	in.NoTrainingRuns = trainings == 0
	t := time.Now()
	study, err := runPruneStudy(ctx, e, pruneOptions{maxCadenceLoss: 0.01, trainFraction: 0.6, seed: 1})
	switch {
	case errors.Is(err, prune.ErrTooFewGraphlets):
		progress("pruning study skipped: %v", err)
		in.Analyses = append(in.Analyses, prunedNothing(err, in.NoTrainingRuns))
	case err != nil:
		return fmt.Errorf("pruning study: %w", err)
	default:
		progress("ran the pruning study in %s", time.Since(t).Round(time.Millisecond))
		for _, a := range in.Analyses {
			if a.Name == report.HeadlineName {
				headlineWithPruning(a.Result, study)
			}
		}
		in.Analyses = append(in.Analyses, pruneSections(study)...)
		in.Params["prune"] = map[string]any{"max_cadence_loss": 0.01, "train_fraction": 0.6, "seed": 1}
	}
	if os.Getenv("MLPROV_TEST_HOLD_REPORT") != "" {
		// Tests kill the command here, with the new report built and the old one in place.
		in.Progress = func(step string) {
			progress("%s", step)
			if strings.HasPrefix(step, "moving the report") {
				fmt.Fprintln(c.stderr, "report: holding before the swap")
				<-ctx.Done()
			}
		}
	}
	sum, err := report.Write(ctx, c.opts.out, in)
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	// The headline opens the report; it is what a person reads first, so print it too, without
	// the definitions, which the report has.
	for _, a := range in.Analyses {
		if a.Name == report.HeadlineName {
			if err := render.Write(c.stdout, "table", withoutColumn(a.Result, "counts")); err != nil {
				return err
			}
			if in.NoTrainingRuns {
				fmt.Fprintln(c.stdout, report.NoTrainingRunsHint)
			}
		}
	}
	fmt.Fprintf(c.stdout, "wrote %s: %d sections, %d plots, %d files in %s; open %s\n",
		c.opts.out, len(in.Analyses), sum.Plots, len(sum.Files), time.Since(start).Round(time.Millisecond), filepath.Join(c.opts.out, "report.html"))
	return nil
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

// withoutColumn is res without the column named name, when it has one.
func withoutColumn(res *render.Result, name string) *render.Result {
	i := slices.Index(res.Columns, name)
	if i < 0 {
		return res
	}
	out := &render.Result{Columns: slices.Delete(slices.Clone(res.Columns), i, i+1)}
	for _, r := range res.Rows {
		out.Rows = append(out.Rows, slices.Delete(slices.Clone(r), i, i+1))
	}
	return out
}
