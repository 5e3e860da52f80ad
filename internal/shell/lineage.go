package shell

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// lineageSQL walks the events table from one node; see the file for its parameters.
//
//go:embed lineage.sql
var lineageSQL string

// lineageArgs are the arguments of .lineage.
type lineageArgs struct {
	kind     string // "artifact", "execution", or "" to find the id's kind
	id       int64
	up, down bool
	hops     int // 0 for no limit
}

// parseLineage reads `.lineage ID [--up|--down] [--hops N] [--artifact|--execution]`. The id
// may carry its kind as a prefix: a:ID or artifact:ID, e:ID or execution:ID, since artifacts
// and executions number their ids apart. Neither --up nor --down walks both ways.
func parseLineage(args []string) (lineageArgs, error) {
	var a lineageArgs
	haveID := false
	setKind := func(kind string) error {
		if a.kind != "" && a.kind != kind {
			return fmt.Errorf(".lineage: the node cannot be both an %s and an %s", a.kind, kind)
		}
		a.kind = kind
		return nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		flag, value, hasValue := strings.Cut(arg, "=")
		switch {
		case flag == "--up" && !hasValue:
			a.up = true
		case flag == "--down" && !hasValue:
			a.down = true
		case flag == "--artifact" && !hasValue, flag == "--execution" && !hasValue:
			if err := setKind(strings.TrimPrefix(flag, "--")); err != nil {
				return a, err
			}
		case flag == "--hops":
			if !hasValue {
				if i+1 == len(args) {
					return a, errors.New(".lineage: --hops needs a number")
				}
				i++
				value = args[i]
			}
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return a, fmt.Errorf(".lineage: --hops wants a number above 0, not %q", value)
			}
			a.hops = n
		case strings.HasPrefix(arg, "-"):
			return a, fmt.Errorf(".lineage: unknown flag %s (want --up, --down, --hops N, --artifact or --execution)", arg)
		default:
			if haveID {
				return a, fmt.Errorf(".lineage: one id at a time, not %q and %q", strconv.FormatInt(a.id, 10), arg)
			}
			prefix, num, hasPrefix := strings.Cut(arg, ":")
			if !hasPrefix {
				num = arg
			}
			switch {
			case !hasPrefix:
			case prefix == "a" || prefix == "artifact":
				if err := setKind("artifact"); err != nil {
					return a, err
				}
			case prefix == "e" || prefix == "execution":
				if err := setKind("execution"); err != nil {
					return a, err
				}
			default:
				return a, fmt.Errorf(".lineage: unknown kind %q in %q (want a:ID or e:ID)", prefix, arg)
			}
			id, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return a, fmt.Errorf(".lineage: %q is not an id", arg)
			}
			a.id, haveID = id, true
		}
	}
	if !haveID {
		return a, errors.New("usage: .lineage ID [--up|--down] [--hops N]")
	}
	if !a.up && !a.down {
		a.up, a.down = true, true
	}
	return a, nil
}

// nodeSQL finds which kinds of node have an id, and their type.
const nodeSQL = `SELECT 'artifact' AS kind, type FROM artifacts WHERE artifact_id = $1
UNION ALL SELECT 'execution', op_type FROM executions WHERE execution_id = $1
ORDER BY kind`

func (s *session) lineage(ctx context.Context, c command) error {
	a, err := parseLineage(c.args)
	if err != nil {
		return err
	}
	found, err := s.query(ctx, nodeSQL, a.id)
	if err != nil {
		return fmt.Errorf(".lineage: %w", err)
	}
	kinds := map[string]string{} // kind → type
	for _, r := range found.Rows {
		kinds[r[0].(string)], _ = r[1].(string)
	}
	switch {
	case a.kind != "" && kinds[a.kind] == "" && len(kinds) == 1:
		other := "artifact"
		if a.kind == other {
			other = "execution"
		}
		return fmt.Errorf(".lineage: no %s has id %d (an %s does: %s:%d)", a.kind, a.id, other, other[:1], a.id)
	case a.kind != "" && kinds[a.kind] == "":
		return fmt.Errorf(".lineage: no %s has id %d", a.kind, a.id)
	case a.kind == "" && len(kinds) == 0:
		return fmt.Errorf(".lineage: no artifact or execution has id %d", a.id)
	case a.kind == "" && len(kinds) == 2:
		return fmt.Errorf(".lineage: %d is both an artifact id and an execution id: write a:%d or e:%d", a.id, a.id, a.id)
	case a.kind == "":
		for k := range kinds {
			a.kind = k
		}
	}
	dirs := "upstream and downstream"
	switch {
	case !a.down:
		dirs = "upstream"
	case !a.up:
		dirs = "downstream"
	}
	var hops any
	reach := "all hops"
	if a.hops > 0 {
		hops = a.hops
		reach = fmt.Sprintf("at most %d %s", a.hops, pluralize(a.hops, "hop"))
	}
	s.note("lineage of %s %d (%s), %s, %s:", a.kind, a.id, kinds[a.kind], dirs, reach)
	res, err := s.query(ctx, lineageSQL, a.kind, a.id, a.up, a.down, hops)
	if err != nil {
		return fmt.Errorf(".lineage: %w", err)
	}
	return s.show(res)
}

func pluralize(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
