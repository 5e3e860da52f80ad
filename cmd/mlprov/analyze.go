package main

import (
	"context"
	"fmt"
	"slices"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/report/runner"
)

// analyzeCmd is `mlprov analyze`: without names it lists the canned analyses from their
// headers; with names it runs them. csv and json print one analysis, so that the output
// stays one document.
type analyzeCmd command[common]

func (c *analyzeCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "analyze", "mlprov analyze [--db FILE] [--format table|csv|json|markdown|line] [NAME...]",
		c.dbFlag(&c.opts.db), renderFormatFlag(&c.opts.format))
	if err != nil {
		return err
	}
	as, err := engine.Analyses()
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		list := &render.Result{Columns: []string{"name", "topic", "description"}}
		for _, a := range as {
			list.Rows = append(list.Rows, []any{a.Name, a.Topic, a.Description})
		}
		return render.Write(c.stdout, c.opts.format, list)
	}
	names := fs.Args()
	for _, n := range names {
		if !slices.ContainsFunc(as, func(a catalog.Analysis) bool { return a.Name == n }) {
			return usagef("analyze", "unknown analysis %q (run mlprov analyze to list them)", n)
		}
	}
	document := c.opts.format == "csv" || c.opts.format == "json"
	if document && len(names) > 1 {
		return usagef("analyze", "--format %s prints one analysis; name one, or use mlprov report for all", c.opts.format)
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	for i, n := range names {
		res, err := runner.RunAnalysis(ctx, e, n)
		if err != nil {
			return err
		}
		if !document {
			if i > 0 {
				fmt.Fprintln(c.stdout)
			}
			a, _ := engine.LookupAnalysis(n)
			fmt.Fprintf(c.stdout, "%s: %s\n", a.Name, a.Description)
		}
		if err := render.Write(c.stdout, c.opts.format, res); err != nil {
			return err
		}
	}
	return nil
}
