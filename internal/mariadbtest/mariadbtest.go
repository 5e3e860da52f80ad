// Package mariadbtest gives tests a private MariaDB server: a throw-away data folder in the
// test's temporary folder, a free port on the loopback interface, no system service, and
// stopped when the test ends.
package mariadbtest

import (
	"database/sql"
	"fmt"
	"mlprov/internal/servertest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Server is a running MariaDB server whose root user has no password.
type Server struct {
	// Addr is the server's HOST:PORT on the loopback interface.
	Addr string
	// Root is a connection pool of the root user, to no database in particular.
	Root *sql.DB
}

// binary finds a MariaDB program: on PATH, else in the sbin folders Debian installs it to,
// which a user's PATH may leave out.
func binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// Start starts a server for tb and stops it when tb ends. Without MariaDB installed it skips
// tb, saying why, unless the environment variable CI is set: there the tests must run, and
// it fails tb instead. flags are more of mariadbd's options, after the defaults, which they
// override (--innodb-buffer-pool-size=1G: the defaults keep a test's server small).
func Start(tb testing.TB, flags ...string) *Server {
	tb.Helper()
	server, err := binary("mariadbd")
	var install string
	if err == nil {
		install, err = binary("mariadb-install-db")
	}
	if err != nil {
		msg := fmt.Sprintf("no MariaDB server to test against (%v): install Debian's mariadb-server", err)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	user := []string{}
	if os.Getuid() == 0 {
		user = []string{"--user=root"} // mariadbd refuses to run as root unless told
	}
	cmd := exec.Command(install, append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db"}, user...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := servertest.FreePort(tb)
	logFile := filepath.Join(dir, "error.log")
	cmd = exec.Command(server, append([]string{"--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(dir, "mysqld.pid"), "--log-error=" + logFile,
		"--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", port), "--skip-name-resolve", "--skip-log-bin",
		"--performance-schema=OFF", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
		"--innodb-flush-log-at-trx-commit=0", "--max-connections=50"}, append(user, flags...)...)...)
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", s.Addr
	cfg.MultiStatements = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s.Root = sql.OpenDB(connector)
	tb.Cleanup(func() { s.Root.Close() })
	servertest.Run(tb, "mariadbd", cmd, syscall.SIGTERM, logFile, s.Root.PingContext)
	return s
}

// Database creates the database name and returns a pool of root's connections to it, which
// run several statements at once.
func (s *Server) Database(tb testing.TB, name string) *sql.DB {
	tb.Helper()
	if _, err := s.Root.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		tb.Fatal(err)
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", s.Addr, name
	cfg.MultiStatements = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(connector)
	tb.Cleanup(func() { db.Close() })
	return db
}

// URL is the mysql:// address of database db for user (with password pass, when not empty).
func (s *Server) URL(user, pass, db string) string {
	if pass != "" {
		user += ":" + pass
	}
	return "mysql://" + user + "@" + s.Addr + "/" + db
}

// CopySQLite copies every table of the SQLite database at path into db, whose tables of the
// same names have at least the same columns, row by row and value for value, a few hundred
// rows per INSERT.
func CopySQLite(tb testing.TB, path string, db *sql.DB) {
	tb.Helper()
	servertest.SQLiteTables(tb, path, func(table string, cols []string, rows [][]any) {
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = "`" + c + "`"
		}
		head := "INSERT INTO `" + table + "` (" + strings.Join(quoted, ", ") + ") VALUES "
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		for len(rows) > 0 {
			n := min(len(rows), 500)
			args := make([]any, 0, n*len(cols))
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
			if _, err := db.Exec(head+strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", "), args...); err != nil {
				tb.Fatalf("copy %s: %v", table, err)
			}
			rows = rows[n:]
		}
	})
}
