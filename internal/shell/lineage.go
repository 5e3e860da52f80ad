package shell

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mlprov/engine"
	"mlprov/internal/render"
)

// lineageArgs are the arguments of .lineage.
type lineageArgs struct {
	node engine.Node
	opts engine.LineageOptions
}

// parseLineage reads `.lineage ID [--up|--down] [--hops N] [--relinks] [--artifact|--execution]`.
// The id may carry its kind as a prefix: a:ID or artifact:ID, e:ID or execution:ID, since
// artifacts and executions number their ids apart. Neither --up nor --down walks both ways;
// --depth is another name for --hops, as mlprov lineage calls it.
func parseLineage(args []string) (lineageArgs, error) {
	var a lineageArgs
	haveID := false
	setKind := func(kind string) error {
		if a.node.Kind != "" && a.node.Kind != kind {
			return fmt.Errorf(".lineage: the node cannot be both an %s and an %s", a.node.Kind, kind)
		}
		a.node.Kind = kind
		return nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		flag, value, hasValue := strings.Cut(arg, "=")
		switch {
		case flag == "--up" && !hasValue:
			a.opts.Up = true
		case flag == "--down" && !hasValue:
			a.opts.Down = true
		case flag == "--relinks" && !hasValue:
			a.opts.Relinks = true
		case flag == "--artifact" && !hasValue, flag == "--execution" && !hasValue:
			if err := setKind(strings.TrimPrefix(flag, "--")); err != nil {
				return a, err
			}
		case flag == "--hops", flag == "--depth":
			if !hasValue {
				if i+1 == len(args) {
					return a, fmt.Errorf(".lineage: %s needs a number", flag)
				}
				i++
				value = args[i]
			}
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return a, fmt.Errorf(".lineage: %s wants a number above 0, not %q", flag, value)
			}
			a.opts.Depth = n
		case strings.HasPrefix(arg, "-"):
			return a, fmt.Errorf(".lineage: unknown flag %s (want --up, --down, --hops N, --relinks, --artifact or --execution)", arg)
		default:
			if haveID {
				return a, fmt.Errorf(".lineage: one id at a time, not %q and %q", strconv.FormatInt(a.node.ID, 10), arg)
			}
			n, err := engine.ParseNode(arg)
			if err != nil {
				return a, fmt.Errorf(".lineage: %w", err)
			}
			if n.Kind != "" {
				if err := setKind(n.Kind); err != nil {
					return a, err
				}
			}
			a.node.ID, haveID = n.ID, true
		}
	}
	if !haveID {
		return a, errors.New("usage: .lineage ID [--up|--down] [--hops N] [--relinks]")
	}
	if !a.opts.Up && !a.opts.Down {
		a.opts.Up, a.opts.Down = true, true
	}
	return a, nil
}

func (s *session) lineage(ctx context.Context, c command) error {
	a, err := parseLineage(c.args)
	if err != nil {
		return err
	}
	var l *engine.Lineage
	err = s.interruptible(ctx, func(ctx context.Context) error {
		var err error
		l, err = engine.WalkLineage(ctx, s.conn, a.node, a.opts)
		return err
	})
	if err != nil {
		return fmt.Errorf(".lineage: %w", err)
	}
	s.note("lineage of %s %d (%s), %s:", l.Start.Kind, l.Start.ID, l.Start.Type, l.Options.Describe())
	return s.show(LineageTable(l))
}

// LineageTable presents a lineage walk as a table, one row per node in the order of the walk;
// mlprov lineage prints the same. The relink column is there only when re-links were asked
// for.
func LineageTable(l *engine.Lineage) *render.Result {
	res := &render.Result{Columns: []string{"dir", "hops", "kind", "id", "type", "time", "role"}}
	if l.Options.Relinks {
		res.Columns = append(res.Columns, "relink")
	}
	for _, n := range l.Nodes {
		var at, role any
		if n.Time != nil {
			at = *n.Time
		}
		if n.Role != "" {
			role = n.Role
		}
		row := []any{n.Dir, n.Hops, n.Kind, n.ID, n.Type, at, role}
		if l.Options.Relinks {
			row = append(row, n.Relink)
		}
		res.Rows = append(res.Rows, row)
	}
	return res
}
