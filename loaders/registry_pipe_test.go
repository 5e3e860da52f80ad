package loaders

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLookupRefusesPipes checks that auto-detection never opens a pipe (which blocks until a
// writer comes) and says what the path is instead.
func TestLookupRefusesPipes(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "events.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no named pipes here:", err)
	}
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(logs, "a.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, format, want string }{
		{fifo, "auto", "events.jsonl: is a pipe, not a regular file"},
		{fifo, "openlineage", "events.jsonl: is a pipe, not a regular file"},
		{fifo, "mlmd", "events.jsonl: is a pipe, not a regular file"},
		{logs, "auto", "format not recognised"},
	} {
		done := make(chan error, 1)
		go func() {
			_, _, err := Lookup(tc.format, tc.path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Lookup(%s, %s) = %v, want an error saying %q", tc.format, tc.path, err, tc.want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Lookup(%s, %s) hangs on a pipe", tc.format, tc.path)
		}
	}
}
