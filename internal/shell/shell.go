package shell

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"mlprov/catalog"
	"mlprov/internal/render"
)

// The prompts: the second one continues a statement that has not reached its semicolon.
const (
	Prompt         = "mlprov> "
	ContinuePrompt = "   ...> "
)

// DefaultMaxRows is how many rows a table shows on a terminal unless .maxrows says otherwise:
// the first and the last half, as DuckDB's shell does.
const DefaultMaxRows = 40

// Options configure a shell session.
type Options struct {
	// DB is the store. The session takes one connection from it for its whole life, so that
	// settings, temporary tables and transactions carry from one statement to the next.
	DB *sql.DB
	// In is where a script is read from when the session is not interactive.
	In io.Reader
	// Out receives results; Err receives messages and errors.
	Out, Err io.Writer
	// Interactive means a person types at a terminal: lines are read and edited on the
	// process's own terminal (standard input and output, not In), with history and
	// completion, and an error is printed without ending the session. Otherwise the session
	// reads In as a script and stops at its first error.
	Interactive bool
	// Name names In in a script's error messages, such as "stdin".
	Name string
	// HistoryFile is where an interactive session keeps its history; empty keeps none.
	HistoryFile string
	// Width returns the terminal's width, which tables printed to Out are fitted to; nil or
	// a result of 0 means no limit.
	Width func() int
	// Interrupt delivers a value each time the user presses Ctrl-C while a statement runs:
	// the statement is cancelled and the session goes on. Without it, only the cancellation
	// of the context given to Run stops a statement, and ends the session.
	Interrupt <-chan os.Signal
	// Analyses lists the canned analyses that .analyses lists and .run runs (each one's SQL
	// may hold several statements; each one's result is printed); nil means that none are
	// available.
	Analyses func() ([]catalog.Analysis, error)
	// Graphlet describes one model graphlet by its id: a line of summary and the tables to
	// show (its members, the events between them). Nil means .graphlet is not available.
	Graphlet func(ctx context.Context, id int64) (summary string, tables []*render.Result, err error)
	// Refresh brings the derived tables in line with edits of the tables they are derived
	// from. .refresh calls it with all set; after each statement that may have written, the
	// session calls it with all unset, when it may follow an edit it can follow cheaply and
	// only say what is stale otherwise. It returns a line to print, or "" for none. Nil means
	// neither happens (a read-only store).
	Refresh func(ctx context.Context, all bool) (string, error)
}

var (
	// errQuit ends the session without an error (.quit, .exit).
	errQuit = errors.New("quit")
	// ErrInterrupted means the user cancelled a statement with Ctrl-C.
	ErrInterrupted = errors.New("interrupted")
)

// Run runs a session until its input ends, .quit, or (for a script) the first error, which
// it returns naming the script's line. Cancelling ctx stops the running statement and ends
// the session.
func Run(ctx context.Context, opts Options) (err error) {
	if opts.Name == "" {
		opts.Name = "input"
	}
	conn, err := opts.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to the store: %w", err)
	}
	defer func() {
		// The session's temporary tables, settings and open transaction end with it: its
		// connection is discarded rather than handed back to the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // the error asked for
		conn.Close()
	}()
	s := newSession(opts, conn)
	defer func() {
		// A file of .output is only complete once closed.
		if cerr := s.closeOutput(); err == nil {
			err = cerr
		}
	}()
	var in lineReader
	if opts.Interactive {
		t := newTerminal(opts.HistoryFile, s.complete, opts.Err)
		defer t.Close()
		in = t
	} else {
		in = newScript(opts.In)
	}
	err = s.loop(ctx, in, opts.Name)
	if errors.Is(err, errQuit) {
		return nil
	}
	return err
}

func newSession(opts Options, conn *sql.Conn) *session {
	return &session{opts: opts, conn: conn, mode: "table", headers: true, maxRows: -1}
}

// session is the state of one shell: its connection and the settings dot-commands change.
type session struct {
	opts    Options
	conn    *sql.Conn
	mode    string // one of render.Formats
	headers bool
	timer   bool
	maxRows int // -1 until .maxrows sets it

	output    *os.File // .output FILE, until .output alone
	once      *os.File // .once FILE, for the next result only
	pending   string   // the unfinished statement, for completion
	readDepth int      // how many .read files are open
}

// lineReader is where statements come from: a terminal or a script.
type lineReader interface {
	// ReadLine returns the next line without its line break, io.EOF at the end, or
	// errAborted when the user pressed Ctrl-C at the prompt.
	ReadLine(prompt string) (string, error)
	// AddHistory records what was run, for the up arrow and the history file.
	AddHistory(entry string)
	// Interactive reports whether a person is typing, so that errors do not end the input.
	Interactive() bool
}

// loop reads statements and dot-commands from in and runs them. name names in for errors.
func (s *session) loop(ctx context.Context, in lineReader, name string) error {
	var (
		pending     strings.Builder // lines of an unfinished statement
		pendingLine int             // the line it starts on
		lineNo      int
	)
	for {
		prompt := Prompt
		if pending.Len() > 0 {
			prompt = ContinuePrompt
		}
		s.pending = pending.String()
		line, err := readLine(ctx, in, prompt)
		switch {
		case errors.Is(err, errAborted):
			pending.Reset()
			continue
		case errors.Is(err, io.EOF):
			if rest := pending.String(); !in.Interactive() && HasCode(rest) {
				// A script's last statement may leave out its semicolon.
				stmt := strings.TrimSpace(rest)
				if err := s.exec(ctx, stmt); err != nil {
					return s.fail(ctx, in, name, pendingLine+leadingLines(rest), stmt, err)
				}
			}
			return nil
		case err != nil:
			return err
		}
		lineNo++
		if pending.Len() == 0 && isCommand(line) {
			in.AddHistory(strings.TrimSpace(line))
			if err := s.command(ctx, line); err != nil {
				if errors.Is(err, errQuit) {
					return err
				}
				if err := s.fail(ctx, in, name, lineNo, strings.TrimSpace(line), err); err != nil {
					return err
				}
			}
			continue
		}
		if pending.Len() == 0 {
			pendingLine = lineNo
		}
		pending.WriteString(line)
		pending.WriteByte('\n')
		text := pending.String()
		stmts, rest := Statements(text)
		if len(stmts) == 0 {
			if !HasCode(text) && !Unclosed(text) {
				pending.Reset() // blank lines and comments
			}
			continue
		}
		if entry, ok := OneLine(text[:len(text)-len(rest)]); ok {
			in.AddHistory(entry)
		}
		pending.Reset()
		restLine := pendingLine + strings.Count(text[:len(text)-len(rest)], "\n")
		if HasCode(rest) || Unclosed(rest) {
			pending.WriteString(rest)
		}
		for _, st := range stmts {
			if err := s.exec(ctx, st.Text); err != nil {
				if err := s.fail(ctx, in, name, pendingLine+strings.Count(text[:st.Offset], "\n"), st.Text, err); err != nil {
					return err
				}
				// The rest of what was entered with it is dropped, as it may depend on it.
				pending.Reset()
				break
			}
		}
		pendingLine = restLine
	}
}

// leadingLines counts the line breaks before the first code in text.
func leadingLines(text string) int {
	trimmed := strings.TrimLeftFunc(text, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	return strings.Count(text[:len(text)-len(trimmed)], "\n")
}

// readLine reads the next line from in, but gives up when ctx is cancelled (SIGTERM at an
// idle prompt): a read from a terminal cannot be interrupted, so it is left to end with the
// process, and Run returns so that the terminal is restored.
func readLine(ctx context.Context, in lineReader, prompt string) (string, error) {
	if ctx.Err() != nil {
		return "", context.Cause(ctx)
	}
	type result struct {
		line string
		err  error
	}
	read := make(chan result, 1)
	go func() {
		line, err := in.ReadLine(prompt)
		read <- result{line, err}
	}()
	select {
	case r := <-read:
		return r.line, r.err
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// fail reports err from what started at line of the input: a terminal prints it and goes
// on (fail returns nil), a script returns it naming the line and the statement. Once ctx is
// cancelled, a terminal session ends too.
func (s *session) fail(ctx context.Context, in lineReader, name string, line int, what string, err error) error {
	if in.Interactive() && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if in.Interactive() {
		if errors.Is(err, ErrInterrupted) {
			fmt.Fprintln(s.opts.Err, "interrupted")
		} else {
			fmt.Fprintf(s.opts.Err, "error: %s\n", strings.TrimRight(err.Error(), "\n"))
		}
		return nil
	}
	return fmt.Errorf("%s:%d: %s: %w", name, line, abbreviate(what), err)
}

// abbreviate keeps the first line of a statement, at most 60 characters of it.
func abbreviate(stmt string) string {
	first, _, more := strings.Cut(stmt, "\n")
	if r := []rune(first); len(r) > 60 {
		first, more = string(r[:59]), true
	}
	if more {
		first += "…"
	}
	return first
}

// noResult are the statement types whose result says nothing worth printing.
var noResult = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_CREATE:       true,
	duckdb.STATEMENT_TYPE_CREATE_FUNC:  true,
	duckdb.STATEMENT_TYPE_DROP:         true,
	duckdb.STATEMENT_TYPE_ALTER:        true,
	duckdb.STATEMENT_TYPE_SET:          true,
	duckdb.STATEMENT_TYPE_VARIABLE_SET: true,
	duckdb.STATEMENT_TYPE_TRANSACTION:  true,
	duckdb.STATEMENT_TYPE_PREPARE:      true,
	duckdb.STATEMENT_TYPE_ATTACH:       true,
	duckdb.STATEMENT_TYPE_DETACH:       true,
	duckdb.STATEMENT_TYPE_LOAD:         true,
	duckdb.STATEMENT_TYPE_VACUUM:       true,
	duckdb.STATEMENT_TYPE_EXTENSION:    true,
}

// writes are the statement types that may change a table: after one, the session asks
// whether the derived tables are still up to date (Options.Refresh). A COMMIT is among them,
// since what a transaction wrote is seen only once it commits.
var writes = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_INSERT:      true,
	duckdb.STATEMENT_TYPE_UPDATE:      true,
	duckdb.STATEMENT_TYPE_DELETE:      true,
	duckdb.STATEMENT_TYPE_COPY:        true,
	duckdb.STATEMENT_TYPE_CREATE:      true,
	duckdb.STATEMENT_TYPE_DROP:        true,
	duckdb.STATEMENT_TYPE_ALTER:       true,
	duckdb.STATEMENT_TYPE_TRANSACTION: true,
}

// exec runs one SQL statement and prints its result in the current mode.
func (s *session) exec(ctx context.Context, stmt string) error {
	start := time.Now()
	wrote := false
	err := s.interruptible(ctx, func(ctx context.Context) error {
		typ, err := s.statementType(ctx, stmt)
		if err != nil {
			return err
		}
		wrote = writes[typ]
		rows, err := s.conn.QueryContext(ctx, stmt)
		if err != nil {
			return err
		}
		defer rows.Close()
		if noResult[typ] {
			for rows.Next() {
			}
			return rows.Err()
		}
		w, opts := s.target()
		var res *render.Result
		if s.mode == "table" && opts.MaxRows > 0 {
			res, err = render.ReadSome(rows, opts.MaxRows)
		} else {
			res, err = render.Read(rows)
		}
		if err != nil {
			return err
		}
		if typ == duckdb.STATEMENT_TYPE_EXPLAIN && s.mode == "table" {
			return s.writePlan(res)
		}
		return s.write(w, opts, res)
	})
	if err != nil {
		return err
	}
	s.printTime(start)
	if wrote && s.opts.Refresh != nil {
		msg, err := s.opts.Refresh(ctx, false)
		if err != nil {
			return err
		}
		if msg != "" {
			s.note("%s", msg)
		}
	}
	return nil
}

// writePlan prints the result of EXPLAIN as the plan DuckDB drew, not as a table of it: the
// drawing is the last column (explain_value).
func (s *session) writePlan(res *render.Result) error {
	w, _ := s.target()
	for _, r := range res.Rows {
		if _, err := fmt.Fprintln(w, strings.TrimRight(render.Text(r[len(r)-1], ""), "\n")); err != nil {
			return err
		}
	}
	return s.endOnce()
}

// printTime says how long since start, when .timer is on.
func (s *session) printTime(start time.Time) {
	if s.timer {
		fmt.Fprintf(s.opts.Err, "Run Time: real %.3fs\n", time.Since(start).Seconds())
	}
}

// interruptible runs fn with a context that Ctrl-C cancels, and turns that cancellation
// into ErrInterrupted.
func (s *session) interruptible(ctx context.Context, fn func(context.Context) error) error {
	// A Ctrl-C pressed before this statement began is not meant for it.
	for drained := false; !drained; {
		select {
		case <-s.opts.Interrupt:
		default:
			drained = true
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var interrupted atomic.Bool
	done := make(chan struct{})
	go func() {
		select {
		case <-s.opts.Interrupt:
			interrupted.Store(true)
			cancel()
		case <-done:
		}
	}()
	err := fn(ctx)
	close(done)
	if interrupted.Load() {
		return ErrInterrupted
	}
	return err
}

// statementType asks DuckDB what kind of statement stmt is, by preparing it.
func (s *session) statementType(ctx context.Context, stmt string) (duckdb.StmtType, error) {
	return statementType(ctx, s.conn, stmt)
}

func statementType(ctx context.Context, conn *sql.Conn, stmt string) (duckdb.StmtType, error) {
	var typ duckdb.StmtType
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("the store's driver is %T, not DuckDB", dc)
		}
		prepared, err := c.PrepareContext(ctx, stmt)
		if err != nil {
			return err
		}
		defer prepared.Close()
		typ, err = prepared.(*duckdb.Stmt).StatementType()
		return err
	})
	return typ, err
}

// Writes reports whether stmt is of a kind that may change a table (see writes), so that a
// caller running it outside a session can follow the edit as a session does.
func Writes(ctx context.Context, conn *sql.Conn, stmt string) (bool, error) {
	typ, err := statementType(ctx, conn, stmt)
	return writes[typ], err
}

// query runs q with args and reads its whole result, cancellable with Ctrl-C.
func (s *session) query(ctx context.Context, q string, args ...any) (*render.Result, error) {
	var res *render.Result
	err := s.interruptible(ctx, func(ctx context.Context) error {
		var err error
		res, err = render.Query(ctx, s.conn, q, args...)
		return err
	})
	return res, err
}

// show prints a result that a dot-command made, as a statement's result is printed.
func (s *session) show(res *render.Result) error {
	w, opts := s.target()
	return s.write(w, opts, res)
}

// target is where the next result goes, and how: a table on the terminal fits its width and
// the row limit; a file gets everything.
func (s *session) target() (io.Writer, render.Options) {
	opts := render.Options{NoHeader: !s.headers}
	switch {
	case s.once != nil:
		return s.once, opts
	case s.output != nil:
		return s.output, opts
	}
	opts.MaxRows = s.maxRows
	if opts.MaxRows < 0 {
		opts.MaxRows = 0
		if s.opts.Interactive {
			opts.MaxRows = DefaultMaxRows
		}
	}
	if s.opts.Width != nil {
		opts.MaxWidth = s.opts.Width()
	}
	return s.opts.Out, opts
}

// write prints res to w and ends a .once.
func (s *session) write(w io.Writer, opts render.Options, res *render.Result) error {
	err := render.WriteWith(w, s.mode, res, opts)
	if s.once != nil {
		if cerr := s.once.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", s.once.Name(), cerr)
		}
		s.once = nil
	}
	return err
}

// closeOutput ends a .output or a .once that is still open.
func (s *session) closeOutput() error {
	var err error
	for _, f := range []**os.File{&s.output, &s.once} {
		if *f != nil {
			if cerr := (*f).Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close %s: %w", (*f).Name(), cerr)
			}
			*f = nil
		}
	}
	return err
}
