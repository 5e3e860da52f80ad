package engine_test

import (
	"os"
	"strings"
	"testing"

	"mlprov/internal/storetest"
)

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyLayout copies the files of a native layout into a new temporary folder, so that a
// test may change them between loads.
func copyLayout(t testing.TB, dir string) string {
	t.Helper()
	out := t.TempDir()
	storetest.CopyFiles(t, dir, out)
	return out
}

// dropLines removes the lines of a file that hold sub.
func dropLines(t testing.TB, path, sub string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, sub) {
			keep = append(keep, line)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}
