// Package servertest runs the database servers tests start for themselves (see mariadbtest
// and pgtest): one process, its log in a file, stopped when the test ends; and reads the
// SQLite stores they are filled from.
package servertest

import (
	"context"
	"database/sql"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver, to copy stores from

	"mlprov/internal/storetest"
)

// Run starts cmd, a server named name that writes its log to logFile, and returns once ping
// succeeds; it fails tb if the server exits first or does not answer in 60 s. When tb ends
// the server is sent stop, and killed if it has not exited 30 s later.
func Run(tb testing.TB, name string, cmd *exec.Cmd, stop os.Signal, logFile string, ping func(context.Context) error) {
	tb.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true // a Ctrl-C of the tests is theirs to handle, not the server's
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		if err := cmd.Process.Signal(stop); err != nil {
			return // it exited already
		}
		select {
		case err := <-exited:
			tb.Logf("%s stopped: %v", name, err)
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			tb.Logf("%s killed after 30 s: %v", name, <-exited)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := ping(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case e := <-exited:
			log, _ := os.ReadFile(logFile)
			tb.Fatalf("%s exited: %v\n%s", name, e, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			tb.Fatalf("%s did not answer in 60s: %v\n%s", name, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort returns a TCP port on the loopback interface that nothing listens on.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// SQLiteTables calls fn with every table of the SQLite database at path, in name order: its
// name, its columns and all its rows, as the driver gives the values.
func SQLiteTables(tb testing.TB, path string, fn func(table string, cols []string, rows [][]any)) {
	tb.Helper()
	src, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	for _, t := range storetest.Column[string](tb, src,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name") {
		cols, rows := sqliteTable(tb, src, t)
		fn(t, cols, rows)
	}
}

func sqliteTable(tb testing.TB, src *sql.DB, table string) ([]string, [][]any) {
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
	var all [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		all = append(all, vals)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return cols, all
}
