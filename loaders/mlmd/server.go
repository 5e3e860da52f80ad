package mlmd

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"mlprov/engine"
)

// Server reads MLMD stores kept in a database server: MySQL or MariaDB, as Kubeflow
// Pipelines (its metadb database) and TFX's mysql_metadata_connection_config keep them, and
// PostgreSQL, which MLMD supports too. An input is an address:
//
//	mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS]      (see parseMySQL)
//	postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?PARAMS] (see parsePostgres)
//
// The database is read in one read-only transaction with a consistent snapshot, on one
// connection: the load sees the store as it was at one instant while pipelines go on
// writing it, takes no lock that blocks them, writes nothing, and needs only the SELECT
// privilege on the store's tables. The tables, the mapping and the schema versions read are
// those of an SQLite store (see the package doc): only the connection, the quoting of names
// and the meaning of errors differ (see backend). The source is the address without its
// password and parameters, so that loading it again syncs it. Its zero value is ready to use.
type Server struct{}

var (
	_ engine.Loader     = (*Server)(nil)
	_ engine.Identifier = (*Server)(nil)
	_ engine.Remote     = (*Server)(nil)
)

// connectTimeout bounds the wait for a server that does not answer, unless the address
// sets a timeout of its own.
const connectTimeout = 10 * time.Second

// noAnswer reports whether connecting failed with err for want of an answer in time: the
// connection's deadline (that of cctx, or a dial timeout) passed, and the caller's context
// (ctx) is still live. A driver may notice the deadline before cctx does.
func noAnswer(ctx, cctx context.Context, err error) bool {
	var ne net.Error
	return ctx.Err() == nil && (cctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout())
}

// openSnapshot opens one connection through connector, within timeout for the connection
// and the statements that begin its read-only snapshot, and returns it with a function that
// ends the transaction and closes the connection. An error begins with where ("connect to
// HOST:PORT as USER"); explain says what the driver's error most likely means.
func openSnapshot(ctx context.Context, connector driver.Connector, timeout time.Duration, where string, explain func(error) error,
	begin ...string) (*sql.Conn, func(), error) {
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	// A dial timeout does not cover a host that accepts the connection and never answers (a
	// proxy, another service on the port): the whole greeting gets the same time.
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(err error) (*sql.Conn, func(), error) {
		db.Close()
		if noAnswer(ctx, cctx, err) {
			err = fmt.Errorf("no answer from the server in %s (%w): check the host and port, and that the server is reachable from here", timeout, context.DeadlineExceeded)
		} else {
			err = explain(err)
		}
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	conn, err := db.Conn(cctx)
	if err != nil {
		return fail(err)
	}
	for _, q := range begin {
		if _, err := conn.ExecContext(cctx, q); err != nil {
			conn.Close()
			return fail(err)
		}
	}
	release := func() {
		// The transaction wrote nothing; ending it frees the snapshot on the server, and
		// closing the connection ends it too if the rollback fails.
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
	return conn, release, nil
}

// serverAddress is a parsed address of an MLMD database on a server.
type serverAddress interface {
	// identity is the address that names the source: scheme://USER@HOST:PORT/DATABASE.
	identity() string
	// database names the store in errors.
	database() string
	// connect opens one connection in a read-only transaction with a consistent snapshot,
	// and returns it with a function that ends the transaction and closes the connection.
	connect(ctx context.Context) (backend, func(), error)
}

// schemes maps the schemes of the addresses Server reads to their parsers.
var schemes = map[string]func(string) (serverAddress, error){
	"mysql":      parseMySQL,
	"postgres":   parsePostgres,
	"postgresql": parsePostgres,
}

// IsServerAddress reports whether path is the address of a database server Server reads
// (mysql://, postgres:// or postgresql://) rather than a file.
func IsServerAddress(path string) bool {
	scheme, _, ok := strings.Cut(path, "://")
	return ok && schemes[strings.ToLower(scheme)] != nil
}

// parseServer parses an address of any of the schemes. Its errors never repeat the address,
// which may hold a password.
func parseServer(path string) (serverAddress, error) {
	scheme, _, _ := strings.Cut(path, "://")
	parse := schemes[strings.ToLower(scheme)]
	if parse == nil {
		return nil, fmt.Errorf("not the address of a database server mlprov reads (mysql:// or postgres://)")
	}
	return parse(path)
}

// Format implements engine.Loader.
func (*Server) Format() string { return engine.FormatMLMD }

// Detect implements engine.Loader: a server's address.
func (*Server) Detect(path string) bool { return IsServerAddress(path) }

// Redact implements engine.Remote: the address without its password, whether in the user's
// part or in a password parameter.
func (*Server) Redact(path string) string {
	scheme, userinfo, rest := splitAddress(path)
	if userinfo != "" {
		user, _, _ := strings.Cut(userinfo, ":")
		rest = user + "@" + rest
	}
	if head, params, ok := strings.Cut(rest, "?"); ok {
		kept := slices.DeleteFunc(strings.Split(params, "&"), func(p string) bool {
			key, _, _ := strings.Cut(p, "=")
			return strings.EqualFold(key, "password")
		})
		rest = head
		if len(kept) > 0 {
			rest += "?" + strings.Join(kept, "&")
		}
	}
	return scheme + "://" + rest
}

// splitAddress splits an address at its last @ before the parameters, into what comes
// before (USER[:PASSWORD], "" when there is no @) and after (HOST[:PORT]/DATABASE[?PARAMS]).
// A URL parser would end the user's part at the first / or ?, but users write passwords
// with those in them without %-escaping them, and the password must not end up in the host.
func splitAddress(path string) (scheme, userinfo, rest string) {
	scheme, rest, _ = strings.Cut(path, "://")
	head, _, _ := strings.Cut(rest, "?")
	if at := strings.LastIndex(head, "@"); at >= 0 {
		return scheme, rest[:at], rest[at+1:]
	}
	return scheme, "", rest
}

// credentials is an address split by splitAddress, with the user and the password
// %-unescaped; hasPass tells an empty password from none.
type credentials struct {
	scheme, user, pass, rest string
	hasPass                  bool
}

// splitCredentials splits path into its credentials; bad names the address's form in the
// error of a %-escape that is not valid.
func splitCredentials(path, bad string) (credentials, error) {
	var c credentials
	var userinfo string
	c.scheme, userinfo, c.rest = splitAddress(path)
	c.user, c.pass, c.hasPass = strings.Cut(userinfo, ":")
	var err error
	if c.user, err = url.PathUnescape(c.user); err == nil {
		c.pass, err = url.PathUnescape(c.pass)
	}
	if err != nil {
		return c, fmt.Errorf("%s: a %%-escape in the user or password is not valid", bad)
	}
	return c, nil
}

// Identity implements engine.Identifier: scheme://USER@HOST:PORT/DATABASE, whatever the
// password and the connection's parameters.
func (*Server) Identity(path string) (string, error) {
	a, err := parseServer(path)
	if err != nil {
		return "", err
	}
	return a.identity(), nil
}

// Fingerprint implements engine.Loader. Hashing a server's tables would read them all, so
// the fingerprint is what changes whenever MLMD writes: each table's row count and largest
// id, and the latest last_update_time_since_epoch of executions, artifacts and contexts
// (MLMD sets it on every update, properties included). It covers the address too, so that
// two databases never share one.
func (*Server) Fingerprint(ctx context.Context, path string) (string, error) {
	a, err := parseServer(path)
	if err != nil {
		return "", err
	}
	db, release, err := a.connect(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	tables, err := db.tables(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", a.database(), db.explain("read schema", err))
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", a.identity())
	for _, t := range append(append([]string{"MLMDEnv"}, requiredTables...), optionalTables...) {
		if !slices.Contains(tables, t) {
			continue
		}
		cols, err := db.columns(ctx, t)
		if err != nil {
			return "", fmt.Errorf("%s: %w", a.database(), db.explain("table "+t, err))
		}
		sel := []string{"count(*)"}
		for _, c := range []string{"id", "last_update_time_since_epoch", "schema_version"} {
			if slices.Contains(cols, c) {
				sel = append(sel, "max("+db.quote(c)+")")
			}
		}
		vals := make([]sql.NullString, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := db.QueryRowContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+db.quote(t)).Scan(ptrs...); err != nil {
			return "", fmt.Errorf("%s: %w", a.database(), db.explain("table "+t, err))
		}
		fmt.Fprint(h, t)
		for _, v := range vals {
			fmt.Fprintf(h, " %v:%s", v.Valid, v.String)
		}
		fmt.Fprintln(h)
	}
	scheme, _, _ := strings.Cut(a.identity(), "://")
	return scheme + "-sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Stage implements engine.Loader.
func (*Server) Stage(ctx context.Context, st *engine.Stage, path string) error {
	a, err := parseServer(path)
	if err != nil {
		return err
	}
	db, release, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer release()
	return stageStore(ctx, st, &reader{db: db, file: a.database(), fallback: a.database()})
}

// knownTable returns the name MLMD gives a table that a server's catalog lists as name,
// which may be in lower case (PostgreSQL folds unquoted names, MySQL may be told to), and
// name itself for a table MLMD does not make.
func knownTable(name string) string {
	for _, k := range append(append([]string{"MLMDEnv"}, requiredTables...), optionalTables...) {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}
