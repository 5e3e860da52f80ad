package native_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/internal/storetest"
	"mlprov/loaders/native"
)

func write(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCSVRoundTripKeepsValues exports values that need quoting, placed after the rows a CSV
// sniffer samples, and loads them back unchanged.
func TestCSVRoundTripKeepsValues(t *testing.T) {
	const n = 30000
	special := map[int]string{
		25000: `say "hi", twice`,
		25001: "two\nlines",
		25002: "",
		25003: "  spaced  ",
		25004: "ünïcødé ✓ 模型",
		25005: `back\slash, "quote`,
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		row := fmt.Sprintf(`{"execution_id": %d, "pipeline_id": 1, "op_type": "Trainer", "state": "complete"`, i)
		if v, ok := special[i]; ok {
			q := fmt.Sprintf("%q", v)
			row += fmt.Sprintf(`, "run_id": %s, "node_id": %s, "attrs": {"note": %s}`, q, q, q)
		}
		b.WriteString(row + "}\n")
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "pipelines.jsonl"), `{"pipeline_id": 1, "name": "p, \"quoted\""}`+"\n")
	write(t, filepath.Join(dir, "executions.jsonl"), b.String())
	src := storetest.Open(t)
	load(t, src, dir, engine.LoadOptions{})
	out := filepath.Join(t.TempDir(), "out")
	if err := src.Export(context.Background(), out, "csv", false); err != nil {
		t.Fatal(err)
	}
	dst := storetest.Open(t)
	load(t, dst, out, engine.LoadOptions{})
	for _, tb := range []string{"pipelines", "executions"} {
		if diff := cmp.Diff(dump(t, src, tb), dump(t, dst, tb)); diff != "" {
			t.Errorf("table %s after a CSV round trip (-want +got):\n%s", tb, diff)
		}
	}
	// An empty string and a NULL are different values and stay so.
	var empty, null int
	if err := dst.DB().QueryRow(`SELECT count(*) FILTER (WHERE run_id = ''), count(*) FILTER (WHERE run_id IS NULL) FROM executions`).Scan(&empty, &null); err != nil {
		t.Fatal(err)
	}
	if empty != 1 || null != n-len(special) {
		t.Errorf("after the round trip: %d empty run_ids (want 1), %d NULL (want %d)", empty, null, n-len(special))
	}
}

// TestGlobCharactersInPathAreLiteral loads folders whose names hold *, ? and [: the loader
// must read exactly their files, never a sibling's that the name matches as a pattern.
func TestGlobCharactersInPathAreLiteral(t *testing.T) {
	for _, name := range []string{"run*", "a?b", "[x]"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			layout := func(dir string, id int) {
				write(t, filepath.Join(dir, "pipelines.csv"), fmt.Sprintf("pipeline_id,name\n%d,p%d\n", id, id))
				write(t, filepath.Join(dir, "executions", "part.csv"), fmt.Sprintf("execution_id,pipeline_id,op_type,state\n%d,%d,Trainer,complete\n", id+1, id))
				write(t, filepath.Join(dir, "events.csv"), "execution_id,artifact_id,direction\n")
			}
			layout(filepath.Join(parent, name), 100)
			// Siblings the name matches as a pattern: run1, aXb, x.
			layout(filepath.Join(parent, strings.NewReplacer("*", "1", "?", "X", "[x]", "x").Replace(name)), 200)
			e := storetest.Open(t)
			res := load(t, e, filepath.Join(parent, name), engine.LoadOptions{})
			if res.Pipelines != 1 || res.Executions != 1 {
				t.Errorf("loaded %d pipelines and %d executions, want 1 and 1 (a sibling folder was read)", res.Pipelines, res.Executions)
			}
		})
	}
}

// loadWithin runs a load that must finish (a pipe must never block it).
func loadWithin(t *testing.T, e *engine.Engine, dir string) (engine.LoadResult, error) {
	t.Helper()
	type result struct {
		res engine.LoadResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{})
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(60 * time.Second):
		t.Fatal("the load hangs")
		return engine.LoadResult{}, nil
	}
}

func TestPipeInLayoutIsRefused(t *testing.T) {
	for _, file := range []string{"executions.jsonl", "events.jsonl", "events/part.jsonl"} {
		t.Run(file, func(t *testing.T) {
			dir := copyExample(t, nil)
			p := filepath.Join(dir, file)
			os.Remove(p)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip("no named pipes here:", err)
			}
			e := storetest.Open(t)
			_, err := loadWithin(t, e, dir)
			if err == nil || !strings.Contains(err.Error(), file+": is a pipe, not a regular file") {
				t.Fatalf("err = %v, want one naming the pipe %s", err, file)
			}
			var sources int
			if err := e.DB().QueryRow(`SELECT count(*) FROM sources`).Scan(&sources); err != nil {
				t.Fatal(err)
			}
			if sources != 0 {
				t.Errorf("a refused load recorded %d sources", sources)
			}
			if !(&native.Loader{}).Detect(dir) && file == "executions.jsonl" {
				t.Error("a layout whose executions file is a pipe is not detected as native, so its load cannot say why it fails")
			}
		})
	}
}

func TestEmptyTables(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(dir string)
		warnings []string // with a successful load
		err      string   // or the load's error
	}{
		{"zero-byte events file", func(dir string) { write(t, filepath.Join(dir, "events.jsonl"), "") },
			[]string{"events.jsonl holds no events: no execution is linked to an artifact"}, ""},
		{"no events file", func(dir string) { os.Remove(filepath.Join(dir, "events.jsonl")) },
			[]string{"no events file: no execution is linked to an artifact"}, ""},
		{"zero-byte executions file", func(dir string) { write(t, filepath.Join(dir, "executions.jsonl"), "") },
			nil, "executions.jsonl: no executions in it: nothing to load"},
		{"executions folder of empty files", func(dir string) {
			os.Remove(filepath.Join(dir, "executions.jsonl"))
			write(t, filepath.Join(dir, "executions", "a.jsonl"), "")
			write(t, filepath.Join(dir, "executions", "b.jsonl"), "")
		}, nil, "executions/ (2 files): no executions in it: nothing to load"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyExample(t, nil)
			tt.edit(dir)
			e := storetest.Open(t)
			before := snapshot(t, e)
			res, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if diff := cmp.Diff(before, snapshot(t, e)); diff != "" {
					t.Errorf("a refused load changed the store (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %q", res.Warnings, tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(res.Warnings[i], w) {
					t.Errorf("warning %q does not say %q", res.Warnings[i], w)
				}
			}
		})
	}
	// A CSV file with only its header holds no executions either.
	dir := t.TempDir()
	write(t, filepath.Join(dir, "executions.csv"), "execution_id,pipeline_id,op_type,state\n")
	_, err := storetest.Open(t).Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "executions.csv: no executions in it") {
		t.Errorf("header-only executions.csv: err = %v", err)
	}
}

// TestManySmallFiles loads a folder of one-row files in a store with little memory: DuckDB
// keeps a reader per file of a read, so all of them in one read ran out of memory.
func TestManySmallFiles(t *testing.T) {
	const n = 2000
	for _, ext := range []string{"jsonl", "csv"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "pipelines.jsonl"), `{"pipeline_id": 1, "name": "p"}`+"\n")
			for i := 0; i < n; i++ {
				text := fmt.Sprintf(`{"execution_id": %d, "pipeline_id": 1, "op_type": "Trainer", "state": "complete", "cost": 1}`+"\n", i+10)
				if ext == "csv" {
					text = fmt.Sprintf("execution_id,pipeline_id,op_type,state,cost\n%d,1,Trainer,complete,1\n", i+10)
				}
				write(t, filepath.Join(dir, "executions", fmt.Sprintf("part-%04d.%s", i, ext)), text)
			}
			e, err := engine.Open(context.Background(), ":memory:", engine.Options{Threads: 2, MemoryLimit: "300MB"})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			res, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var rows, ids, cost int64
			if err := e.DB().QueryRow(`SELECT count(*), count(DISTINCT execution_id), sum(cost) FROM executions`).Scan(&rows, &ids, &cost); err != nil {
				t.Fatal(err)
			}
			if res.Executions != n || rows != n || ids != n || cost != n {
				t.Errorf("loaded %d executions (%d rows, %d ids, cost %d), want %d", res.Executions, rows, ids, cost, n)
			}
		})
	}
}
