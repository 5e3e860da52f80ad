package main

import (
	"context"
	"fmt"
	"strconv"

	"mlprov/engine"
	"mlprov/internal/render"
)

// graphletCmd is `mlprov graphlet ID`: one graphlet's members and the events between them.
type graphletCmd command[common]

func (c *graphletCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "graphlet", "mlprov graphlet [--db FILE] [--format table|json|dot] ID",
		c.dbFlag(&c.opts.db), graphFormatFlag(&c.opts.format, "graphlet ID", "g.svg"))
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("graphlet", "graphlet needs one ID (a Trainer's execution_id)")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil {
		return usagef("graphlet", "graphlet ID %q is not a number", fs.Arg(0))
	}
	if err := checkGraphFormat("graphlet", c.opts.format); err != nil {
		return err
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	g, err := e.Graphlet(ctx, id)
	if err != nil {
		return err
	}
	switch c.opts.format {
	case "dot":
		return g.WriteDOT(c.stdout)
	case "json":
		return writeJSON(c.stdout, g)
	}
	summary, tables := graphletTables(g)
	fmt.Fprintln(c.stdout, summary)
	for _, t := range tables {
		if err := render.Write(c.stdout, "table", t); err != nil {
			return err
		}
	}
	return nil
}

// graphletTables presents a graphlet as a line of summary, its members and its edges; the
// shell's .graphlet shows the same.
func graphletTables(g *engine.Graphlet) (string, []*render.Result) {
	outcome := "not pushed"
	if g.Pushed {
		outcome = "pushed"
	}
	summary := fmt.Sprintf("graphlet %d: pipeline %d, %s, cost %s (exclusive %s)", g.ID, g.PipelineID, outcome, render.Text(g.CostTotal, ""), render.Text(g.CostExcl, ""))
	members := &render.Result{Columns: []string{"side", "kind", "id", "type", "node", "state", "cost", "span"}}
	for _, n := range g.Nodes {
		members.Rows = append(members.Rows, []any{n.Side, n.Kind, n.ID, n.Type, nullable(n.Node), nullable(n.State), deref(n.Cost), deref(n.Span)})
	}
	edges := &render.Result{Columns: []string{"from", "to", "role"}}
	for _, ed := range g.Edges {
		edges.Rows = append(edges.Rows, []any{ed.From, ed.To, nullable(ed.Role)})
	}
	return summary, []*render.Result{members, edges}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
