package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrNoGraphlet means no graphlet has the asked id (a Trainer execution's id).
var ErrNoGraphlet = errors.New("no such graphlet")

// GraphletNode is one member of a graphlet: an execution or an artifact.
type GraphletNode struct {
	Kind  string   `json:"kind"` // "execution" or "artifact"
	ID    int64    `json:"id"`
	Side  string   `json:"side"` // trainer, upstream, downstream or boundary
	Type  string   `json:"type"` // the execution's op_type or the artifact's type
	Node  string   `json:"node,omitempty"`
	State string   `json:"state,omitempty"`
	Cost  *float64 `json:"cost,omitempty"`
	Span  *int64   `json:"span,omitempty"`
}

// GraphletEdge is one event between two members: from an artifact to the execution that read
// it, or from an execution to the artifact it wrote.
type GraphletEdge struct {
	From string `json:"from"` // "e:ID" or "a:ID"
	To   string `json:"to"`
	Role string `json:"role,omitempty"`
}

// Graphlet is one model graphlet with its members and the events between them.
type Graphlet struct {
	ID         int64          `json:"graphlet_id"`
	PipelineID int64          `json:"pipeline_id"`
	Pushed     bool           `json:"pushed"`
	CostTotal  float64        `json:"cost_total"`
	CostExcl   float64        `json:"cost_exclusive"`
	Nodes      []GraphletNode `json:"members"`
	Edges      []GraphletEdge `json:"edges"`
}

// Graphlet reads graphlet id (its Trainer's execution id) from the derived tables. It
// returns ErrNoGraphlet when there is none.
func (e *Engine) Graphlet(ctx context.Context, id int64) (*Graphlet, error) {
	g := &Graphlet{ID: id}
	err := e.db.QueryRowContext(ctx, `SELECT pipeline_id, pushed, cost_total, cost_exclusive FROM graphlets WHERE graphlet_id = ?`, id).
		Scan(&g.PipelineID, &g.Pushed, &g.CostTotal, &g.CostExcl)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("graphlet %d: %w (a graphlet's id is its Trainer's execution_id: SELECT graphlet_id FROM graphlets)", id, ErrNoGraphlet)
	}
	if err != nil {
		return nil, fmt.Errorf("graphlet %d: %w", id, err)
	}
	rows, err := e.db.QueryContext(ctx, `
		SELECT 'execution', x.execution_id, m.side, x.op_type, x.node_id, x.state, x.cost, NULL::BIGINT
		FROM graphlet_members m JOIN executions x USING (execution_id) WHERE m.graphlet_id = $1
		UNION ALL
		SELECT 'artifact', a.artifact_id, m.side, a.type, NULL, a.state, NULL, a.span
		FROM graphlet_members m JOIN artifacts a USING (artifact_id) WHERE m.graphlet_id = $1
		ORDER BY 1 DESC, 2`, id)
	if err != nil {
		return nil, fmt.Errorf("graphlet %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n GraphletNode
		var node, state sql.NullString
		if err := rows.Scan(&n.Kind, &n.ID, &n.Side, &n.Type, &node, &state, &n.Cost, &n.Span); err != nil {
			return nil, err
		}
		n.Node, n.State = node.String, state.String
		g.Nodes = append(g.Nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	edges, err := e.db.QueryContext(ctx, `
		SELECT ev.execution_id, ev.artifact_id, ev.direction, coalesce(ev.role, '')
		FROM events ev
		SEMI JOIN graphlet_members mx ON mx.graphlet_id = $1 AND mx.execution_id = ev.execution_id
		SEMI JOIN graphlet_members ma ON ma.graphlet_id = $1 AND ma.artifact_id = ev.artifact_id
		ORDER BY ev.execution_id, ev.artifact_id, ev.direction`, id)
	if err != nil {
		return nil, fmt.Errorf("graphlet %d: %w", id, err)
	}
	defer edges.Close()
	for edges.Next() {
		var x, a int64
		var dir, role string
		if err := edges.Scan(&x, &a, &dir, &role); err != nil {
			return nil, err
		}
		ed := GraphletEdge{From: fmt.Sprintf("a:%d", a), To: fmt.Sprintf("e:%d", x), Role: role}
		if dir == DirectionOut {
			ed.From, ed.To = ed.To, ed.From
		}
		g.Edges = append(g.Edges, ed)
	}
	return g, edges.Err()
}

// WriteDOT writes the graphlet as a Graphviz digraph: executions as boxes, artifacts as
// ellipses, coloured by side.
func (g *Graphlet) WriteDOT(w io.Writer) error {
	colors := map[string]string{"trainer": "#f4a261", "upstream": "#a8dadc", "downstream": "#b7e4c7", "boundary": "#dddddd"}
	var b strings.Builder
	outcome := "not pushed"
	if g.Pushed {
		outcome = "pushed"
	}
	title := fmt.Sprintf("graphlet %d (pipeline %d, %s)", g.ID, g.PipelineID, outcome)
	fmt.Fprintf(&b, "digraph graphlet_%d {\n  rankdir=LR;\n  label=%s;\n  node [style=filled, fontname=\"Helvetica\"];\n", g.ID, dotQuote(title))
	nodes := append([]GraphletNode(nil), g.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Kind > nodes[j].Kind })
	for _, n := range nodes {
		shape, id := "ellipse", fmt.Sprintf("a:%d", n.ID)
		label := fmt.Sprintf("%s %d", n.Type, n.ID)
		if n.Kind == "execution" {
			shape, id = "box", fmt.Sprintf("e:%d", n.ID)
			if n.State != StateComplete {
				label += "\n" + n.State
			}
		} else if n.Span != nil {
			label += fmt.Sprintf("\nspan %d", *n.Span)
		}
		fmt.Fprintf(&b, "  %s [shape=%s, fillcolor=%s, label=%s];\n", dotQuote(id), shape, dotQuote(colors[n.Side]), dotQuote(label))
	}
	for _, e := range g.Edges {
		if e.Role != "" {
			fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(e.Role))
		} else {
			fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(e.From), dotQuote(e.To))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
