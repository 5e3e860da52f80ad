package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mlprov/internal/render"
	"mlprov/report"
	"mlprov/report/runner"
)

// reportCmd is `mlprov report`: every canned analysis, run on the store and written up as a
// report folder (see package report).
type reportCmd command[common]

func (c *reportCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "report", "mlprov report [--db FILE] [--out DIR] [-q]",
		c.dbFlag(&c.opts.db),
		outFlag(&c.opts.out, "mlprov-report", "the folder to write: new, empty, or an earlier report, which is replaced"),
		quietFlag(&c.opts.quiet, "print no progress, only the headline and where the report is"))
	if err != nil {
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
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	var study *runner.Study
	in, err := runner.Run(ctx, e, runner.Options{
		Params:   map[string]any{"db": c.opts.db, "out": c.opts.out},
		Progress: func(step string) { progress("%s", step) },
		Study:    func(s *runner.Study) { study = s },
	})
	if err != nil {
		return err
	}
	in.Version = mlprovVersion()
	in.Progress = func(step string) { progress("%s", step) }
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
	sum, err := report.Write(ctx, c.opts.out, *in)
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	e.Close()
	if study != nil && !study.Kept && study.MadeFrom != "" {
		c.keepStudy(ctx, study, progress)
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

// keepStudy keeps the pruning study the report ran in the store, which the report read
// read-only, so that the next report of the same store reuses it. A store that cannot be
// written now (another process reads it, or the file is read-only) keeps nothing, and the
// report says so: the report itself is written.
func (c *reportCmd) keepStudy(ctx context.Context, study *runner.Study, progress func(string, ...any)) {
	e, err := c.openExisting(ctx, c.opts.db, false)
	if err == nil {
		_, err = runner.KeepStudy(ctx, e, study)
		if cerr := e.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		progress("the pruning study was not kept for the next report: %v", err)
		return
	}
	progress("kept the pruning study with pruning model %d, for the next report of this store", study.ModelID)
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
