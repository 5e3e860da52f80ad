package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"mlprov/engine"
	"mlprov/internal/render"
)

// cli is what every subcommand shares: its streams and environment, injected so tests can
// drive the whole CLI in process.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is what a subcommand's type is made of: the CLI, and the options O that its flags
// are parsed into.
type command[O any] struct {
	*cli
	opts O
}

// common holds the values of the flags that several commands take (see dbFlag and the flags
// after it); a command's options embed it, or are it when the command has no flags of its own.
type common struct {
	db       string
	format   string
	out      string
	json     bool
	quiet    bool
	readOnly bool
}

// subcommand is one `mlprov NAME`.
type subcommand interface {
	Run(ctx context.Context, args []string) error
}

// commands is the one list of subcommands, in the order help shows them.
var commands = []struct {
	name, summary string
	make          func(*cli) subcommand
}{
	{"gen", "generate a synthetic provenance corpus calibrated to the paper", func(c *cli) subcommand { return &genCmd{cli: c} }},
	{"load", "load provenance (MLMD stores, OpenLineage logs, native layout) into the store", func(c *cli) subcommand { return &loadCmd{cli: c} }},
	{"query", "run SQL against the store and print the result", func(c *cli) subcommand { return &queryCmd{cli: c} }},
	{"shell", "explore the store with interactive SQL (or run a script from standard input)", func(c *cli) subcommand { return &shellCmd{cli: c} }},
	{"analyze", "list the canned analyses, or run some by name", func(c *cli) subcommand { return &analyzeCmd{cli: c} }},
	{"report", "run every analysis and write a report with plots", func(c *cli) subcommand { return &reportCmd{cli: c} }},
	{"graphlet", "show one model graphlet's members and edges (table, JSON or Graphviz DOT)", func(c *cli) subcommand { return &graphletCmd{cli: c} }},
	{"refresh", "derive the derived tables again after edits made through SQL", func(c *cli) subcommand { return &refreshCmd{cli: c} }},
	{"lineage", "walk an artifact's or execution's provenance up and down (table, JSON or Graphviz DOT)", func(c *cli) subcommand { return &lineageCmd{cli: c} }},
	{"prune", "study pruning: predict which graphlets will not push, replay history skipping them", func(c *cli) subcommand { return &pruneCmd{cli: c} }},
	{"advise", "before a Trainer runs: train or skip, by the model mlprov prune kept", func(c *cli) subcommand { return &adviseCmd{cli: c} }},
	{"serve", "serve the store over HTTP: an OpenLineage endpoint (as Marquez's) and a JSON API", func(c *cli) subcommand { return &serveCmd{cli: c} }},
	{"export", "write the store's tables as Parquet, CSV or JSON lines, or as an MLMD store", func(c *cli) subcommand { return &exportCmd{cli: c} }},
	{"bench", "benchmark gen, load, analyses, pruning and the ways to derive graphlets, by corpus scale", func(c *cli) subcommand { return &benchCmd{cli: c} }},
	{"version", "print mlprov's version", func(c *cli) subcommand { return &versionCmd{cli: c} }},
	{"help", "show help for mlprov or one command", func(c *cli) subcommand { return &helpCmd{cli: c} }},
}

// usageError is a mistake in how a command was called; the CLI adds a hint to it.
type usageError struct {
	cmd string
	err error
}

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// exitStatus is an answer a command gives by its exit status alone (advise --exit-code): the
// CLI prints nothing for it.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// hintError is an error the CLI prints with a try: line, such as the command and flag that
// get past it: the library's errors state the facts and name no flag.
type hintError struct {
	err  error
	hint string
}

func (h *hintError) Error() string { return h.err.Error() }
func (h *hintError) Unwrap() error { return h.err }

// run is the whole CLI: it returns the process's exit status (0 ok, 1 error, 2 usage).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.run(ctx, args)
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" {
		c.usage(c.stdout)
		return 0
	}
	if args[0] == "--version" {
		args = []string{"version"}
	}
	name := args[0]
	for _, cmd := range commands {
		if cmd.name != name {
			continue
		}
		err := cmd.make(c).Run(ctx, args[1:])
		var hinted *hintError
		var status exitStatus
		switch {
		case err == nil || errors.Is(err, pflag.ErrHelp):
			return 0
		case errors.As(err, &status):
			return int(status)
		case errors.As(err, new(*usageError)):
			fmt.Fprintf(c.stderr, "error: %s\ntry: mlprov %s --help\n", oneLine(err), name)
			return 2
		case ctx.Err() != nil, errors.Is(err, context.Canceled): // a signal, maybe one a command took over
			fmt.Fprintf(c.stderr, "error: interrupted: %s\n", oneLine(err))
			return 130
		case errors.As(err, &hinted):
			fmt.Fprintf(c.stderr, "error: %s\ntry: %s\n", oneLine(err), hinted.hint)
			return 1
		case errors.Is(err, engine.ErrStoreInUse):
			fmt.Fprintf(c.stderr, "error: %s\ntry: wait for it to finish, or use another --db; readers share a store when each opens it read-only (query, shell --read-only)\n", oneLine(err))
			return 1
		}
		fmt.Fprintf(c.stderr, "error: %s\n", oneLine(err))
		return 1
	}
	fmt.Fprintf(c.stderr, "error: unknown command %q\ntry: mlprov help\n", name)
	return 2
}

// oneLine keeps an error to one line, as every mlprov error is printed.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `mlprov loads ML pipeline provenance into an embedded DuckDB store and analyses it.

Usage:
  mlprov COMMAND [flags]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, `
The store is ./mlprov.duckdb unless --db or MLPROV_DB names another.
Run 'mlprov COMMAND --help' for a command's flags.
`)
}

// flag is one of a command's flags: declare adds it to the command's flag set, and check,
// where there is one, vets its value once parsed and returns a usage error.
type flag struct {
	declare func(fs *pflag.FlagSet)
	check   func(cmd string) error
}

// parse makes a command's flag set, declares flags on it in the order given (the order --help
// lists them in) and parses args. --help prints the usage (synopsis, then flags) to stdout and
// returns pflag.ErrHelp; a flag mistake or a value a check refuses is a usage error.
func (c *cli) parse(args []string, name, synopsis string, flags ...flag) (*pflag.FlagSet, error) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(c.stdout, "Usage:\n  %s\n", synopsis)
		if flags := fs.FlagUsages(); flags != "" {
			fmt.Fprintf(c.stdout, "\nFlags:\n%s", flags)
		}
	}
	for _, f := range flags {
		f.declare(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err // pflag has printed the usage
		}
		return nil, &usageError{cmd: name, err: err}
	}
	for _, f := range flags {
		if f.check != nil {
			if err := f.check(name); err != nil {
				return nil, err
			}
		}
	}
	return fs, nil
}

// own declares the flags that are a command's own, those no other command takes.
func own(declare func(fs *pflag.FlagSet)) flag {
	return flag{declare: declare}
}

// The flags that several commands take are each declared once, below; the help text of
// --format, --out, --json and --quiet is the command's, as what they mean depends on it.

// dbFlag is --db, defaulting to MLPROV_DB or ./mlprov.duckdb.
func (c *cli) dbFlag(path *string) flag {
	def := c.getenv("MLPROV_DB")
	if def == "" {
		def = engine.DefaultPath
	}
	return flag{declare: func(fs *pflag.FlagSet) {
		fs.StringVar(path, "db", def, "the store file (env MLPROV_DB; \":memory:\" for none)")
	}}
}

// readOnlyFlag is --read-only, for the commands that can share the store with other readers.
func readOnlyFlag(readOnly *bool) flag {
	return flag{declare: func(fs *pflag.FlagSet) {
		fs.BoolVar(readOnly, "read-only", false, "open the store read-only, so other readers can share it")
	}}
}

// renderFormatFlag is --format for a result printed by package render, one of render.Formats.
func renderFormatFlag(format *string) flag {
	want := strings.Join(render.Formats, ", ")
	return flag{
		declare: func(fs *pflag.FlagSet) {
			fs.StringVar(format, "format", "table", "output format: "+want)
		},
		check: func(cmd string) error {
			if !slices.Contains(render.Formats, *format) {
				return usagef(cmd, "unknown --format %q (want %s)", *format, want)
			}
			return nil
		},
	}
}

// graphFormatFlag is --format for a graph: a table, JSON, or Graphviz DOT, which the help
// shows piped from example (a command line) into file.
func graphFormatFlag(format *string, example, file string) flag {
	return formatFlag(format, "table", "output format: table, json or dot (Graphviz: mlprov "+example+" --format dot | dot -Tsvg > "+file+")")
}

// checkGraphFormat refuses a --format graphFormatFlag does not offer.
func checkGraphFormat(cmd, format string) error {
	switch format {
	case "table", "json", "dot":
		return nil
	}
	return usagef(cmd, "unknown --format %q (want table, json or dot)", format)
}

// checkFileFormat refuses a --format that is neither a file format of the native layout nor
// an MLMD store.
func checkFileFormat(cmd, format string) error {
	if !slices.Contains(engine.FileFormats, format) && format != engine.FormatMLMD {
		return usagef(cmd, "unknown --format %q (want %s or %s)", format, strings.Join(engine.FileFormats, ", "), engine.FormatMLMD)
	}
	return nil
}

// formatFlag is --format, what a command reads or writes.
func formatFlag(format *string, def, usage string) flag {
	return flag{declare: func(fs *pflag.FlagSet) { fs.StringVar(format, "format", def, usage) }}
}

// outFlag is --out, where a command writes.
func outFlag(out *string, def, usage string) flag {
	return flag{declare: func(fs *pflag.FlagSet) { fs.StringVar(out, "out", def, usage) }}
}

// jsonFlag is --json, for a result as JSON.
func jsonFlag(json *bool, usage string) flag {
	return flag{declare: func(fs *pflag.FlagSet) { fs.BoolVar(json, "json", false, usage) }}
}

// quietFlag is -q, --quiet, for less progress.
func quietFlag(quiet *bool, usage string) flag {
	return flag{declare: func(fs *pflag.FlagSet) { fs.BoolVarP(quiet, "quiet", "q", false, usage) }}
}

// openExisting opens a store that must already exist.
func (c *cli) openExisting(ctx context.Context, path string, readOnly bool) (*engine.Engine, error) {
	if path != ":memory:" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s: load provenance first (mlprov load --db %s PATH) or pass --db", path, path)
		}
	}
	// A store derived by an older mlprov is derived again as it opens, which at the paper's
	// scale takes minutes: say so, step by step.
	progress := func(step string) { fmt.Fprintf(c.stderr, "open: %s\n", step) }
	return engine.Open(ctx, path, engine.Options{ReadOnly: readOnly && path != ":memory:", Progress: progress})
}

// writeJSON prints v to w as indented JSON, as --json and --format json print results.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONFile writes v to the file at path as writeJSON prints it.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
