package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestMemTotal(t *testing.T) {
	f := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(f, []byte("MemFree:         1000 kB\nMemTotal:       24683656 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := memTotal(f), int64(24683656)<<10; got != want {
		t.Errorf("memTotal = %d, want %d", got, want)
	}
	if got := memTotal(filepath.Join(t.TempDir(), "missing")); got != 0 {
		t.Errorf("memTotal of a missing file = %d, want 0", got)
	}
}

// A store opened without a limit takes half the machine's memory, not a fixed figure.
func TestDefaultMemoryLimit(t *testing.T) {
	t.Setenv("MLPROV_MEMORY_LIMIT", "")
	total := machineMemory()
	if total == 0 {
		t.Skip("this machine's memory cannot be read")
	}
	shown := defaultSetting(t, "memory_limit")
	var n float64
	var unit string
	if _, err := fmt.Sscanf(shown, "%g %s", &n, &unit); err != nil {
		t.Fatalf("memory_limit %q: %v", shown, err)
	}
	bytes := int64(n * map[string]float64{"MiB": 1 << 20, "GiB": 1 << 30}[unit])
	want := max(total/2, 1<<30)
	if d := bytes - want; d < -want/50 || d > want/50 {
		t.Errorf("memory_limit = %d bytes, want about %d (half of %d)", bytes, want, total)
	}
}

// A store opened without a thread count takes one per CPU the process may use.
func TestDefaultThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if threads := defaultSetting(t, "threads"); threads != "1" {
		t.Errorf("threads = %s with GOMAXPROCS 1, want 1", threads)
	}
}

// defaultSetting returns DuckDB's setting name in a store opened with the zero Options.
func defaultSetting(t *testing.T, name string) string {
	t.Helper()
	e, err := Open(context.Background(), ":memory:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var v string
	if err := e.db.QueryRow(`SELECT current_setting($1)::VARCHAR`, name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
