package mlmd

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"mlprov/engine"
)

// Server reads MLMD stores kept in a MySQL or MariaDB database, as Kubeflow Pipelines (its
// metadb database) and TFX's mysql_metadata_connection_config keep them. An input is an
// address, mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS], with the password taken
// from the address or else from MLPROV_MYSQL_PASSWORD, and PARAMS those of the Go MySQL
// driver (tls=true, tls=skip-verify, timeout=5s, ...).
//
// The database is read in one read-only transaction with a consistent snapshot, on one
// connection: the load sees the store as it was at one instant while pipelines go on
// writing it, takes no row locks (InnoDB serves the snapshot from its undo log), writes
// nothing, and needs only the SELECT privilege on the database. The tables, the mapping and
// the schema versions read are those of an SQLite store (see the package doc). The source
// is the address without its password and parameters, so that loading it again syncs it.
// Its zero value is ready to use.
type Server struct{}

var (
	_ engine.Loader     = (*Server)(nil)
	_ engine.Identifier = (*Server)(nil)
	_ engine.Remote     = (*Server)(nil)
)

// EnvPassword names the environment variable that holds the password of a mysql:// address
// that gives none.
const EnvPassword = "MLPROV_MYSQL_PASSWORD"

// connectTimeout bounds the wait for a server that does not answer, unless the address
// sets timeout.
const connectTimeout = 10 * time.Second

// IsServerAddress reports whether path is a mysql:// address rather than a file.
func IsServerAddress(path string) bool {
	scheme, _, ok := strings.Cut(path, "://")
	return ok && strings.EqualFold(scheme, "mysql")
}

// Format implements engine.Loader.
func (*Server) Format() string { return engine.FormatMLMD }

// Detect implements engine.Loader: a mysql:// address.
func (*Server) Detect(path string) bool { return IsServerAddress(path) }

// Redact implements engine.Remote: the address without its password.
func (*Server) Redact(path string) string {
	scheme, userinfo, rest := splitAddress(path)
	if userinfo == "" {
		return path
	}
	user, _, _ := strings.Cut(userinfo, ":")
	return scheme + "://" + user + "@" + rest
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

// Identity implements engine.Identifier: mysql://USER@HOST:PORT/DATABASE, whatever the
// password and the connection's parameters.
func (*Server) Identity(path string) (string, error) {
	a, err := parseAddress(path)
	if err != nil {
		return "", err
	}
	return a.identity(), nil
}

// badAddress begins the errors of an address that does not parse.
const badAddress = "bad address (mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?tls=true])"

// address is a parsed mysql:// address.
type address struct {
	cfg *mysql.Config
}

// parseAddress parses a mysql:// address. Its errors never repeat the address, which may
// hold a password.
func parseAddress(path string) (*address, error) {
	if !IsServerAddress(path) {
		return nil, fmt.Errorf("not a mysql:// address")
	}
	_, userinfo, rest := splitAddress(path)
	user, pass, hasPass := strings.Cut(userinfo, ":")
	var err error
	if user, err = url.PathUnescape(user); err == nil {
		pass, err = url.PathUnescape(pass)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: a %%-escape in the user or password is not valid", badAddress)
	}
	u, err := url.Parse("mysql://" + rest) // the rest holds no password
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the address
		}
		return nil, fmt.Errorf("%s: %w", badAddress, err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || db == "" || strings.Contains(db, "/") || user == "" {
		return nil, fmt.Errorf("%s: it needs a user, a host and a database", badAddress)
	}
	// The driver's own parser reads the parameters; user, password and host are set apart,
	// since they may hold characters its DSN syntax does not allow.
	cfg, err := mysql.ParseDSN("/" + db + "?" + u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", badAddress, err)
	}
	cfg.User, cfg.Passwd = user, pass
	if !hasPass {
		cfg.Passwd = os.Getenv(EnvPassword)
	}
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = connectTimeout
	}
	cfg.Logger = log.New(io.Discard, "", 0) // errors come back as errors, not on stderr
	return &address{cfg: cfg}, nil
}

func (a *address) identity() string {
	return "mysql://" + url.User(a.cfg.User).String() + "@" + a.cfg.Addr + "/" + a.cfg.DBName
}

// connect opens one connection to the database, in a read-only transaction with a
// consistent snapshot, and returns it with a function that ends the transaction and closes
// the connection.
func (a *address) connect(ctx context.Context) (mysqlDB, func(), error) {
	connector, err := mysql.NewConnector(a.cfg)
	if err != nil {
		return mysqlDB{}, nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	// The dial timeout does not cover a host that accepts the connection and never answers
	// (a proxy, another service on the port): the whole greeting gets the same time.
	cctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	fail := func(err error) (mysqlDB, func(), error) {
		db.Close()
		if cctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer from the server in %s (%w): check the host and port, and that the server is reachable from here", a.cfg.Timeout, err)
		}
		return mysqlDB{}, nil, fmt.Errorf("connect to %s as %s: %w", a.cfg.Addr, a.cfg.User, explainConnect(err))
	}
	conn, err := db.Conn(cctx)
	if err != nil {
		return fail(err)
	}
	for _, q := range []string{
		"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	} {
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
	return mysqlDB{conn}, release, nil
}

// explainConnect adds what a failure to connect most likely means.
func explainConnect(err error) error {
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me) && me.Number == 1045:
		return fmt.Errorf("%w (wrong user or password: give the password in %s or in the address)", err, EnvPassword)
	case errors.As(err, &me) && (me.Number == 1044 || me.Number == 1049):
		return fmt.Errorf("%w (no such database, or the user may not read it)", err)
	}
	return err
}

// mysqlDB is an MLMD store in a MySQL or MariaDB database: one connection inside a
// read-only transaction (see address.connect).
type mysqlDB struct {
	*sql.Conn
}

var _ backend = mysqlDB{}

// tables lists the tables of the database, named as MLMD names them: a server run with
// lower_case_table_names stores them in lower case, and finds them in any case.
func (db mysqlDB) tables(ctx context.Context) ([]string, error) {
	names, err := catalogNames(ctx, db, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
	if err != nil {
		return nil, err
	}
	var fold int
	if err := db.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&fold); err != nil || fold == 0 {
		return names, err // names are as created, and case tells them apart
	}
	known := append(append([]string{"MLMDEnv"}, requiredTables...), optionalTables...)
	for i, n := range names {
		if k := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, n) }); k >= 0 {
			names[i] = known[k]
		}
	}
	return names, nil
}

func (db mysqlDB) columns(ctx context.Context, table string) ([]string, error) {
	return catalogNames(ctx, db, "SELECT lower(column_name) FROM information_schema.columns WHERE table_schema = DATABASE() AND lower(table_name) = lower(?)", table)
}

func (mysqlDB) explain(what string, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1142 || me.Number == 1143) {
		return fmt.Errorf("%s: %w (the user needs SELECT on the database's tables)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// parallel is false: one connection holds the snapshot, and reads one table at a time.
func (mysqlDB) parallel() bool { return false }

// Fingerprint implements engine.Loader. Hashing a server's tables would read them all, so
// the fingerprint is what changes whenever MLMD writes: each table's row count and largest
// id, and the latest last_update_time_since_epoch of executions, artifacts and contexts
// (MLMD sets it on every update, properties included). It covers the address too, so that
// two databases never share one.
func (*Server) Fingerprint(ctx context.Context, path string) (string, error) {
	a, err := parseAddress(path)
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
		return "", fmt.Errorf("%s: %w", a.cfg.DBName, db.explain("read schema", err))
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", a.identity())
	for _, t := range append(append([]string{"MLMDEnv"}, requiredTables...), optionalTables...) {
		if !slices.Contains(tables, t) {
			continue
		}
		cols, err := db.columns(ctx, t)
		if err != nil {
			return "", fmt.Errorf("%s: %w", a.cfg.DBName, db.explain("table "+t, err))
		}
		sel := []string{"count(*)"}
		for _, c := range []string{"id", "last_update_time_since_epoch", "schema_version"} {
			if slices.Contains(cols, c) {
				sel = append(sel, "max(`"+c+"`)")
			}
		}
		vals := make([]sql.NullString, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := db.QueryRowContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM `"+t+"`").Scan(ptrs...); err != nil {
			return "", fmt.Errorf("%s: %w", a.cfg.DBName, db.explain("table "+t, err))
		}
		fmt.Fprint(h, t)
		for _, v := range vals {
			fmt.Fprintf(h, " %v:%s", v.Valid, v.String)
		}
		fmt.Fprintln(h)
	}
	return "mysql-sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Stage implements engine.Loader.
func (*Server) Stage(ctx context.Context, st *engine.Stage, path string) error {
	a, err := parseAddress(path)
	if err != nil {
		return err
	}
	db, release, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer release()
	return stageStore(ctx, st, &reader{db: db, file: a.cfg.DBName, fallback: a.cfg.DBName})
}
