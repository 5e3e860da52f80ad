// Package pgtest gives tests a private PostgreSQL server: a throw-away data folder, a free
// port on the loopback interface, no system service, and stopped when the test ends.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"mlprov/internal/storetest"
	_ "modernc.org/sqlite" // registers the "sqlite" driver, to copy stores from
)

// Superuser and SuperPassword are the server's superuser, who logs in over TCP with a
// password as every user does.
const (
	Superuser     = "mlprov"
	SuperPassword = "Sup3r-pw"
)

// Server is a running PostgreSQL server.
type Server struct {
	// Addr is the server's HOST:PORT on the loopback interface.
	Addr string
	// Root is a connection pool of the superuser, to the database postgres.
	Root *sql.DB
}

// binDir finds the folder of PostgreSQL's server programs: Debian keeps them out of PATH,
// in /usr/lib/postgresql/VERSION/bin, and the newest version installed is taken.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("initdb not found on PATH or in /usr/lib/postgresql/*/bin")
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// Start starts a server for tb and stops it when tb ends. Without PostgreSQL installed it
// skips tb, saying why, unless the environment variable CI is set: there the tests must run,
// and it fails tb instead. PostgreSQL refuses to run as root, so as root the server runs as
// the user postgres, which Debian's package makes.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := binDir()
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL server to test against (%v): install Debian's postgresql", err)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	// Not tb.TempDir: its parents are private to root, and the server may run as another user.
	dir, err := os.MkdirTemp("", "mlprov-pgtest-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root, the server needs the user postgres (Debian's postgresql makes it): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
		cmd.Dir = dir
		return cmd
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(SuperPassword+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", Superuser, "--pwfile="+pwfile, "--auth=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	logFile := filepath.Join(dir, "server.log")
	logOut, err := os.Create(logFile)
	if err != nil {
		tb.Fatal(err)
	}
	defer logOut.Close()
	cmd := run("postgres", "-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "shared_buffers=32MB", "-c", "max_connections=40")
	cmd.Stdout, cmd.Stderr = logOut, logOut
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil { // a fast shutdown
			return // it exited already
		}
		select {
		case err := <-exited:
			tb.Logf("postgres stopped: %v", err)
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			tb.Logf("postgres killed after 30 s: %v", <-exited)
		}
	})
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.Root = s.Open(tb, "postgres")
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
			tb.Fatalf("postgres exited: %v\n%s", e, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			tb.Fatalf("postgres did not answer in 60s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// Open returns a pool of the superuser's connections to database db, which run several
// statements at once (the simple protocol) when given no arguments.
func (s *Server) Open(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	cfg, err := pgx.ParseConfig(s.URL(Superuser, SuperPassword, db) + "?sslmode=disable")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pool := sql.OpenDB(stdlib.GetConnector(*cfg))
	tb.Cleanup(func() { pool.Close() })
	return pool
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

// Database creates the database name and returns a pool of the superuser's connections to it.
func (s *Server) Database(tb testing.TB, name string) *sql.DB {
	tb.Helper()
	if _, err := s.Root.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		tb.Fatal(err)
	}
	return s.Open(tb, name)
}

// URL is the postgres:// address of database db for user (with password pass, when not
// empty).
func (s *Server) URL(user, pass, db string) string {
	u := url.User(user)
	if pass != "" {
		u = url.UserPassword(user, pass)
	}
	return "postgres://" + u.String() + "@" + s.Addr + "/" + db
}

// CopySQLite copies every table of the SQLite database at path into db, whose tables of the
// same names in lower case (as PostgreSQL keeps unquoted names) have at least the same
// columns, value for value: SQLite's 0 and 1 go into boolean columns as false and true, and
// text into bytea columns as its bytes (MLMD keeps bytes base64-encoded on every backend). The
// sequences of id columns then continue after the largest id copied, as they would had the
// rows been inserted one by one.
func CopySQLite(tb testing.TB, path string, db *sql.DB) {
	tb.Helper()
	src, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	for _, t := range storetest.Column[string](tb, src,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name") {
		copyTable(tb, src, db, conn, t)
	}
}

// copyTable copies one table through COPY FROM.
func copyTable(tb testing.TB, src, db *sql.DB, conn *sql.Conn, table string) {
	tb.Helper()
	to := strings.ToLower(table)
	ctx := context.Background()
	types := map[string]string{}
	for _, c := range storetest.Column[string](tb, db,
		"SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = $1", to) {
		name, typ, _ := strings.Cut(c, " ")
		types[name] = typ
	}
	var all [][]any
	rows, err := src.Query("SELECT * FROM `" + table + "`")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
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
		for i, c := range cols {
			switch v := vals[i].(type) {
			case int64:
				if types[c] == "boolean" {
					vals[i] = v != 0
				}
			case string:
				if types[c] == "bytea" {
					vals[i] = []byte(v)
				}
			}
		}
		all = append(all, vals)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.CopyFrom(ctx, pgx.Identifier{to}, cols, pgx.CopyFromRows(all)); err != nil {
			return err
		}
		for _, c := range cols {
			if c == "id" {
				_, err := pc.Exec(ctx, "SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) FROM "+pgx.Identifier{to}.Sanitize(), to)
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("copy %s: %v", table, err)
	}
}
