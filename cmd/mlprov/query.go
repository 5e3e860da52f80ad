package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"mlprov/internal/render"
	"mlprov/internal/shell"
)

type queryOptions struct {
	common
	file string
}

// queryCmd is `mlprov query`: SQL from the argument or a file, one statement after another.
// In table, markdown and line formats every statement's result is printed; csv and json
// print the last one, so that the output stays one document.
type queryCmd command[queryOptions]

func (c *queryCmd) Run(ctx context.Context, args []string) (err error) {
	fs, err := c.parse(args, "query", "mlprov query [--db FILE] [--read-only] [--format table|csv|json|markdown|line] (SQL | -f FILE)",
		c.dbFlag(&c.opts.db), renderFormatFlag(&c.opts.format),
		own(func(fs *pflag.FlagSet) {
			fs.StringVarP(&c.opts.file, "file", "f", "", "read the SQL from FILE (- for standard input)")
		}),
		readOnlyFlag(&c.opts.readOnly))
	if err != nil {
		return err
	}
	var text string
	switch {
	case c.opts.file != "" && fs.NArg() > 0:
		return usagef("query", "give the SQL as an argument or with -f, not both")
	case c.opts.file == "-":
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		text = string(b)
	case c.opts.file != "":
		b, err := os.ReadFile(c.opts.file)
		if err != nil {
			return err
		}
		text = string(b)
	case fs.NArg() == 1:
		text = fs.Arg(0)
	case fs.NArg() > 1:
		return usagef("query", "quote the SQL as one argument")
	default:
		return usagef("query", "query needs SQL or -f FILE")
	}
	stmts, rest := shell.Split(text)
	if shell.HasCode(rest) {
		stmts = append(stmts, rest)
	}
	if len(stmts) == 0 {
		return usagef("query", "the SQL holds no statement")
	}
	e, err := c.openExisting(ctx, c.opts.db, c.opts.readOnly)
	if err != nil {
		return err
	}
	defer e.Close()
	// One connection, so that settings and temporary tables carry from one statement to the next.
	conn, err := e.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	document := c.opts.format == "csv" || c.opts.format == "json"
	wrote := false
	defer func() {
		// An edit leaves the derived tables behind: follow it, or say so (see afterEdit).
		if wrote && err == nil && !c.opts.readOnly {
			var msg string
			if msg, err = afterEdit(ctx, e, false, "mlprov refresh --db "+c.opts.db); msg != "" {
				fmt.Fprintln(c.stderr, msg)
			}
		}
	}()
	for i, stmt := range stmts {
		w, err := shell.Writes(ctx, conn, stmt)
		if err == nil {
			wrote = wrote || w
		}
		res, err := render.Query(ctx, conn, stmt)
		if err != nil {
			if len(stmts) > 1 {
				return fmt.Errorf("statement %d: %w", i+1, err)
			}
			return err
		}
		last := i == len(stmts)-1
		if document && !last {
			continue
		}
		if err := render.Write(c.stdout, c.opts.format, res); err != nil {
			return err
		}
		if !last {
			fmt.Fprintln(c.stdout)
		}
	}
	return nil
}
