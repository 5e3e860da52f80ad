package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"mlprov/engine"
	"mlprov/loaders"
)

type loadOptions struct {
	db         string
	format     string
	deployRule string
	replace    bool
	quiet      bool
}

// loadCmd is `mlprov load`: each PATH is one source, loaded in its own transaction.
type loadCmd struct {
	*cli
	opts loadOptions
}

func (c *loadCmd) Run(ctx context.Context, args []string) error {
	fs := c.flags("load", "mlprov load [--db FILE] [--format FORMAT] [--deploy-rule REGEXP] [--replace] PATH...")
	c.dbFlag(fs, &c.opts.db)
	fs.StringVar(&c.opts.format, "format", "auto", "input format: auto, "+strings.Join(loaders.Formats(), ", "))
	fs.StringVar(&c.opts.deployRule, "deploy-rule", "", "regexp of the jobs (openlineage) or nodes (mlmd) that deploy a model;\ntheir complete runs count as pushes")
	fs.BoolVar(&c.opts.replace, "replace", false, "reload a source that is already in the store")
	fs.BoolVarP(&c.opts.quiet, "quiet", "q", false, "print only errors")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("load", "load needs at least one PATH")
	}
	var lopts loaders.Options
	if c.opts.deployRule != "" {
		re, err := regexp.Compile(c.opts.deployRule)
		if err != nil {
			return usagef("load", "--deploy-rule: %v", err)
		}
		lopts.DeployRule = re
	}
	var ls []engine.Loader
	for _, p := range fs.Args() {
		if _, err := os.Stat(p); err != nil {
			return err
		}
		l, err := loaders.Lookup(c.opts.format, p)
		if err != nil {
			return err
		}
		loaders.Configure(l, lopts)
		ls = append(ls, l)
	}
	e, err := engine.Open(ctx, c.opts.db, engine.Options{})
	if err != nil {
		return err
	}
	defer e.Close()
	for i, p := range fs.Args() {
		lo := engine.LoadOptions{Replace: c.opts.replace}
		var bar *progressBar
		if !c.opts.quiet {
			bar = newProgressBar(c.stderr)
			lo.Progress, lo.Records = bar.step, bar.records
		}
		res, err := e.Load(ctx, ls[i], p, lo)
		bar.done()
		if err != nil {
			return err
		}
		if !c.opts.quiet {
			verb := "loaded"
			if res.Replaced {
				verb = "replaced"
			}
			fmt.Fprintf(c.stdout, "%s %s as source %d (%s): %d pipelines, %d executions, %d artifacts, %d events\n",
				verb, p, res.SourceID, res.Format, res.Pipelines, res.Executions, res.Artifacts, res.Events)
		}
	}
	return e.Close()
}

// progressBar shows a load's progress on stderr: a bar when stderr is a terminal, plain
// "load: STEP" lines otherwise (scripts and tests read those lines).
type progressBar struct {
	w   io.Writer
	bar *progressbar.ProgressBar // nil unless w is a terminal
}

func newProgressBar(w io.Writer) *progressBar {
	p := &progressBar{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("load"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionFullWidth(),
		)
	}
	return p
}

// step prints a step line, or on a terminal makes it the bar's caption; warnings are
// printed as lines either way, so they stay on screen.
func (p *progressBar) step(s string) {
	if p.bar == nil || strings.HasPrefix(s, "warning: ") {
		if p.bar != nil {
			p.bar.Clear()
		}
		fmt.Fprintf(p.w, "load: %s\n", s)
		return
	}
	p.bar.Describe("load: " + s)
}

func (p *progressBar) records(done, total int64) {
	if p.bar == nil {
		return
	}
	if total > 0 && p.bar.GetMax64() != total {
		p.bar.ChangeMax64(total)
	}
	p.bar.Set64(done)
}

func (p *progressBar) done() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
	}
}
