package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/catalog"
	"mlprov/internal/plot"
	"mlprov/internal/render"
)

// sample is a report input with one analysis of every plot kind, a headline, an empty
// result and a result too long for the report's tables, built by hand so that these tests
// need no store.
func sample() Input {
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	var lifespans [][]any
	for i := range 40 {
		lifespans = append(lifespans, []any{int64(i + 1), float64(i*i) / 7, []string{"tfx", "kfp"}[i%2]})
	}
	var daily [][]any
	for d := 1; d <= 10; d++ {
		daily = append(daily, []any{day(d), "runs", int64(10 + d)}, []any{day(d), "trainings", int64(d % 4)})
	}
	return Input{
		Version:     "test",
		Fingerprint: "sha256:feed",
		Sources:     []catalog.Source{{ID: 1, Kind: "native", URI: "testdata/example", Fingerprint: "abc", LoadedAt: day(4), Rows: 3}},
		Params:      map[string]any{"db": "store.duckdb"},
		Analyses: []catalog.Analysis{
			{Name: "overview", Description: "size of the corpus", Topic: "corpus", Plot: catalog.Plot{Kind: "none"},
				SQL:    "SELECT 2 AS pipelines ORDER BY 1",
				Result: &render.Result{Columns: []string{"pipelines", "first", "note"}, Rows: [][]any{{int64(2), day(1), "a | b"}}}},
			{Name: "headline", Description: "the paper's figures beside this corpus's", Topic: "corpus", Plot: catalog.Plot{Kind: "none"},
				SQL:    "SELECT 1",
				Result: &render.Result{Columns: []string{"metric", "paper", "corpus"}, Rows: [][]any{{"graphlets that do not push", "> 30%", "41.2%"}}}},
			{Name: "usage", Description: "share of pipelines using each operator", Topic: "architecture", Plot: catalog.Plot{Kind: "bar", X: "op_type", Y: "share"},
				SQL: "SELECT 1",
				Result: &render.Result{Columns: []string{"op_type", "share"}, Rows: [][]any{
					{"StatisticsGen", 1.0}, {"Trainer", 0.98}, {"Transform", 0.5}, {"ExampleValidator", 0.25}, {"BulkInferrer", 0.0312}}}},
			{Name: "lifespan", Description: "pipeline lifespans", Topic: "lifespan", Plot: catalog.Plot{Kind: "cdf", X: "days", Series: "orchestrator"},
				SQL:    "SELECT 1",
				Result: &render.Result{Columns: []string{"pipeline_id", "days", "orchestrator"}, Rows: lifespans}},
			{Name: "daily", Description: "runs and trainings by day", Topic: "frequency", Plot: catalog.Plot{Kind: "line", X: "day", Y: "count", Series: "measure"},
				SQL:    "SELECT 1",
				Result: &render.Result{Columns: []string{"day", "measure", "count"}, Rows: daily}},
			{Name: "sizes", Description: "graphlet sizes", Topic: "complexity", Plot: catalog.Plot{Kind: "hist", X: "n"},
				SQL:    "SELECT 1",
				Result: &render.Result{Columns: []string{"n"}, Rows: [][]any{{int64(3)}, {big.NewInt(5)}, {int64(5)}, {int64(8)}, {nil}, {int64(13)}, {int64(5)}}}},
			{Name: "nothing", Description: "an analysis with no rows", Topic: "waste", Plot: catalog.Plot{Kind: "bar", X: "k", Y: "v"},
				SQL:    "SELECT 1",
				Result: &render.Result{Columns: []string{"k", "v"}}},
		},
	}
}

func write(t *testing.T, in Input) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "report")
	if _, err := Write(context.Background(), dir, in); err != nil {
		t.Fatal(err)
	}
	return dir
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteIsReproducible(t *testing.T) {
	a, b := write(t, sample()), write(t, sample())
	for _, name := range []string{"report.md", "results.json", "report.html", "manifest.json", "plots/lifespan.png", "plots/lifespan.svg"} {
		if !bytes.Equal(read(t, filepath.Join(a, name)), read(t, filepath.Join(b, name))) {
			t.Errorf("%s differs between two reports of the same input", name)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	dir := write(t, sample())
	for _, name := range []string{"usage", "lifespan", "daily", "sizes"} {
		img, err := png.Decode(bytes.NewReader(read(t, filepath.Join(dir, "plots", name+".png"))))
		if err != nil {
			t.Fatalf("plots/%s.png: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 7*plot.DPI || b.Dy() < 4*plot.DPI {
			t.Errorf("plots/%s.png is %dx%d, want %d wide and at least %d high", name, b.Dx(), b.Dy(), 7*plot.DPI, 4*plot.DPI)
		}
		if svg := read(t, filepath.Join(dir, "plots", name+".svg")); !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("plots/%s.svg holds no <svg>", name)
		}
	}
	for _, name := range []string{"overview", "headline", "nothing"} {
		if _, err := os.Stat(filepath.Join(dir, "plots", name+".png")); err == nil {
			t.Errorf("plots/%s.png was written, but %s has no plot to draw", name, name)
		}
	}

	md := string(read(t, filepath.Join(dir, "report.md")))
	for _, want := range []string{
		"| graphlets that do not push | > 30% | 41.2% |", // the headline table
		"| 2 | 2024-03-01 | a \\| b |",                   // pipes escaped, dates without a time
		"![Usage](plots/usage.png)",
		"| StatisticsGen | 1 |\n| Trainer | 0.98 |",
		"Distribution of days:",
		"| orchestrator | n | min | p10 | p25 | median | p75 | p90 | p99 | max | mean |",
		"*The first 25 of 40 rows, in the analysis's order; results.json has them all.*",
		"*Nothing to show: the store holds nothing this analysis counts; a store with more history would fill it.*",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The headline opens the report and is not repeated as a section; the rest keep their order.
	order := []string{"## Headline", "## Contents", "## overview", "## usage", "## lifespan", "## daily", "## sizes", "## nothing"}
	last := -1
	for _, h := range order {
		i := strings.Index(md, "\n"+h)
		if i <= last {
			t.Errorf("report.md: %q is missing or out of order", h)
		}
		last = i
	}
	if strings.Contains(md, "## headline") {
		t.Error("report.md repeats the headline as a section")
	}

	var res struct {
		Fingerprint string `json:"store_fingerprint"`
		Analyses    []struct {
			Name    string
			Columns []string
			Rows    [][]any
		}
	}
	if err := json.Unmarshal(read(t, filepath.Join(dir, "results.json")), &res); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if res.Fingerprint != "sha256:feed" || len(res.Analyses) != 7 || res.Analyses[3].Name != "lifespan" || len(res.Analyses[3].Rows) != 40 {
		t.Errorf("results.json does not hold every result in full: %+v", res)
	}
	if got := res.Analyses[0].Rows[0]; !cmp.Equal(got, []any{2.0, "2024-03-01T00:00:00Z", "a | b"}) {
		t.Errorf("results.json overview row = %v", got)
	}

	var m manifest
	if err := json.Unmarshal(read(t, filepath.Join(dir, "manifest.json")), &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if m.Version != "test" || m.Store.Fingerprint != "sha256:feed" || m.Params["db"] != "store.duckdb" || m.Params["png_dpi"] != float64(plot.DPI) {
		t.Errorf("manifest.json = %+v", m)
	}
	if got := m.Files["report.md"]; got != digest([]byte(md)) {
		t.Errorf("manifest.json: report.md digest %s, want %s", got, digest([]byte(md)))
	}
	if !slices.Equal(m.Analyses[2].Files, []string{"plots/usage.png", "plots/usage.svg"}) || m.Analyses[2].Rows != 5 {
		t.Errorf("manifest.json analysis usage = %+v", m.Analyses[2])
	}

	page := string(read(t, filepath.Join(dir, "report.html")))
	if n := strings.Count(page, `src="data:image/png;base64,`); n != 4 {
		t.Errorf("report.html embeds %d PNGs, want 4", n)
	}
	for _, bad := range []string{"http://", "https://", "<script", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html holds %q: it must need nothing outside itself", bad)
		}
	}
}

func TestWriteOverEarlierReport(t *testing.T) {
	dir := write(t, sample())
	in := sample()
	in.Analyses = slices.DeleteFunc(in.Analyses, func(a catalog.Analysis) bool { return a.Name == "usage" })
	if _, err := Write(context.Background(), dir, in); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plots", "usage.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the plot of an analysis that is gone stayed behind: %v", err)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "thesis.tex"), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), other, sample()); !errors.Is(err, ErrNotReportFolder) {
		t.Errorf("writing into a folder of other files: err = %v, want ErrNotReportFolder", err)
	}
}

// TestFiles checks that the files Files renders, for a server to answer with, are those
// Write writes.
func TestFiles(t *testing.T) {
	dir := write(t, sample())
	files, err := Files(context.Background(), sample())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.html", "report.md", "results.json", "manifest.json"} {
		if want := read(t, filepath.Join(dir, name)); !bytes.Equal(files[name], want) {
			t.Errorf("Files gave %d bytes of %s, not the %d Write wrote", len(files[name]), name, len(want))
		}
	}
}
