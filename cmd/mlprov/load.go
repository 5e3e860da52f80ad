package main

import (
	"context"
	"fmt"

	"mlprov/engine"
	"mlprov/loaders"
)

type loadOptions struct {
	db      string
	format  string
	replace bool
	quiet   bool
}

// loadCmd is `mlprov load`: each PATH is one source, loaded in its own transaction.
type loadCmd struct {
	*cli
	opts loadOptions
}

func (c *loadCmd) Run(ctx context.Context, args []string) error {
	fs := c.flags("load", "mlprov load [--db FILE] [--format FORMAT] [--replace] PATH...")
	c.dbFlag(fs, &c.opts.db)
	fs.StringVar(&c.opts.format, "format", "auto", "input format: auto, "+joinFormats())
	fs.BoolVar(&c.opts.replace, "replace", false, "reload a source that is already in the store")
	fs.BoolVarP(&c.opts.quiet, "quiet", "q", false, "print only errors")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("load", "load needs at least one PATH")
	}
	var ls []engine.Loader
	for _, p := range fs.Args() {
		l, err := loaders.Lookup(c.opts.format, p)
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	e, err := engine.Open(ctx, c.opts.db, engine.Options{})
	if err != nil {
		return err
	}
	defer e.Close()
	for i, p := range fs.Args() {
		lo := engine.LoadOptions{Replace: c.opts.replace}
		if !c.opts.quiet {
			lo.Progress = func(step string) { fmt.Fprintf(c.stderr, "load: %s\n", step) }
		}
		res, err := e.Load(ctx, ls[i], p, lo)
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

func joinFormats() string {
	s := ""
	for i, f := range loaders.Formats() {
		if i > 0 {
			s += ", "
		}
		s += f
	}
	return s
}
