package report

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mlprov/catalog"
	"mlprov/internal/render"
)

// checkComplete fails unless dir holds a report whose every file matches manifest.json, and
// returns the report.md it holds.
func checkComplete(t *testing.T, dir string) string {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(read(t, filepath.Join(dir, "manifest.json")), &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	for name, sum := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || digest(b) != sum {
			t.Errorf("%s does not match manifest.json (%v)", name, err)
		}
	}
	return string(read(t, filepath.Join(dir, "report.md")))
}

// siblings lists what lies beside dir, to check that a run leaves nothing of its own there.
func siblings(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteKeepsFilesItDidNotWrite(t *testing.T) {
	dir := write(t, sample())
	notes := map[string]string{"notes.txt": "my notes", "plots/annotated.png": "my drawing", "drafts/a.md": "draft"}
	for name, text := range notes {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := sample()
	in.Analyses = slices.DeleteFunc(in.Analyses, func(a catalog.Analysis) bool { return a.Name == "usage" })
	if _, err := Write(context.Background(), dir, in); err != nil {
		t.Fatal(err)
	}
	for name, text := range notes {
		if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(b) != text {
			t.Errorf("%s, which mlprov did not write, is gone or changed: %q, %v", name, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "plots", "usage.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the plot of an analysis that is gone stayed behind: %v", err)
	}
	checkComplete(t, dir)
	if got := siblings(t, dir); !slices.Equal(got, []string{"report"}) {
		t.Errorf("beside the report: %v, want only the report", got)
	}
}

func TestWriteRefusesForeignManifest(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"manifest.json": `{"name": "my web app"}`, "index.js": "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Write(context.Background(), dir, sample())
	if !errors.Is(err, ErrNotReportFolder) || !strings.Contains(err.Error(), "manifest.json was not written by mlprov") {
		t.Errorf("err = %v, want a refusal naming the foreign manifest.json", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("the refused folder holds %d files, want its 2", len(entries))
	}
	// A file of the user's with the name of a file the report writes is refused too.
	rep := write(t, sample())
	if err := os.WriteFile(filepath.Join(rep, "plots", "extra.png"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := sample()
	in.Analyses = append(in.Analyses, catalog.Analysis{Name: "extra", Plot: catalog.Plot{Kind: "hist", X: "n"},
		Result: &render.Result{Columns: []string{"n"}, Rows: [][]any{{int64(1)}, {int64(2)}}}})
	if _, err := Write(context.Background(), rep, in); err == nil || !strings.Contains(err.Error(), "would overwrite plots/extra.png, which mlprov did not write") {
		t.Errorf("err = %v, want a refusal to overwrite plots/extra.png", err)
	}
	if b := read(t, filepath.Join(rep, "plots", "extra.png")); string(b) != "mine" {
		t.Error("plots/extra.png was overwritten")
	}
	checkComplete(t, rep)
}

// TestFailedWriteLeavesEarlierReport checks that a report that fails to build, or is
// cancelled, leaves the earlier one whole and nothing beside it.
func TestFailedWriteLeavesEarlierReport(t *testing.T) {
	bad := sample()
	bad.Analyses[2].Plot.Y = "missing" // usage's plot cannot be drawn
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, tc := range map[string]struct {
		ctx context.Context
		in  Input
	}{"unplottable": {context.Background(), bad}, "cancelled": {ctx, sample()}} {
		t.Run(name, func(t *testing.T) {
			dir := write(t, sample())
			before := checkComplete(t, dir)
			if _, err := Write(tc.ctx, dir, tc.in); err == nil {
				t.Fatal("Write succeeded")
			}
			if after := checkComplete(t, dir); after != before {
				t.Error("report.md changed")
			}
			if got := siblings(t, dir); !slices.Equal(got, []string{"report"}) {
				t.Errorf("beside the report: %v, want only the report", got)
			}
		})
	}
}

// TestCancelledAfterBuild checks the last moment a run can stop before the swap: with the
// new report written beside the old one.
func TestCancelledAfterBuild(t *testing.T) {
	dir := write(t, sample())
	before := checkComplete(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	in := sample()
	in.Analyses = in.Analyses[:3]
	in.Progress = func(step string) {
		if strings.HasPrefix(step, "moving the report") {
			cancel()
		}
	}
	if _, err := Write(ctx, dir, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if after := checkComplete(t, dir); after != before {
		t.Error("report.md changed")
	}
	if got := siblings(t, dir); !slices.Equal(got, []string{"report"}) {
		t.Errorf("beside the report: %v, want only the report", got)
	}
}
