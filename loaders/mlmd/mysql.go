package mlmd

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// EnvPassword names the environment variable that holds the password of a mysql:// address
// that gives none.
const EnvPassword = "MLPROV_MYSQL_PASSWORD"

// badMySQLAddress begins the errors of an address that does not parse.
const badMySQLAddress = "bad address (mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?tls=true])"

// mysqlAddress is a parsed mysql:// address.
type mysqlAddress struct {
	cfg *mysql.Config
}

// parseMySQL parses an address mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS], with
// the password taken from the address or else from MLPROV_MYSQL_PASSWORD, and PARAMS those of
// the Go MySQL driver (tls=true, tls=skip-verify, timeout=5s, ...). Its errors never repeat
// the address, which may hold a password.
func parseMySQL(path string) (serverAddress, error) {
	c, err := splitCredentials(path, badMySQLAddress)
	if err != nil {
		return nil, err
	}
	user, pass, rest := c.user, c.pass, c.rest
	u, err := url.Parse("mysql://" + rest) // the rest holds no password
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the address
		}
		return nil, fmt.Errorf("%s: %w", badMySQLAddress, err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || db == "" || strings.Contains(db, "/") || user == "" {
		return nil, fmt.Errorf("%s: it needs a user, a host and a database", badMySQLAddress)
	}
	// The driver's own parser reads the parameters; user, password and host are set apart,
	// since they may hold characters its DSN syntax does not allow.
	cfg, err := mysql.ParseDSN("/" + db + "?" + u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", badMySQLAddress, err)
	}
	cfg.User, cfg.Passwd = user, pass
	if !c.hasPass {
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
	return &mysqlAddress{cfg: cfg}, nil
}

func (a *mysqlAddress) identity() string {
	return "mysql://" + url.User(a.cfg.User).String() + "@" + a.cfg.Addr + "/" + a.cfg.DBName
}

func (a *mysqlAddress) database() string { return a.cfg.DBName }

// connect opens one connection to the database in a read-only transaction with a consistent
// snapshot (InnoDB serves it from its undo log, taking no row locks).
func (a *mysqlAddress) connect(ctx context.Context) (backend, func(), error) {
	connector, err := mysql.NewConnector(a.cfg)
	if err != nil {
		return nil, nil, err
	}
	conn, release, err := openSnapshot(ctx, connector, a.cfg.Timeout, fmt.Sprintf("connect to %s as %s", a.cfg.Addr, a.cfg.User), explainConnect,
		"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
	if err != nil {
		return nil, nil, err
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
	case errors.Is(err, mysql.ErrNoTLS):
		return fmt.Errorf("%w (the address asks for TLS with tls=, and the server does not offer it)", err)
	}
	return err
}

// mysqlDB is an MLMD store in a MySQL or MariaDB database: one connection inside a
// read-only transaction (see mysqlAddress.connect).
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
	for i, n := range names {
		names[i] = knownTable(n)
	}
	return names, nil
}

func (db mysqlDB) columns(ctx context.Context, table string) ([]string, error) {
	return catalogNames(ctx, db, "SELECT lower(column_name) FROM information_schema.columns WHERE table_schema = DATABASE() AND lower(table_name) = lower(?)", table)
}

func (mysqlDB) quote(name string) string { return "`" + name + "`" }

func (mysqlDB) explain(what string, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1142 || me.Number == 1143) {
		return fmt.Errorf("%s: %w (the user needs SELECT on the database's tables)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// parallel is false: one connection holds the snapshot, and reads one table at a time.
func (mysqlDB) parallel() bool { return false }
