package loaders

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mlprov/loaders/mlmd"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "metadata.sqlite")
	w, err := mlmd.Create(context.Background(), store, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "other.sqlite")
	db, err := sql.Open("sqlite3", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	events := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(events, []byte(`{"eventType":"START","eventTime":"2024-01-01T00:00:00Z","run":{"runId":"a"},"job":{"namespace":"n","name":"j"}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		format, path, want, err string
		reads                   string // the path the loader reads, when it is not path
	}{
		{path: store, want: "mlmd"},
		// A folder holding metadata.sqlite (a TFX pipeline root, gen --format mlmd) is that
		// store, detected or named.
		{path: dir, want: "mlmd", reads: store},
		{format: "mlmd", path: dir, want: "mlmd", reads: store},
		{format: "openlineage", path: dir, want: "openlineage"},
		{format: "mlmd", path: filepath.Join("..", "testdata"), err: "a folder without an MLMD store (metadata.sqlite) in it"},
		{path: filepath.Join("..", "testdata", "example"), want: "native"},
		{path: events, want: "openlineage"},
		// Every SQLite file goes to mlmd, whose Stage says what it lacks (no MLMDEnv table).
		{path: foreign, want: "mlmd"},
		{path: filepath.Join("..", "README.md"), err: "format not recognised"},
	}
	for _, c := range cases {
		l, reads, err := Lookup(c.format, c.path)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: got %v, want an error with %q", c.path, err, c.err)
		case c.err != "" && c.format == "" && (!errors.Is(err, ErrNotRecognised) || strings.Contains(err.Error(), "--")):
			t.Errorf("%s: got %v, want ErrNotRecognised naming no flag (the CLI adds its hint)", c.path, err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.path, err)
		case c.err == "" && l.Format() != c.want:
			t.Errorf("%s: detected %s, want %s", c.path, l.Format(), c.want)
		case c.err == "" && reads != cmp.Or(c.reads, c.path):
			t.Errorf("Lookup(%q, %s) reads %s, want %s", c.format, c.path, reads, cmp.Or(c.reads, c.path))
		}
	}
}

// TestLookupServer checks that a mysql:// or postgres:// address goes to the MLMD loader of database
// servers, whatever the format says short of another one, and that an address the password
// is in is never repeated with it.
func TestLookupServer(t *testing.T) {
	for _, c := range []struct {
		format, path, err string
	}{
		{"", "mysql://reader:s3cret@db.example:3306/metadb", ""},
		{"auto", "MySQL://reader@db.example/metadb?tls=true", ""},
		{"mlmd", "mysql://reader@db.example/metadb", ""},
		{"native", "mysql://reader:s3cret@db.example/metadb", "mysql://reader@db.example/metadb: format native cannot read a database server: only mlmd can"},
		{"", "postgres://reader:s3cret@db.example/metadb", ""},
		{"mlmd", "postgresql://db.example/metadb?sslmode=require&password=s3cret", ""},
		{"native", "postgres://reader:s3cret@db.example/metadb", "postgres://reader@db.example/metadb: format native cannot read a database server: only mlmd can"},
		{"", "sqlserver://reader:s3cret@db.example/metadb", "sqlserver://reader@db.example/metadb: the only database servers mlprov reads are MySQL and MariaDB (mysql://) and PostgreSQL (postgres://), not sqlserver"},
	} {
		l, _, err := Lookup(c.format, c.path)
		if c.err == "" {
			if _, ok := l.(*mlmd.Server); err != nil || !ok {
				t.Errorf("Lookup(%q, %q) = %T, %v; want *mlmd.Server", c.format, c.path, l, err)
			}
			continue
		}
		if err == nil || err.Error() != c.err {
			t.Errorf("Lookup(%q, %q): error %v, want %q", c.format, c.path, err, c.err)
		}
	}
}
