package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlprov/engine"
	"mlprov/loaders/native"
)

// TestInterruptedLoadTellsTheTruth interrupts loads at moments spread over their last steps
// (the final derivation, the source row, the commit) and checks that what Load returns
// matches the store: nil exactly when the source is in it, an error exactly when it is not.
func TestInterruptedLoadTellsTheTruth(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.duckdb")
	// load runs one load into a new store, cancelled after delay from its last derivation
	// step (never when delay < 0), and returns the sources stored, how long the load ran past
	// that step and what Load said.
	load := func(delay time.Duration) (int, time.Duration, error) {
		e := open(t, path, engine.Options{})
		defer removeStore(t, path)
		defer e.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var last time.Time
		opts := engine.LoadOptions{Progress: func(step string) {
			if strings.HasPrefix(step, "materialized topology_catalog") {
				last = time.Now()
				if delay >= 0 {
					time.AfterFunc(delay, cancel)
				}
			}
		}}
		_, err := e.Load(ctx, &native.Loader{}, example, opts)
		tail := time.Since(last)
		var n int
		if qerr := e.DB().QueryRow(`SELECT count(*) FROM sources`).Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		return n, tail, err
	}
	_, tail, _ := load(-1)
	const tries = 16
	var committed, rolledBack int
	for i := range tries {
		delay := tail * time.Duration(i) / (tries - 4) // the last few land after the commit
		n, _, err := load(delay)
		switch {
		case err == nil && n == 1:
			committed++
		case err != nil && n == 0:
			rolledBack++
		default:
			t.Errorf("interrupt %v after the last derivation: Load returned %v with %d sources in the store", delay, err, n)
		}
	}
	t.Logf("the load ran %v past its last derivation; %d interrupted loads committed, %d rolled back", tail, committed, rolledBack)
}

func removeStore(t testing.TB, path string) {
	t.Helper()
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}
