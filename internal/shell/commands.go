package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"mlprov/catalog"
	"mlprov/internal/render"
)

// command is one dot-command line, parsed.
type command struct {
	name string   // with its dot: ".mode"
	args []string // the words after the name, unquoted
	rest string   // everything after the name as typed, trimmed, without a final semicolon
}

// isCommand reports whether line is a dot-command rather than SQL.
func isCommand(line string) bool {
	return strings.HasPrefix(strings.TrimSpace(line), ".")
}

// parseCommand splits a dot-command line into its name and arguments. An argument may be
// quoted, wholly or in part, with '...' or "..." to hold spaces; a doubled quote inside
// stands for one.
func parseCommand(line string) (command, error) {
	// A semicolon at the end is a habit from SQL, not part of the last argument.
	line = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ";"))
	if !strings.HasPrefix(line, ".") {
		return command{}, fmt.Errorf("%q is not a dot-command", line)
	}
	name, rest := line, ""
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		name, rest = line[:i], line[i+1:]
	}
	c := command{name: name, rest: strings.TrimSpace(rest)}
	// Words are split at white space; a quoted part of a word loses its quotes.
	var word strings.Builder
	inWord := false
	for i := 0; i < len(rest); {
		switch ch := rest[i]; ch {
		case ' ', '\t':
			if inWord {
				c.args = append(c.args, word.String())
				word.Reset()
				inWord = false
			}
			i++
		case '\'', '"':
			end, ok := skipQuoted(rest, i+1, ch)
			if !ok {
				return command{}, fmt.Errorf("%s: unclosed %c quote", name, ch)
			}
			q := string(ch)
			word.WriteString(strings.ReplaceAll(rest[i+1:end-1], q+q, q))
			inWord = true
			i = end
		default:
			word.WriteByte(ch)
			inWord = true
			i++
		}
	}
	if inWord {
		c.args = append(c.args, word.String())
	}
	return c, nil
}

// commandSpec is one dot-command: its name, arguments, help and what it does.
type commandSpec struct {
	name    string
	usage   string // the arguments, for help
	help    string
	minArgs int
	maxArgs int  // -1 for any number
	timed   bool // .timer times it, as it runs a query of its own
	run     func(s *session, ctx context.Context, c command) error
}

// commands are the dot-commands, in the order .help lists them. They are set in init,
// because .help reads them.
var commands []commandSpec

func init() {
	commands = []commandSpec{
		{".help", "[COMMAND]", "show the dot-commands, or one of them", 0, 1, false, (*session).help},
		{".tables", "", "list the tables, with their columns and rows", 0, 0, true, (*session).tables},
		{".views", "", "list the views, with their columns", 0, 0, true, (*session).views},
		{".schema", "[NAME]", "show the CREATE statements of the tables and views, or of NAME", 0, 1, true, (*session).schema},
		{".analyses", "", "list the canned analyses", 0, 0, false, (*session).listAnalyses},
		{".run", "ANALYSIS", "run a canned analysis", 1, 1, false, (*session).runAnalysis},
		{".lineage", "ID [--up|--down] [--hops N] [--relinks]", "walk the provenance of an artifact or execution (a:ID or e:ID says which); --relinks also follows cache hits' and Resolvers' re-links", 1, -1, true, (*session).lineage},
		{".graphlet", "ID", "show a model graphlet (ID is its Trainer's execution_id): members and edges", 1, 1, true, (*session).graphlet},
		{".refresh", "", "derive the derived tables again after edits of the tables they come from", 0, 0, true, (*session).refresh},
		{".explain", "[analyze] SQL", "show the plan of SQL; with analyze, run it and show what each step took", 1, -1, true, (*session).explain},
		{".mode", "[MODE]", "print results as " + strings.Join(render.Formats, ", "), 0, 1, false, (*session).setMode},
		{".headers", "on|off", "print the header row of tables and CSV", 1, 1, false, (*session).setHeaders},
		{".maxrows", "[N]", "show at most N rows of a table on the terminal (0 for all)", 0, 1, false, (*session).setMaxRows},
		{".timer", "on|off", "print how long each statement took", 1, 1, false, (*session).setTimer},
		{".output", "[FILE]", "send results to FILE, or back to the terminal", 0, 1, false, (*session).setOutput},
		{".once", "FILE", "send the next result to FILE", 1, 1, false, (*session).setOnce},
		{".read", "FILE", "run the statements and dot-commands in FILE, up to its first error", 1, 1, false, (*session).read},
		{".quit", "", "leave the shell (so does Ctrl-D)", 0, 0, false, (*session).quit},
		{".exit", "", "leave the shell", 0, 0, false, (*session).quit},
	}
}

func lookupCommand(name string) (commandSpec, bool) {
	for _, spec := range commands {
		if spec.name == name {
			return spec, true
		}
	}
	return commandSpec{}, false
}

// command runs one dot-command line.
func (s *session) command(ctx context.Context, line string) error {
	c, err := parseCommand(line)
	if err != nil {
		return err
	}
	spec, ok := lookupCommand(c.name)
	if !ok {
		return fmt.Errorf("unknown command %s: .help lists them", c.name)
	}
	if len(c.args) < spec.minArgs || spec.maxArgs >= 0 && len(c.args) > spec.maxArgs {
		return fmt.Errorf("usage: %s", strings.TrimSpace(spec.name+" "+spec.usage))
	}
	start := time.Now()
	if err := spec.run(s, ctx, c); err != nil {
		return err
	}
	if spec.timed {
		s.printTime(start)
	}
	return nil
}

func (s *session) quit(context.Context, command) error { return errQuit }

func (s *session) help(_ context.Context, c command) error {
	w := s.opts.Out
	if len(c.args) == 1 {
		name := c.args[0]
		if !strings.HasPrefix(name, ".") {
			name = "." + name
		}
		spec, ok := lookupCommand(name)
		if !ok {
			return fmt.Errorf("unknown command %s: .help lists them", name)
		}
		fmt.Fprintf(w, "%s %s\n    %s\n", spec.name, spec.usage, spec.help)
		return nil
	}
	width := 0
	for _, spec := range commands {
		width = max(width, len(spec.name)+1+len(spec.usage))
	}
	for _, spec := range commands {
		fmt.Fprintf(w, "%-*s  %s\n", width, strings.TrimSpace(spec.name+" "+spec.usage), spec.help)
	}
	fmt.Fprintln(w, "\nSQL statements end with a semicolon and may span lines. Tab completes names;")
	fmt.Fprintln(w, "Ctrl-C cancels a running statement or clears the line; Ctrl-D leaves.")
	return nil
}

// parseSwitch reads on/off (or true/false, 1/0, yes/no).
func parseSwitch(name, arg string) (bool, error) {
	switch strings.ToLower(arg) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s: want on or off, not %q", name, arg)
}

func (s *session) setMode(_ context.Context, c command) error {
	if len(c.args) == 0 {
		fmt.Fprintln(s.opts.Out, s.mode)
		return nil
	}
	mode := strings.ToLower(c.args[0])
	if !slices.Contains(render.Formats, mode) {
		return fmt.Errorf(".mode: unknown mode %q (want %s)", c.args[0], strings.Join(render.Formats, ", "))
	}
	s.mode = mode
	return nil
}

func (s *session) setHeaders(_ context.Context, c command) (err error) {
	s.headers, err = parseSwitch(".headers", c.args[0])
	return err
}

func (s *session) setTimer(_ context.Context, c command) (err error) {
	s.timer, err = parseSwitch(".timer", c.args[0])
	return err
}

func (s *session) setMaxRows(_ context.Context, c command) error {
	if len(c.args) == 0 {
		_, opts := s.target()
		fmt.Fprintln(s.opts.Out, opts.MaxRows)
		return nil
	}
	n, err := strconv.Atoi(c.args[0])
	if err != nil || n < 0 {
		return fmt.Errorf(".maxrows: want a count of rows (0 for all), not %q", c.args[0])
	}
	s.maxRows = n
	return nil
}

func (s *session) setOutput(_ context.Context, c command) error {
	if s.output != nil {
		err := s.output.Close()
		s.output = nil
		if err != nil {
			return fmt.Errorf(".output: close the previous file: %w", err)
		}
	}
	if len(c.args) == 0 || c.args[0] == "-" {
		return nil
	}
	f, err := os.Create(c.args[0])
	if err != nil {
		return fmt.Errorf(".output: %w", err)
	}
	s.output = f
	return nil
}

func (s *session) setOnce(_ context.Context, c command) error {
	if s.once != nil {
		s.once.Close()
		s.once = nil
	}
	f, err := os.Create(c.args[0])
	if err != nil {
		return fmt.Errorf(".once: %w", err)
	}
	s.once = f
	return nil
}

// maxReadDepth bounds .read inside .read, so that a file that reads itself stops.
const maxReadDepth = 16

func (s *session) read(ctx context.Context, c command) error {
	if s.readDepth >= maxReadDepth {
		return fmt.Errorf(".read: files nested more than %d deep", maxReadDepth)
	}
	f, err := os.Open(c.args[0])
	if err != nil {
		return fmt.Errorf(".read: %w", err)
	}
	defer f.Close()
	s.readDepth++
	defer func() { s.readDepth-- }()
	pending := s.pending
	defer func() { s.pending = pending }()
	return s.loop(ctx, newScript(f), c.args[0])
}

// Catalog queries: what is in the store and the session's temporary schema. Names outside the
// main schema (the live views.* definitions of the derived tables) carry their schema.
const (
	tablesSQL = `SELECT table_name AS name, column_count AS columns, estimated_size AS rows
FROM duckdb_tables() WHERE NOT internal AND database_name IN (current_database(), 'temp')
ORDER BY database_name = 'temp', name`
	viewsSQL = `SELECT CASE WHEN schema_name = 'main' THEN view_name ELSE schema_name || '.' || view_name END AS name,
       column_count AS columns
FROM duckdb_views() WHERE NOT internal AND database_name IN (current_database(), 'temp')
ORDER BY database_name = 'temp', name`
	schemaSQL = `SELECT name, sql FROM (
    SELECT table_name AS name, sql, database_name AS db, 0 AS kind FROM duckdb_tables() WHERE NOT internal
    UNION ALL
    SELECT view_name, sql, database_name, 1 FROM duckdb_views() WHERE NOT internal
) WHERE db IN (current_database(), 'temp') AND ($1::VARCHAR IS NULL OR lower(name) = lower($1::VARCHAR))
ORDER BY db = 'temp', kind, name`
)

func (s *session) tables(ctx context.Context, _ command) error {
	res, err := s.query(ctx, tablesSQL)
	if err != nil {
		return fmt.Errorf(".tables: %w", err)
	}
	return s.show(res)
}

func (s *session) views(ctx context.Context, _ command) error {
	res, err := s.query(ctx, viewsSQL)
	if err != nil {
		return fmt.Errorf(".views: %w", err)
	}
	return s.show(res)
}

func (s *session) schema(ctx context.Context, c command) error {
	var name any
	if len(c.args) == 1 {
		name = c.args[0]
	}
	res, err := s.query(ctx, schemaSQL, name)
	if err != nil {
		return fmt.Errorf(".schema: %w", err)
	}
	if len(res.Rows) == 0 && name != nil {
		return fmt.Errorf(".schema: no table or view named %q", name)
	}
	w, _ := s.target()
	for _, r := range res.Rows {
		fmt.Fprintln(w, render.Text(r[1], ""))
	}
	return s.endOnce()
}

// endOnce closes a .once file after output that did not go through write.
func (s *session) endOnce() error {
	if s.once == nil {
		return nil
	}
	err := s.once.Close()
	s.once = nil
	return err
}

func (s *session) explain(ctx context.Context, c command) error {
	q, analyze := c.rest, false
	if first, after, _ := strings.Cut(q, " "); strings.EqualFold(first, "analyze") {
		q, analyze = strings.TrimSpace(after), true
	}
	if q == "" {
		return errors.New("usage: .explain [analyze] SQL")
	}
	prefix := "EXPLAIN "
	if analyze {
		prefix = "EXPLAIN ANALYZE "
	}
	res, err := s.query(ctx, prefix+q)
	if err != nil {
		return err
	}
	return s.writePlan(res)
}

func (s *session) listAnalyses(context.Context, command) error {
	as, err := s.analyses()
	if err != nil {
		return err
	}
	res := &render.Result{Columns: []string{"name", "description"}}
	for _, a := range as {
		res.Rows = append(res.Rows, []any{a.Name, a.Description})
	}
	return s.show(res)
}

func (s *session) analyses() ([]catalog.Analysis, error) {
	if s.opts.Analyses == nil {
		return nil, errors.New("this mlprov has no canned analyses")
	}
	as, err := s.opts.Analyses()
	if err != nil {
		return nil, fmt.Errorf("list the analyses: %w", err)
	}
	return as, nil
}

func (s *session) runAnalysis(ctx context.Context, c command) error {
	as, err := s.analyses()
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.Name != c.args[0] {
			continue
		}
		stmts, rest := Split(a.SQL)
		if HasCode(rest) {
			stmts = append(stmts, strings.TrimSpace(rest))
		}
		for i, stmt := range stmts {
			if err := s.exec(ctx, stmt); err != nil {
				if len(stmts) > 1 {
					return fmt.Errorf("analysis %s, statement %d: %w", a.Name, i+1, err)
				}
				return fmt.Errorf("analysis %s: %w", a.Name, err)
			}
		}
		return nil
	}
	return fmt.Errorf("no analysis named %q: .analyses lists them", c.args[0])
}

func (s *session) graphlet(ctx context.Context, c command) error {
	if s.opts.Graphlet == nil {
		return errors.New(".graphlet: not available in this session")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(c.args[0], "e:"), 10, 64)
	if err != nil {
		return fmt.Errorf(".graphlet: %q is not an id (a Trainer's execution_id)", c.args[0])
	}
	summary, tables, err := s.opts.Graphlet(ctx, id)
	if err != nil {
		return err
	}
	w, _ := s.target()
	fmt.Fprintln(w, summary)
	for _, t := range tables {
		if err := s.show(t); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) refresh(ctx context.Context, c command) error {
	if s.opts.Refresh == nil {
		return errors.New(".refresh: not available in this session (the store is read-only)")
	}
	msg, err := s.opts.Refresh(ctx, true)
	if err != nil {
		return err
	}
	s.note("%s", msg)
	return nil
}

// write to the terminal's error stream, for notes that are not results.
func (s *session) note(format string, args ...any) {
	fmt.Fprintf(s.opts.Err, format+"\n", args...)
}
