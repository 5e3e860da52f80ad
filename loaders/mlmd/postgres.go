package mlmd

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresAddress is a parsed postgres:// address.
type postgresAddress struct {
	cfg *pgx.ConnConfig
}

// badPostgresAddress begins the errors of a postgres:// address that does not parse.
const badPostgresAddress = "bad address (postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?sslmode=require])"

// parsePostgres parses an address postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?PARAMS]
// (or postgresql://) as libpq does: the user defaults to PGUSER or the system user, the
// password to PGPASSWORD or ~/.pgpass, and PARAMS are libpq's (sslmode=require,
// connect_timeout=5, ...). Its errors never repeat the address, which may hold a password.
func parsePostgres(path string) (serverAddress, error) {
	c, err := splitCredentials(path, badPostgresAddress)
	if err != nil {
		return nil, err
	}
	rest := c.rest
	head, _, _ := strings.Cut(rest, "?")
	if _, db, _ := strings.Cut(head, "/"); db == "" || strings.Contains(db, "/") {
		return nil, fmt.Errorf("%s: it needs a host and a database", badPostgresAddress)
	}
	// The driver parses the rest, without the password (set apart, since it may hold
	// characters a URL does not allow), reading the environment and ~/.pgpass as libpq does.
	conn := "postgres://" + rest
	if c.user != "" {
		conn = "postgres://" + url.User(c.user).String() + "@" + rest
	}
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // the driver's error repeats the address
		}
		return nil, fmt.Errorf("%s: %w", badPostgresAddress, err)
	}
	if c.hasPass {
		cfg.Password = c.pass
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	return &postgresAddress{cfg: cfg}, nil
}

func (a *postgresAddress) hostPort() string {
	return net.JoinHostPort(a.cfg.Host, strconv.Itoa(int(a.cfg.Port)))
}

func (a *postgresAddress) identity() string {
	return "postgres://" + url.User(a.cfg.User).String() + "@" + a.hostPort() + "/" + a.cfg.Database
}

func (a *postgresAddress) database() string { return a.cfg.Database }

// connect opens one connection to the database in a read-only transaction at repeatable
// read: one snapshot for every query, and no lock but the ACCESS SHARE of a plain SELECT,
// which no INSERT, UPDATE or DELETE waits for.
func (a *postgresAddress) connect(ctx context.Context) (backend, func(), error) {
	cfg := a.cfg.Copy()
	cfg.ConnectTimeout = 0 // openSnapshot bounds the whole connection, dial and greeting alike
	conn, release, err := openSnapshot(ctx, stdlib.GetConnector(*cfg), a.cfg.ConnectTimeout,
		fmt.Sprintf("connect to %s as %s", a.hostPort(), a.cfg.User), explainPostgres,
		"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	if err != nil {
		return nil, nil, err
	}
	return postgresDB{conn}, release, nil
}

// explainPostgres keeps what a failure to connect says without the driver's wrapping (which
// repeats the user and database), and adds what it most likely means.
func explainPostgres(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return fmt.Errorf("%w (wrong user or password: give the password in PGPASSWORD, ~/.pgpass or the address)", pe)
		case "3D000":
			return fmt.Errorf("%w (no such database)", pe)
		}
		return pe
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return ne
	}
	// The driver wraps the cause with the user and the database, then with the address.
	for {
		next := errors.Unwrap(err)
		var hosts interface{ Unwrap() []error } // one error per host tried
		if next == nil && errors.As(err, &hosts) && len(hosts.Unwrap()) == 1 {
			next = hosts.Unwrap()[0]
		}
		if next == nil {
			break
		}
		err = next
	}
	if strings.Contains(err.Error(), "refused TLS") {
		return fmt.Errorf("%w (the address asks for TLS with sslmode, and the server does not offer it)", err)
	}
	return err
}

// postgresDB is an MLMD store in a PostgreSQL database: one connection inside a read-only
// transaction (see postgresAddress.connect).
type postgresDB struct {
	*sql.Conn
}

var _ backend = postgresDB{}

// tables lists the tables of the database's current schema, named as MLMD names them: MLMD
// creates them unquoted, which PostgreSQL folds to lower case. The system catalog lists them
// whatever the user may read (information_schema shows only tables the user has a privilege
// on), so that a user without SELECT is told so rather than that the store is not MLMD.
// A store in another schema of the database is named, with how to read it.
func (db postgresDB) tables(ctx context.Context) ([]string, error) {
	names, err := catalogNames(ctx, db, "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")
	for i, n := range names {
		names[i] = knownTable(n)
	}
	if err != nil || slices.Contains(names, "MLMDEnv") {
		return names, err
	}
	var current string
	others, err := catalogNames(ctx, db, "SELECT schemaname::text FROM pg_catalog.pg_tables WHERE lower(tablename) = 'mlmdenv' ORDER BY 1")
	if err == nil && len(others) > 0 {
		err = db.QueryRowContext(ctx, "SELECT coalesce(current_schema(), '(none)')").Scan(&current)
	}
	if err != nil || len(others) == 0 {
		return names, err
	}
	return nil, fmt.Errorf("%w (no MLMDEnv table in schema %s, the first of the search path; schema %s has one: add search_path=%s to the address's parameters)",
		ErrNotMLMD, current, others[0], others[0])
}

func (db postgresDB) columns(ctx context.Context, table string) ([]string, error) {
	return catalogNames(ctx, db, `SELECT lower(a.attname::text) FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND lower(c.relname) = lower($1) AND a.attnum > 0 AND NOT a.attisdropped`, table)
}

// quote quotes a name in lower case, as MLMD's unquoted names are kept.
func (postgresDB) quote(name string) string { return `"` + strings.ToLower(name) + `"` }

func (postgresDB) explain(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return fmt.Errorf("%s: %w (the user needs SELECT on the database's tables)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// parallel is false: one connection holds the snapshot, and reads one table at a time.
func (postgresDB) parallel() bool { return false }
