package loaders

import (
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
	db, err := sql.Open("sqlite", foreign)
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
		path, want, err string
	}{
		{store, "mlmd", ""},
		{filepath.Join("..", "testdata", "example"), "native", ""},
		{events, "openlineage", ""},
		// Every SQLite file goes to mlmd, whose Stage says what it lacks (no MLMDEnv table).
		{foreign, "mlmd", ""},
		{filepath.Join("..", "README.md"), "", "format not recognised"},
	}
	for _, c := range cases {
		l, err := Lookup("auto", c.path)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: got %v, want an error with %q", c.path, err, c.err)
		case c.err != "" && (!errors.Is(err, ErrNotRecognised) || strings.Contains(err.Error(), "--")):
			t.Errorf("%s: got %v, want ErrNotRecognised naming no flag (the CLI adds its hint)", c.path, err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.path, err)
		case c.err == "" && l.Format() != c.want:
			t.Errorf("%s: detected %s, want %s", c.path, l.Format(), c.want)
		}
	}
}
