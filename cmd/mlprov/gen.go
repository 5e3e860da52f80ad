package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"mlprov/engine"
	"mlprov/loaders/mlmd"
	"mlprov/loaders/native"
	"mlprov/synth"
)

type genOptions struct {
	common
	scale     float64
	pipelines int
	days      int
	seed      uint64
	load      bool
}

// genCmd is `mlprov gen`: a synthetic corpus calibrated to the paper, in the native layout or
// as an MLMD store.
type genCmd command[genOptions]

func (c *genCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "gen", "mlprov gen (--scale F | --pipelines N) [--days D] [--seed S] --out DIR [--format parquet|csv|jsonl|mlmd] [--load [--db FILE]] [-q]",
		own(func(fs *pflag.FlagSet) {
			fs.Float64Var(&c.opts.scale, "scale", 0, "size as a fraction of the paper's corpus (1 = 3000 pipelines, about 450K trained models)")
			fs.IntVar(&c.opts.pipelines, "pipelines", 0, "number of pipelines (instead of --scale)")
			fs.IntVar(&c.opts.days, "days", 130, "length of the window in days")
			fs.Uint64Var(&c.opts.seed, "seed", synth.DefaultSeed, "random seed: the same seed gives the same files")
		}),
		outFlag(&c.opts.out, "", "the folder to write (new or empty)"),
		formatFlag(&c.opts.format, "parquet", "file format: "+strings.Join(engine.FileFormats, ", ")+" (the native layout), or "+engine.FormatMLMD+" (an MLMD SQLite store, "+synth.MLMDFile+")"),
		own(func(fs *pflag.FlagSet) {
			fs.BoolVar(&c.opts.load, "load", false, "load the corpus into the store once written")
		}),
		c.dbFlag(&c.opts.db),
		quietFlag(&c.opts.quiet, "print only errors"))
	if err != nil {
		return err
	}
	o := &c.opts
	switch {
	case fs.NArg() > 0:
		return usagef("gen", "unexpected argument %q", fs.Arg(0))
	case fs.Changed("scale") == fs.Changed("pipelines"):
		return usagef("gen", "gen needs exactly one of --scale F or --pipelines N")
	case o.out == "":
		return usagef("gen", "gen needs --out DIR")
	case fs.Changed("db") && !o.load:
		return usagef("gen", "--db is only used with --load")
	}
	n := o.pipelines
	if fs.Changed("scale") {
		if o.scale <= 0 {
			return usagef("gen", "--scale must be positive (got %g)", o.scale)
		}
		n = max(1, synth.ScalePipelines(o.scale))
	}
	if n < 1 {
		return usagef("gen", "--pipelines must be at least 1 (got %d)", n)
	}
	if o.days < 1 {
		return usagef("gen", "--days must be at least 1 (got %d)", o.days)
	}
	if err := checkFileFormat("gen", o.format); err != nil {
		return err
	}

	cfg := synth.DefaultConfig(n)
	cfg.Days, cfg.Seed = o.days, o.seed
	gopts := synth.Options{Format: o.format}
	var bar *progress
	if !o.quiet {
		bar = newProgress(c.stderr, "gen", "pipelines")
		gopts.Step = func(step string) { bar.done(); bar.step(step) }
		gopts.Progress = func(done, total int) { bar.count(int64(done), int64(total)) }
	}
	began := time.Now()
	st, err := synth.Generate(ctx, cfg, o.out, gopts)
	bar.done()
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(c.stdout, "generated %s (%s, seed %d) in %.1fs: %d pipelines, %d executions, %d artifacts, %d events; %d trained models (%d Trainer runs, %.1f%% of them pushed); %.1f MB\n",
			o.out, o.format, o.seed, time.Since(began).Seconds(), st.Pipelines, st.Executions, st.Artifacts, st.Events,
			st.Trained, st.Trainers, 100*float64(st.Pushed)/float64(max(1, st.Trainers)), float64(st.Bytes)/1e6)
	}
	if !o.load {
		return nil
	}
	e, err := engine.Open(ctx, o.db, engine.Options{})
	if err != nil {
		return err
	}
	defer e.Close()
	lo := engine.LoadOptions{}
	var lbar *progress
	if !o.quiet {
		lbar = newProgress(c.stderr, "load", "records")
		lo.Progress, lo.Records = lbar.step, lbar.count
	}
	began = time.Now()
	var l engine.Loader = &native.Loader{}
	src := o.out
	if o.format == engine.FormatMLMD {
		l, src = &mlmd.Loader{}, filepath.Join(o.out, synth.MLMDFile)
	}
	res, err := e.Load(ctx, l, src, lo)
	lbar.done()
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(c.stdout, "loaded %s into %s as source %d in %.1fs: %d rows\n", src, o.db, res.SourceID, time.Since(began).Seconds(), res.Rows())
	}
	return e.Close()
}
