package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/term"

	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/internal/shell"
)

// shellCmd is `mlprov shell`: interactive SQL over the store when standard input and output
// are a terminal, otherwise a script read from standard input that stops at its first error.
type shellCmd command[common]

func (c *shellCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "shell", "mlprov shell [--db FILE] [--read-only] [< SCRIPT]",
		c.dbFlag(&c.opts.db), readOnlyFlag(&c.opts.readOnly))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("shell", "unexpected argument %q (pipe a script to standard input instead)", fs.Arg(0))
	}
	e, err := c.openExisting(ctx, c.opts.db, c.opts.readOnly)
	if err != nil {
		return err
	}
	defer e.Close()
	opts := shell.Options{
		DB:       e.DB(),
		In:       c.stdin,
		Out:      c.stdout,
		Err:      c.stderr,
		Name:     "stdin",
		Analyses: engine.Analyses,
		Graphlet: func(ctx context.Context, id int64) (string, []*render.Result, error) {
			g, err := e.Graphlet(ctx, id)
			if err != nil {
				return "", nil, err
			}
			summary, tables := graphletTables(g)
			return summary, tables, nil
		},
	}
	if !c.opts.readOnly {
		opts.Refresh = func(ctx context.Context, all bool) (string, error) { return afterEdit(ctx, e, all, ".refresh") }
	}
	if isTerminal(c.stdin) && isTerminal(c.stdout) {
		opts.Interactive = true
		opts.HistoryFile = c.historyPath()
		opts.Width = func() int {
			w, _, err := term.GetSize(int(c.stdout.(*os.File).Fd()))
			if err != nil {
				return 0
			}
			return w
		}
		// From here on Ctrl-C cancels the running statement, not the session; SIGTERM and
		// SIGHUP still end it.
		interrupt := make(chan os.Signal, 1)
		signal.Notify(interrupt, os.Interrupt)
		defer signal.Stop(interrupt)
		opts.Interrupt = interrupt
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.WithoutCancel(ctx), syscall.SIGTERM, syscall.SIGHUP)
		defer stop()
		fmt.Fprintf(c.stderr, "mlprov shell on %s: end statements with ;  .help for help, Ctrl-D to leave\n", e.Path())
	}
	if err := shell.Run(ctx, opts); err != nil {
		return err
	}
	return e.Close()
}

// historyPath is MLPROV_HISTORY, else ~/.mlprov_history, else none.
func (c *shellCmd) historyPath() string {
	if p := c.getenv("MLPROV_HISTORY"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".mlprov_history")
}
