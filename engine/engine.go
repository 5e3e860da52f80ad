// Package engine owns mlprov's store: one DuckDB database holding the canonical provenance
// tables, the schema migrations that create and upgrade them, the loads that fill them and the
// exports that write them out.
package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	mlsql "mlprov/sql"
)

// DefaultPath is the store a command opens when neither --db nor MLPROV_DB names one.
const DefaultPath = "mlprov.duckdb"

var (
	// ErrStoreInUse means another process holds the store file open for writing.
	ErrStoreInUse = errors.New("store is in use by another process")
	// ErrNewerStore means the store was written by a newer mlprov than this one.
	ErrNewerStore = errors.New("store was written by a newer mlprov")
	// ErrNotStore means the file is not an mlprov store.
	ErrNotStore = errors.New("not an mlprov store")
	// ErrAlreadyLoaded means a source with the same content fingerprint is in the store (see
	// AlreadyLoadedError).
	ErrAlreadyLoaded = errors.New("source already loaded")
	// ErrNoNode means the store has no artifact or execution with the asked id (see
	// NoNodeError).
	ErrNoNode = errors.New("no such node")
)

// Options tune how a store is opened. The zero value opens it read-write with one DuckDB
// thread per core and a memory limit of half the machine's memory (see defaultMemoryLimit).
type Options struct {
	// ReadOnly opens the store without write access, so several readers can share it.
	ReadOnly bool
	// Threads is DuckDB's worker count; 0 means one per core this process may use (Go's
	// GOMAXPROCS, which follows a container's CPU quota).
	Threads int
	// MemoryLimit is DuckDB's memory_limit, such as "4GB"; empty means MLPROV_MEMORY_LIMIT
	// or, that unset too, half the machine's memory (see defaultMemoryLimit).
	MemoryLimit string
	// TempDir is where DuckDB spills; empty means a folder beside the store (or in the
	// system's temporary folder for an in-memory store).
	TempDir string
	// Progress, when set, hears about long work Open does (refreshing derived tables).
	Progress func(string)
}

// Engine is an open store. It is safe for concurrent use; callers must Close it.
type Engine struct {
	db   *sql.DB
	path string
	// locked is set by Lockdown: no setting can change any more.
	locked bool
}

// Open opens the store at path (":memory:" for an in-memory one), creating it or upgrading its
// schema as needed. It returns ErrStoreInUse when another process is writing the store and
// ErrNewerStore when a newer mlprov wrote it.
func Open(ctx context.Context, path string, opts Options) (*Engine, error) {
	if path == "" {
		path = DefaultPath
	}
	inMemory := path == ":memory:"
	if opts.ReadOnly && !inMemory {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	e, err := open(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	version, err := e.SchemaVersion(ctx)
	if err != nil {
		e.Close()
		return nil, err
	}
	latest := LatestSchemaVersion()
	if version > latest {
		e.Close()
		return nil, fmt.Errorf("open %s: %w (schema %d; this mlprov knows up to %d): upgrade mlprov", path, ErrNewerStore, version, latest)
	}
	stale := true
	if version == latest {
		if stale, err = e.derivedStale(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	switch {
	case stale && opts.ReadOnly:
		// A reader cannot upgrade: do it once read-write, then reopen read-only.
		e.Close()
		rw := opts
		rw.ReadOnly = false
		up, err := Open(ctx, path, rw)
		if err != nil {
			return nil, err
		}
		if err := up.Close(); err != nil {
			return nil, err
		}
		return open(ctx, path, opts)
	case stale:
		if err := e.upgrade(ctx, version, opts.Progress); err != nil {
			e.Close()
			return nil, fmt.Errorf("upgrade %s: %w", path, err)
		}
	}
	return e, nil
}

// open connects to the DuckDB database with mlprov's session settings, without touching the schema.
func open(ctx context.Context, path string, opts Options) (*Engine, error) {
	threads := opts.Threads
	if threads <= 0 {
		// GOMAXPROCS follows the CPUs the process may use: a container's CPU quota too.
		threads = runtime.GOMAXPROCS(0)
	}
	mem := opts.MemoryLimit
	if mem == "" {
		mem = os.Getenv("MLPROV_MEMORY_LIMIT")
	}
	if mem == "" {
		mem = defaultMemoryLimit()
	}
	tmp := opts.TempDir
	if tmp == "" {
		if path == ":memory:" {
			tmp = filepath.Join(os.TempDir(), "mlprov-spill")
		} else {
			tmp = path + ".tmp"
		}
	}
	// The DSN carries only settings: duckdb-go cuts the path at the first '?' and parses the
	// rest as a URL, so a store named a?b.duckdb or x#y%z.duckdb cannot travel in it. The
	// store is attached by its literal path instead, and every connection uses it.
	q := url.Values{}
	q.Set("threads", strconv.Itoa(threads))
	q.Set("memory_limit", mem)
	q.Set("temp_directory", tmp)
	// Extensions cannot be downloaded: fail at once instead of trying the network.
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	attach := ""
	if path != ":memory:" {
		attach = "ATTACH IF NOT EXISTS " + sqlString(path) + " AS " + storeAlias
		if opts.ReadOnly {
			attach += " (READ_ONLY)"
		}
	}
	connector, err := duckdb.NewConnector("?"+q.Encode(), func(execer driver.ExecerContext) error {
		return bootConn(execer, attach)
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, describeOpenError(err))
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, describeOpenError(err))
	}
	return &Engine{db: db, path: path}, nil
}

// storeAlias is the catalog name of a store file inside DuckDB.
const storeAlias = "mlprov"

// bootConn runs on every new connection of the pool, so no connection can miss a setting.
// attach, when set, attaches the store file (once per database) and makes it the default.
func bootConn(execer driver.ExecerContext, attach string) error {
	ctx := context.Background()
	if attach != "" {
		if _, err := execer.ExecContext(ctx, attach, nil); err != nil {
			return err
		}
		if _, err := execer.ExecContext(ctx, "USE "+storeAlias, nil); err != nil {
			return err
		}
	}
	// Times in the store are UTC; text with an offset is converted, text without one is UTC.
	// Once Lockdown has made UTC the default and locked the configuration, SET would fail.
	_, err := execer.ExecContext(ctx, "SET TimeZone = 'UTC'", nil)
	if err != nil && strings.Contains(err.Error(), "configuration has been locked") {
		return nil
	}
	return err
}

// Lockdown shuts the store off from the file system and the network for good: no statement
// on any connection can read or write a file other than the store (read_csv, COPY, ATTACH,
// EXPORT), install or load an extension, or change a setting again, this one included.
// DuckDB's settings belong to the database, not to a connection, so this holds for every
// connection of the Engine until it is closed; the store itself, its spill folder and its
// loads and refreshes from data already in it keep working. A server that runs SQL from
// its users calls it once, before it takes any.
func (e *Engine) Lockdown(ctx context.Context) error {
	for _, q := range []string{
		// New connections must be UTC without their SET, which the lock refuses.
		"SET GLOBAL TimeZone = 'UTC'",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	} {
		if _, err := e.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("lock down %s: %w", e.path, err)
		}
	}
	e.locked = true
	return nil
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

var lockPID = regexp.MustCompile(`\(PID (\d+)\)`)

// describeOpenError turns DuckDB's lock and format errors into mlprov's own. DuckDB reports
// both, and every other failure to open a file (a missing folder, a permission), as an IO
// error, so the error type alone cannot tell them apart: within IO errors, each is told by
// the fixed part of its message, the start of a lock conflict and the end of a file that is
// not a database, since the middle holds the store's path, which may say anything.
func describeOpenError(err error) error {
	var de *duckdb.Error
	if !errors.As(err, &de) || de.Type != duckdb.ErrorTypeIO {
		return err
	}
	msg := strings.TrimPrefix(de.Msg, "IO Error: ")
	switch {
	case strings.HasPrefix(msg, "Could not set lock on file "):
		who := "another process"
		// The holder's PID comes last, after the store's path and the holder's program.
		if m := lockPID.FindAllStringSubmatch(msg, -1); m != nil {
			who = "process " + m[len(m)-1][1]
		}
		return fmt.Errorf("%w (%s holds it)", ErrStoreInUse, who)
	case strings.HasSuffix(msg, "is not a valid DuckDB database file!"):
		return fmt.Errorf("%w: the file is not a DuckDB database", ErrNotStore)
	}
	return err
}

// DB returns the store's connection pool for queries; the Engine keeps ownership.
func (e *Engine) DB() *sql.DB { return e.db }

// Path returns the store's file path, or ":memory:".
func (e *Engine) Path() string { return e.path }

// Close releases the store. It is safe to call more than once.
func (e *Engine) Close() error {
	if e.db == nil {
		return nil
	}
	err := e.db.Close()
	e.db = nil
	return err
}

// migration is one schema/NNN_name.sql file.
type migration struct {
	version int
	name    string
}

func migrations() []migration {
	entries, err := fs.ReadDir(mlsql.FS, "schema")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	var ms []migration
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(n)
		if !ok || err != nil {
			panic("sql/schema: migration without a number: " + e.Name())
		}
		ms = append(ms, migration{version: v, name: e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms
}

// LatestSchemaVersion is the schema version this mlprov writes.
func LatestSchemaVersion() int {
	ms := migrations()
	return ms[len(ms)-1].version
}

// SchemaVersion returns the store's schema version: 0 for an empty database.
func (e *Engine) SchemaVersion(ctx context.Context) (int, error) {
	var hasMeta, tables int
	err := e.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE table_name = 'mlprov_meta'), count(*)
		FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = 'main'`).Scan(&hasMeta, &tables)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if hasMeta == 0 {
		if tables > 0 {
			return 0, fmt.Errorf("%s: %w: it is a DuckDB database without mlprov's tables", e.path, ErrNotStore)
		}
		return 0, nil
	}
	var v string
	if err := e.db.QueryRowContext(ctx, `SELECT value FROM mlprov_meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("read schema version %q: %w", v, err)
	}
	return n, nil
}

// upgrade applies every migration above version and refreshes the derived tables, in one
// transaction. Creating a store (version 0) derives empty tables: it reports nothing.
func (e *Engine) upgrade(ctx context.Context, version int, progress func(string)) error {
	if version == 0 {
		progress = nil
	}
	return e.inTransaction(ctx, func(conn *sql.Conn) error {
		if err := migrate(ctx, conn, version); err != nil {
			return err
		}
		if progress != nil {
			progress("refreshing derived tables (new definitions)")
		}
		return materialize(ctx, conn, progress)
	})
}

// inTransaction runs fn on one connection inside one transaction, committed when fn returns
// nil and rolled back otherwise (even when ctx was cancelled meanwhile).
func (e *Engine) inTransaction(ctx context.Context, fn func(*sql.Conn) error) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return transaction(ctx, conn, func() error { return fn(conn) })
}

// transaction runs fn inside one transaction on conn, as inTransaction does.
func transaction(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	rollback := func(err error) error {
		// The error that made it roll back is the one to report; the connection is dropped.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if err := fn(); err != nil {
		return rollback(err)
	}
	if err := ctx.Err(); err != nil {
		return rollback(err)
	}
	// An interrupt from here on must not cut the commit short: DuckDB can report an
	// interrupted COMMIT that has in fact committed, and then the caller would say the work
	// was lost when it is in the store.
	_, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT")
	return err
}

// migrate applies every migration above version.
func migrate(ctx context.Context, db execer, version int) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS mlprov_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`); err != nil {
		return err
	}
	for _, m := range migrations() {
		if m.version <= version {
			continue
		}
		text, err := fs.ReadFile(mlsql.FS, "schema/"+m.name)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, string(text)); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		version = m.version
	}
	_, err := db.ExecContext(ctx, `INSERT OR REPLACE INTO mlprov_meta VALUES ('schema_version', ?)`, strconv.Itoa(version))
	return err
}
