package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duckdb/duckdb-go/v2"

	"mlprov/engine"
)

func open(t testing.TB, path string, opts engine.Options) *engine.Engine {
	t.Helper()
	if opts.Threads == 0 {
		opts.Threads = 1
	}
	e, err := engine.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestOpenCreatesSchema(t *testing.T) {
	ctx := context.Background()
	e := open(t, ":memory:", engine.Options{})
	v, err := e.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != engine.LatestSchemaVersion() {
		t.Errorf("schema version = %d, want %d", v, engine.LatestSchemaVersion())
	}
	var cat string
	if err := e.DB().QueryRowContext(ctx, `SELECT category FROM op_categories WHERE op_type = 'Trainer'`).Scan(&cat); err != nil {
		t.Fatal(err)
	}
	if cat != "train" {
		t.Errorf("Trainer category = %q, want train", cat)
	}
}

func TestOpenRefusesNewerStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.duckdb")
	e := open(t, path, engine.Options{})
	if _, err := e.DB().ExecContext(ctx, `UPDATE mlprov_meta SET value = '999' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	e.Close()
	_, err := engine.Open(ctx, path, engine.Options{Threads: 1})
	if !errors.Is(err, engine.ErrNewerStore) {
		t.Fatalf("open of a newer store: err = %v, want ErrNewerStore", err)
	}
	if !strings.Contains(err.Error(), "schema 999") || !strings.Contains(err.Error(), "upgrade mlprov") {
		t.Errorf("error %q does not say the store's schema and what to do", err)
	}
}

func TestOpenUpgradesOlderStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.duckdb")
	e := open(t, path, engine.Options{})
	// A store at schema 0 with the meta table is what a pre-release mlprov left: every
	// migration must apply again on top, so fake that by dropping the canonical tables.
	for _, q := range []string{
		`DROP TABLE sources`, `DROP TABLE pipelines`, `DROP TABLE executions`, `DROP TABLE artifacts`,
		`DROP TABLE events`, `DROP TABLE op_categories`, `DROP TABLE loads`, `DROP TABLE source_keys`,
		`DROP TABLE openlineage_events`, `DROP TABLE prune_models`, `DROP TABLE prune_studies`, `UPDATE mlprov_meta SET value = '0'`,
	} {
		if _, err := e.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	for _, ro := range []bool{true, false} {
		e = open(t, path, engine.Options{ReadOnly: ro})
		v, err := e.SchemaVersion(ctx)
		if err != nil || v != engine.LatestSchemaVersion() {
			t.Errorf("read-only=%v: schema version = %d, %v; want %d", ro, v, err, engine.LatestSchemaVersion())
		}
		e.Close()
	}
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "other.duckdb")
	e := open(t, path, engine.Options{})
	if _, err := e.DB().ExecContext(ctx, `CREATE TABLE customers (id INT); DROP TABLE mlprov_meta`); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := engine.Open(ctx, path, engine.Options{Threads: 1}); !errors.Is(err, engine.ErrNotStore) {
		t.Fatalf("err = %v, want ErrNotStore", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.duckdb")
	writeFile(t, junk, strings.Repeat("not a database\n", 1000))
	if _, err := engine.Open(ctx, junk, engine.Options{Threads: 1}); !errors.Is(err, engine.ErrNotStore) {
		t.Fatalf("opening a text file: err = %v, want ErrNotStore", err)
	}
}

// TestOpenErrorsByType checks that a store in a missing folder fails with DuckDB's own IO
// error, still inspectable as *duckdb.Error, even when its path reads like a lock conflict or
// a foreign file: those are told from DuckDB's error, not from any text in the path.
func TestOpenErrorsByType(t *testing.T) {
	for _, dir := range []string{
		`Could not set lock on file: Conflicting lock is held in x (PID 42)`,
		`The file exists, but it is not a valid DuckDB database file!`,
		`is not a DuckDB database`,
	} {
		path := filepath.Join(t.TempDir(), dir, "s.duckdb")
		_, err := engine.Open(context.Background(), path, engine.Options{Threads: 1})
		var de *duckdb.Error
		if errors.Is(err, engine.ErrStoreInUse) || errors.Is(err, engine.ErrNotStore) ||
			!errors.As(err, &de) || de.Type != duckdb.ErrorTypeIO || !strings.Contains(err.Error(), "No such file or directory") {
			t.Errorf("open %s: err = %v, want DuckDB's IO error saying the file cannot be opened", path, err)
		}
	}
}
