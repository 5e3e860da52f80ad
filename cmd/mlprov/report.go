package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"mlprov/engine"
	"mlprov/engine/prune"
	"mlprov/internal/render"
	"mlprov/internal/report"
)

type reportOptions struct {
	db    string
	out   string
	quiet bool
}

// reportCmd is `mlprov report`: every canned analysis, run on the store and written up as a
// report folder (see internal/report).
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
	for _, s := range info.Sources {
		in.Sources = append(in.Sources, report.Source(s))
	}
	for i, a := range as {
		t := time.Now()
		res, err := runAnalysis(ctx, e, a.Name)
		if err != nil {
			return err
		}
		progress("ran %s (%d/%d): %d rows in %s", a.Name, i+1, len(as), len(res.Rows), time.Since(t).Round(time.Millisecond))
		in.Analyses = append(in.Analyses, report.Analysis{
			Name: a.Name, Description: a.Description, Topic: a.Topic, SQL: a.SQL, Result: res,
			Plot: report.Plot{Kind: a.Plot.Kind, X: a.Plot.X, Y: a.Plot.Y, Series: a.Plot.Series},
		})
	}
	t := time.Now()
	study, err := runPruneStudy(ctx, e, pruneOptions{maxCadenceLoss: 0.01, trainFraction: 0.6, seed: 1})
	switch {
	case errors.Is(err, prune.ErrTooFewGraphlets):
		progress("pruning study skipped: %v", err)
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
	sum, err := report.Write(c.opts.out, in)
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	// The headline opens the report; it is what a person reads first, so print it too.
	for _, a := range in.Analyses {
		if a.Name == report.HeadlineName {
			if err := render.Write(c.stdout, "table", a.Result); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(c.stdout, "wrote %s: %d sections, %d plots, %d files in %s; open %s\n",
		c.opts.out, len(in.Analyses), sum.Plots, len(sum.Files), time.Since(start).Round(time.Millisecond), filepath.Join(c.opts.out, "report.html"))
	return nil
}
