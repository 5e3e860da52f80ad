package main

import (
	"context"
	"fmt"
	"strings"

	"mlprov/engine"
)

// refreshCmd is `mlprov refresh`: derive the derived tables again after edits made through
// SQL (mlprov query, the shell, another DuckDB client).
type refreshCmd command[common]

func (c *refreshCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "refresh", `mlprov refresh [--db FILE] [--json] [-q]

Brings the store in line with edits made through SQL since its derived tables were
last derived (a load or a sync keeps them up to date by itself): every execution takes
the category op_categories gives its operator type, and the derived tables are derived
again, incrementally when only op_categories changed, from scratch when the canonical
tables were edited. A store with no such edit is left as it is.`,
		c.dbFlag(&c.opts.db),
		jsonFlag(&c.opts.json, "print what was done as JSON"),
		quietFlag(&c.opts.quiet, "print only errors"))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("refresh", "refresh takes no arguments")
	}
	e, err := c.openExisting(ctx, c.opts.db, false)
	if err != nil {
		return err
	}
	defer e.Close()
	var bar *progress
	if !c.opts.quiet && !c.opts.json {
		bar = newProgress(c.stderr, "refresh", "")
	}
	res, err := e.Refresh(ctx, bar.step)
	bar.done()
	if err != nil {
		return err
	}
	switch {
	case c.opts.json:
		return writeJSON(c.stdout, res)
	case !c.opts.quiet:
		fmt.Fprintln(c.stdout, refreshSummary(res))
	}
	return e.Close()
}

// refreshSummary says in one line what a refresh did.
func refreshSummary(r engine.Rederived) string {
	if len(r.Stale) == 0 {
		return "derived tables up to date"
	}
	return fmt.Sprintf("%s changed: %d executions took a new category; %s",
		strings.Join(r.Stale, ", "), r.Recategorised, derivedAgain(r.Refreshed))
}

// derivedAgain says how the derived tables were brought up to date.
func derivedAgain(r engine.Refreshed) string {
	if r.Full {
		return fmt.Sprintf("derived tables rebuilt from scratch in %.2f s", r.Seconds)
	}
	return fmt.Sprintf("derived tables refreshed for %d pipelines in %.2f s", r.Pipelines, r.Seconds)
}

// afterEdit follows a statement that may have written (see shell.Options.Refresh): an edit
// of op_categories alone is applied at once, since it re-derives only what the new
// categories touch; an edit of the canonical tables is named, with how to derive again
// (hint), since it re-derives everything. all refreshes whatever changed.
func afterEdit(ctx context.Context, e *engine.Engine, all bool, hint string) (string, error) {
	if !all {
		stale, err := e.Stale(ctx)
		if err != nil || len(stale) == 0 {
			return "", err
		}
		if len(stale) > 1 || stale[0] != "op_categories" {
			return fmt.Sprintf("note: the derived tables are stale: %s changed since they were derived; %s derives them again",
				strings.Join(stale, ", "), hint), nil
		}
	}
	res, err := e.Refresh(ctx, nil)
	if err != nil {
		return "", err
	}
	return refreshSummary(res), nil
}
