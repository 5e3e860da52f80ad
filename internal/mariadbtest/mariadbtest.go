// Package mariadbtest gives tests a private MariaDB server: a throw-away data folder in the
// test's temporary folder, a free port on the loopback interface, no system service, and
// stopped when the test ends.
package mariadbtest

import (
	"context"
	"database/sql"
	"fmt"
	"mlprov/internal/storetest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers the "sqlite" driver, to copy stores from
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
// it fails tb instead.
func Start(tb testing.TB) *Server {
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
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	logFile := filepath.Join(dir, "error.log")
	cmd = exec.Command(server, append([]string{"--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(dir, "mysqld.pid"), "--log-error=" + logFile,
		"--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", port), "--skip-name-resolve", "--skip-log-bin",
		"--performance-schema=OFF", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
		"--innodb-flush-log-at-trx-commit=0", "--max-connections=50"}, user...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return // it exited already
		}
		select {
		case err := <-exited:
			tb.Logf("mariadbd stopped: %v", err)
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			tb.Logf("mariadbd killed after 30 s: %v", <-exited)
		}
	})
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.Root.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case e := <-exited:
			log, _ := os.ReadFile(logFile)
			tb.Fatalf("mariadbd exited: %v\n%s", e, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			tb.Fatalf("mariadbd did not answer in 60s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// freePort returns a TCP port on the loopback interface that nothing listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
// same names have at least the same columns, row by row and value for value.
func CopySQLite(tb testing.TB, path string, db *sql.DB) {
	tb.Helper()
	src, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	for _, t := range storetest.Column[string](tb, src,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name") {
		copyTable(tb, src, db, t)
	}
}

// copyTable copies one table, a few hundred rows per INSERT.
func copyTable(tb testing.TB, src, db *sql.DB, table string) {
	tb.Helper()
	rows, err := src.Query("SELECT * FROM `" + table + "`")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = "`" + c + "`"
	}
	head := "INSERT INTO `" + table + "` (" + strings.Join(quoted, ", ") + ") VALUES "
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var args []any
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		q := head + strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
		if _, err := db.Exec(q, args...); err != nil {
			tb.Fatalf("copy %s: %v", table, err)
		}
		args, n = args[:0], 0
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		args = append(args, vals...)
		if n++; n == 500 {
			flush()
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	flush()
}
