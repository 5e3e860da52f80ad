// Package storetest gives tests a store: in memory, small, and closed when the test ends.
//
// It cannot live in package golden, which every test binary imports: engine depends on
// packages whose tests import golden, so golden must not import engine.
package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"mlprov/engine"
)

// Open opens an in-memory store for tb's test and closes it when the test ends. The store runs
// on one thread within 512MB and spills to the test's temporary folder, so that the tests of
// several packages can run side by side.
func Open(tb testing.TB) *engine.Engine {
	tb.Helper()
	e, err := engine.Open(context.Background(), ":memory:", engine.Options{Threads: 1, MemoryLimit: "512MB", TempDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// Loaded opens a store as Open does and loads path into it with l, failing tb if it cannot.
func Loaded(tb testing.TB, l engine.Loader, path string) *engine.Engine {
	tb.Helper()
	e := Open(tb)
	if _, err := e.Load(context.Background(), l, path, engine.LoadOptions{}); err != nil {
		tb.Fatalf("load %s: %v", path, err)
	}
	return e
}

// Load loads path into e with l and opts, and returns the progress lines the load printed
// besides its result and error.
func Load(tb testing.TB, e *engine.Engine, l engine.Loader, path string, opts engine.LoadOptions) ([]string, engine.LoadResult, error) {
	tb.Helper()
	var steps []string
	opts.Progress = func(s string) { steps = append(steps, s) }
	res, err := e.Load(context.Background(), l, path, opts)
	return steps, res, err
}

// CopyFiles copies the files of folder from (not its sub-folders) into folder to, so that a
// test may change an input between two loads of it.
func CopyFiles(tb testing.TB, from, to string) {
	tb.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		tb.Fatal(err)
	}
	for _, en := range entries {
		if en.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, en.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, en.Name()), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// SharedData finds the project's shared sample inputs (shared/data) by walking up from the
// test's folder: shared/ sits beside the repository.
func SharedData(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "data")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no shared/data folder above the test: copy shared/ beside the repository")
		}
		dir = parent
	}
}

// Column runs q on db and returns its one column, row by row, failing tb on any error.
func Column[T any](tb testing.TB, db interface {
	Query(query string, args ...any) (*sql.Rows, error)
}, q string, args ...any) []T {
	tb.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// LogEvents reads an OpenLineage log written as one JSON array and returns its events, each
// as compact JSON.
func LogEvents(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(data, &recs); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	out := make([][]byte, len(recs))
	for i, r := range recs {
		var b bytes.Buffer
		if err := json.Compact(&b, r); err != nil {
			tb.Fatal(err)
		}
		out[i] = b.Bytes()
	}
	return out
}
