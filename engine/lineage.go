package engine

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"mlprov/catalog"
	mlsql "mlprov/sql"
)

// Node names an artifact or an execution. Their ids are numbered apart, so the same number
// can be both; Kind says which, or is empty when the store is to tell.
type Node struct {
	Kind string // "artifact", "execution" or ""
	ID   int64
}

// String writes the node as ParseNode reads it: a:ID, e:ID, or the bare id.
func (n Node) String() string {
	if n.Kind == "" {
		return strconv.FormatInt(n.ID, 10)
	}
	return n.Kind[:1] + ":" + strconv.FormatInt(n.ID, 10)
}

// ParseNode reads a node as a:ID or artifact:ID, e:ID or execution:ID, or a bare ID whose
// kind the store will tell.
func ParseNode(s string) (Node, error) {
	prefix, num, hasPrefix := strings.Cut(s, ":")
	var n Node
	switch {
	case !hasPrefix:
		num = s
	case prefix == "a" || prefix == "artifact":
		n.Kind = "artifact"
	case prefix == "e" || prefix == "execution":
		n.Kind = "execution"
	default:
		return n, fmt.Errorf("unknown kind %q in %q (want a:ID for an artifact or e:ID for an execution)", prefix, s)
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return n, fmt.Errorf("%q is not an id (want a:ID for an artifact or e:ID for an execution)", s)
	}
	n.ID = id
	return n, nil
}

// NoNodeError means the store has no node of the asked kind and id; it wraps ErrNoNode.
type NoNodeError struct {
	Node Node
	// Other is the kind that does have the id ("" when neither does).
	Other string
}

func (e *NoNodeError) Error() string {
	what := e.Node.Kind
	if what == "" {
		what = "artifact or execution"
	}
	msg := fmt.Sprintf("no %s %d in the store", what, e.Node.ID)
	if e.Other != "" {
		msg += fmt.Sprintf(" (an %s has that id: %s)", e.Other, Node{Kind: e.Other, ID: e.Node.ID})
	}
	return msg
}

func (e *NoNodeError) Unwrap() error { return ErrNoNode }

// LineageOptions say how far a lineage walk goes.
type LineageOptions struct {
	// Up and Down are the directions to walk; neither means both.
	Up, Down bool
	// Depth is the most hops to walk; 0 means no limit.
	Depth int
	// Relinks also follows re-links: the out events of cache hits and Resolvers, which point
	// at artifacts made earlier by another execution. Without it an artifact leads up only to
	// the execution that made it, as in graphlets.
	Relinks bool
}

// LineageNode is one node a lineage walk reached.
type LineageNode struct {
	Kind string `json:"kind"` // "execution" or "artifact"
	ID   int64  `json:"id"`
	Type string `json:"type"` // the execution's op_type or the artifact's type
	// Time is an execution's start or an artifact's creation, in UTC; nil when unknown.
	Time *time.Time `json:"time"`
	// Dir is "up" or "down", or "" for the node the walk started from.
	Dir string `json:"dir"`
	// Hops is how many events away from the start the node is, by the shortest way.
	Hops int `json:"hops"`
	// Role lists the channels of the events that reached the node, comma-separated.
	Role string `json:"role,omitempty"`
	// Relink marks a node that only re-links reached (with LineageOptions.Relinks).
	Relink bool `json:"relink,omitempty"`
}

// Ref is the node's reference as edges and ParseNode write it: a:ID or e:ID.
func (n LineageNode) Ref() string { return Node{Kind: n.Kind, ID: n.ID}.String() }

// LineageEdge is one event between two nodes of a walk: from an artifact to the execution that
// read it, or from an execution to the artifact it wrote.
type LineageEdge struct {
	From   string `json:"from"` // "a:ID" or "e:ID"
	To     string `json:"to"`
	Role   string `json:"role,omitempty"`
	Relink bool   `json:"relink,omitempty"`
}

// Lineage is the result of a walk: the start node, every node reached (the start first among
// them at 0 hops, ancestors before it, descendants after) and the events between them.
type Lineage struct {
	Start   LineageNode
	Options LineageOptions // as walked: Up and Down both set for a walk both ways
	Nodes   []LineageNode
	Edges   []LineageEdge
}

// Querier runs a query: a *sql.DB, or a *sql.Conn that keeps a session's transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// WalkLineage walks the provenance of start through q's events: upstream an artifact leads
// to the execution that made it and an execution to what it read, downstream the other way
// round. It returns a *NoNodeError (errors.Is ErrNoNode) when the store has no such node, and
// an error when a bare id names both an artifact and an execution.
func WalkLineage(ctx context.Context, q Querier, start Node, opts LineageOptions) (*Lineage, error) {
	if !opts.Up && !opts.Down {
		opts.Up, opts.Down = true, true
	}
	kind, err := resolveNode(ctx, q, start)
	if err != nil {
		return nil, err
	}
	start.Kind = kind
	var depth any
	if opts.Depth > 0 {
		depth = opts.Depth
	}
	rows, err := q.QueryContext(ctx, query("lineage"), start.Kind, start.ID, opts.Up, opts.Down, depth, opts.Relinks)
	if err != nil {
		return nil, fmt.Errorf("lineage of %s: %w", start, err)
	}
	defer rows.Close()
	l := &Lineage{Options: opts}
	var artifacts, executions []int64
	for rows.Next() {
		var n LineageNode
		var typ, role sql.NullString
		var at sql.NullTime
		if err := rows.Scan(&n.Dir, &n.Hops, &n.Kind, &n.ID, &typ, &at, &role, &n.Relink); err != nil {
			return nil, fmt.Errorf("lineage of %s: %w", start, err)
		}
		n.Type, n.Role = typ.String, role.String
		if at.Valid {
			t := at.Time.UTC()
			n.Time = &t
		}
		if n.Dir == "" {
			l.Start = n
		}
		if n.Kind == "artifact" {
			artifacts = append(artifacts, n.ID)
		} else {
			executions = append(executions, n.ID)
		}
		l.Nodes = append(l.Nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lineage of %s: %w", start, err)
	}
	if l.Edges, err = lineageEdges(ctx, q, artifacts, executions, opts.Relinks); err != nil {
		return nil, fmt.Errorf("lineage of %s: %w", start, err)
	}
	return l, nil
}

// resolveNode returns n's kind, found in the store when n does not say.
func resolveNode(ctx context.Context, q Querier, n Node) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT 'artifact' FROM artifacts WHERE artifact_id = $1
		UNION ALL SELECT 'execution' FROM executions WHERE execution_id = $1`, n.ID)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", n, err)
	}
	defer rows.Close()
	has := map[string]bool{}
	for rows.Next() {
		var kind string
		if err := rows.Scan(&kind); err != nil {
			return "", fmt.Errorf("find %s: %w", n, err)
		}
		has[kind] = true
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("find %s: %w", n, err)
	}
	switch {
	case n.Kind != "" && has[n.Kind]:
		return n.Kind, nil
	case n.Kind != "":
		e := &NoNodeError{Node: n}
		for other := range has {
			e.Other = other
		}
		return "", e
	case len(has) == 2:
		return "", fmt.Errorf("%d is both an artifact id and an execution id: write a:%d or e:%d", n.ID, n.ID, n.ID)
	}
	for kind := range has {
		return kind, nil
	}
	return "", &NoNodeError{Node: n}
}

func lineageEdges(ctx context.Context, q Querier, artifacts, executions []int64, relinks bool) ([]LineageEdge, error) {
	if len(artifacts) == 0 || len(executions) == 0 {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, query("lineage_events"), artifacts, executions, relinks)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var edges []LineageEdge
	for rows.Next() {
		var x, a int64
		var dir string
		var ed LineageEdge
		if err := rows.Scan(&x, &a, &dir, &ed.Role, &ed.Relink); err != nil {
			return nil, err
		}
		ed.From, ed.To = fmt.Sprintf("a:%d", a), fmt.Sprintf("e:%d", x)
		if dir == DirectionOut {
			ed.From, ed.To = ed.To, ed.From
		}
		edges = append(edges, ed)
	}
	return edges, rows.Err()
}

// query returns the text of sql/queries/NAME.sql.
func query(name string) string {
	file := "queries/" + name + ".sql"
	text, err := fs.ReadFile(mlsql.FS, file)
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	if _, err := catalog.ParseHeader(file, text, "name", "description"); err != nil {
		panic(err) // checked by the tests
	}
	return string(text)
}

// Describe says in words what the walk covered, such as "upstream, at most 2 hops".
func (o LineageOptions) Describe() string {
	dirs := "upstream and downstream"
	switch {
	case !o.Down:
		dirs = "upstream"
	case !o.Up:
		dirs = "downstream"
	}
	reach := "all hops"
	if o.Depth > 0 {
		reach = fmt.Sprintf("at most %d hop", o.Depth)
		if o.Depth > 1 {
			reach += "s"
		}
	}
	if o.Relinks {
		reach += ", with re-links"
	}
	return dirs + ", " + reach
}

// WriteDOT writes the walk as a Graphviz digraph: executions as boxes, artifacts as
// ellipses, the start node filled, ancestors and descendants coloured apart, and re-links
// dashed.
func (l *Lineage) WriteDOT(w io.Writer) error {
	colors := map[string]string{"": "#f4a261", "up": "#a8dadc", "down": "#b7e4c7"}
	var b strings.Builder
	title := fmt.Sprintf("lineage of %s %d (%s), %s", l.Start.Kind, l.Start.ID, l.Start.Type, l.Options.Describe())
	fmt.Fprintf(&b, "digraph lineage {\n  rankdir=LR;\n  label=%s;\n  node [style=filled, fontname=\"Helvetica\"];\n", dotQuote(title))
	seen := map[string]bool{}
	for _, n := range l.Nodes {
		ref := n.Ref()
		if seen[ref] {
			continue // reached both ways round a cycle: drawn once
		}
		seen[ref] = true
		shape := "ellipse"
		if n.Kind == "execution" {
			shape = "box"
		}
		label := fmt.Sprintf("%s %d", n.Type, n.ID)
		if n.Time != nil {
			label += "\n" + n.Time.Format("2006-01-02 15:04")
		}
		style := ""
		if n.Relink {
			style = ", style=\"filled,dashed\""
		}
		fmt.Fprintf(&b, "  %s [shape=%s, fillcolor=%s, label=%s%s];\n", dotQuote(ref), shape, dotQuote(colors[n.Dir]), dotQuote(label), style)
	}
	for _, e := range l.Edges {
		var attrs []string
		if e.Role != "" {
			attrs = append(attrs, "label="+dotQuote(e.Role))
		}
		if e.Relink {
			attrs = append(attrs, "style=dashed")
		}
		fmt.Fprintf(&b, "  %s -> %s", dotQuote(e.From), dotQuote(e.To))
		if len(attrs) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(attrs, ", "))
		}
		b.WriteString(";\n")
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
