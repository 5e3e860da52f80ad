// Package pgtest gives tests a private PostgreSQL server: a throw-away data folder, a free
// port on the loopback interface, no system service, and stopped when the test ends.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"mlprov/internal/servertest"
	"mlprov/internal/storetest"
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
// the user postgres, which Debian's package makes. settings are more of the server's
// settings, NAME=VALUE, after the defaults, which they override (shared_buffers=1GB: the
// defaults keep a test's server small).
func Start(tb testing.TB, settings ...string) *Server {
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
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
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
	port := servertest.FreePort(tb)
	logFile := filepath.Join(dir, "server.log")
	logOut, err := os.Create(logFile)
	if err != nil {
		tb.Fatal(err)
	}
	defer logOut.Close()
	args := []string{"-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "shared_buffers=32MB", "-c", "max_connections=40"}
	for _, set := range settings {
		args = append(args, "-c", set)
	}
	cmd := run("postgres", args...)
	cmd.Stdout, cmd.Stderr = logOut, logOut
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.Root = s.Open(tb, "postgres")
	servertest.Run(tb, "postgres", cmd, syscall.SIGINT, logFile, s.Root.PingContext) // SIGINT: a fast shutdown
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
// columns, value for value, through COPY FROM: SQLite's 0 and 1 go into boolean columns as
// false and true, and text into bytea columns as its bytes (MLMD keeps bytes base64-encoded
// on every backend). The sequences of id columns then continue after the largest id copied,
// as they would had the rows been inserted one by one.
func CopySQLite(tb testing.TB, path string, db *sql.DB) {
	tb.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	servertest.SQLiteTables(tb, path, func(table string, cols []string, rows [][]any) {
		to := strings.ToLower(table)
		types := map[string]string{}
		for _, c := range storetest.Column[string](tb, db,
			"SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = $1", to) {
			name, typ, _ := strings.Cut(c, " ")
			types[name] = typ
		}
		for _, r := range rows {
			for i, c := range cols {
				switch v := r[i].(type) {
				case int64:
					if types[c] == "boolean" {
						r[i] = v != 0
					}
				case string:
					if types[c] == "bytea" {
						r[i] = []byte(v)
					}
				}
			}
		}
		err := conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			if _, err := pc.CopyFrom(ctx, pgx.Identifier{to}, cols, pgx.CopyFromRows(rows)); err != nil {
				return err
			}
			if types["id"] == "" {
				return nil
			}
			_, err := pc.Exec(ctx, "SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) FROM "+pgx.Identifier{to}.Sanitize(), to)
			return err
		})
		if err != nil {
			tb.Fatalf("copy %s: %v", table, err)
		}
	})
}
