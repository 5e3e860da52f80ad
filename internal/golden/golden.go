// Package golden compares a test's output with a file under testdata and rewrites the file
// when the tests run with -update (go test ./... -update, or make golden).
//
// The -update flag is defined here, and go test passes it to every test binary, so every
// package with tests imports this one (a blank import where it has no golden file);
// otherwise that package's test binary would refuse the flag.
package golden

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files with what the tests got")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Check compares got with the golden file at path and fails t with a (-want +got) diff when
// they differ. With -update it writes got to path instead, creating its folder.
func Check(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no golden file %s: check the output below, then write it with go test -update\n%s", path, got)
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); if the change is right, rewrite it with go test -update:\n%s", path, diff)
	}
}

// CheckCase compares got with the golden file of the case name, testdata/NAME/want.txt, as
// Check does.
func CheckCase(t testing.TB, name, got string) {
	t.Helper()
	Check(t, filepath.Join("testdata", name, "want.txt"), got)
}
