package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/internal/shell"
)

type lineageOptions struct {
	common
	walk engine.LineageOptions
}

// lineageCmd is `mlprov lineage NODE`: the provenance of one artifact or execution, as the
// shell's .lineage shows it.
type lineageCmd command[lineageOptions]

func (c *lineageCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "lineage", `mlprov lineage [--db FILE] [--up|--down] [--depth N] [--relinks] [--format table|json|dot] (a:ID|e:ID)

Walks the provenance of one artifact (a:ID) or execution (e:ID): upstream to what it was
made from, downstream to what was made from it, each node at its fewest hops. Without
--up or --down it walks both ways, and without --depth as far as the events go.
Upstream an artifact leads to the execution that made it, as in graphlets: cache hits
and Resolvers, which only re-link an artifact made earlier, are left out unless
--relinks asks for them. A bare ID works too when only one kind of node has it.`,
		c.dbFlag(&c.opts.db),
		own(func(fs *pflag.FlagSet) {
			fs.BoolVar(&c.opts.walk.Up, "up", false, "walk upstream only (default: both ways)")
			fs.BoolVar(&c.opts.walk.Down, "down", false, "walk downstream only (default: both ways)")
			fs.IntVar(&c.opts.walk.Depth, "depth", 0, "walk at most N hops (an event is a hop; 0 for no limit)")
			fs.BoolVar(&c.opts.walk.Relinks, "relinks", false, "also follow re-links: cache hits and Resolvers pointing at older artifacts")
		}),
		graphFormatFlag(&c.opts.format, "lineage a:ID", "l.svg"))
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("lineage", "lineage needs one node: a:ID for an artifact or e:ID for an execution")
	}
	node, err := engine.ParseNode(fs.Arg(0))
	if err != nil {
		return usagef("lineage", "%w", err)
	}
	if c.opts.walk.Depth < 0 {
		return usagef("lineage", "--depth wants a number of hops, 0 or more, not %d", c.opts.walk.Depth)
	}
	if err := checkGraphFormat("lineage", c.opts.format); err != nil {
		return err
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	l, err := engine.WalkLineage(ctx, e.DB(), node, c.opts.walk)
	if err != nil {
		return err
	}
	switch c.opts.format {
	case "dot":
		return l.WriteDOT(c.stdout)
	case "json":
		return writeJSON(c.stdout, l.Nodes)
	}
	fmt.Fprintf(c.stdout, "lineage of %s %d (%s), %s:\n", l.Start.Kind, l.Start.ID, l.Start.Type, l.Options.Describe())
	return render.Write(c.stdout, "table", shell.LineageTable(l))
}
