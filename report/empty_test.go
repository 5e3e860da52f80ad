package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mlprov/catalog"
	"mlprov/internal/render"
)

// TestSectionsWithNothingToShow checks that a section whose plot would be empty, or whose
// result has no rows, says so in one sentence with what would fill it, in report.md and
// report.html alike, and draws no empty plot.
func TestSectionsWithNothingToShow(t *testing.T) {
	in := sample()
	in.NoTrainingRuns = true
	in.Analyses = append(in.Analyses,
		catalog.Analysis{Name: "failure_waste", Description: "compute spent in failed executions", Topic: "waste",
			Plot: catalog.Plot{Kind: "bar", X: "category", Y: "failed_cost"}, SQL: "SELECT category FROM executions",
			Result: &render.Result{Columns: []string{"category", "failed_cost"}, Rows: [][]any{{"train", 0.0}, {"ingest", 0.0}}}},
		catalog.Analysis{Name: "push_rate", Description: "share of graphlets that pushed", Topic: "outcomes",
			Plot: catalog.Plot{Kind: "cdf", X: "push_rate"}, SQL: "SELECT push_rate FROM graphlets",
			Result: &render.Result{Columns: []string{"pipeline_id", "push_rate"}}},
		catalog.Analysis{Name: "pruning", Description: "skipping graphlets", Topic: "waste", Plot: catalog.Plot{Kind: "none"},
			Note:   "Nothing to show: too few graphlets to study pruning; a store with more history would fill it.",
			Result: &render.Result{}},
		catalog.Analysis{Name: "daily_zero", Description: "trainings by day", Topic: "frequency",
			Plot: catalog.Plot{Kind: "line", X: "day", Y: "count"}, SQL: "SELECT 1",
			Result: &render.Result{Columns: []string{"day", "count"}, Rows: [][]any{{int64(1), int64(0)}, {int64(2), int64(0)}}}},
	)
	dir := write(t, in)
	md := string(read(t, filepath.Join(dir, "report.md")))
	page := string(read(t, filepath.Join(dir, "report.html")))
	for _, want := range []string{
		"No plot: every failed_cost is 0; a store with more history would fill it.",
		"Nothing to show: the store holds nothing this analysis counts; mapping the store's training jobs to category train in op_categories would fill it (see the headline).",
		"Nothing to show: too few graphlets to study pruning; a store with more history would fill it.",
		"No plot: every count is 0; a store with more history would fill it.",
		"INSERT INTO op_categories VALUES ('<op_type>', 'train')",
		"mlprov load --replace PATH), adding --deploy-rule REGEXP",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
		if !strings.Contains(page, strings.ReplaceAll(strings.ReplaceAll(want, "'", "&#39;"), "<op_type>", "&lt;op_type&gt;")) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, name := range []string{"failure_waste", "push_rate", "daily_zero"} {
		if _, err := os.Stat(filepath.Join(dir, "plots", name+".png")); err == nil {
			t.Errorf("plots/%s.png was drawn, but it has nothing to show", name)
		}
	}
	if !strings.Contains(page, `id="pruning"`) {
		t.Error("report.html leaves out the pruning section")
	}
	if strings.Contains(md, "No rows.") || strings.Contains(page, "No rows.") {
		t.Error("a section with no rows says only \"No rows.\", not what would fill it")
	}
}

// TestTablesKeepBigNumbers checks that a big float keeps every digit before the point.
func TestTablesKeepBigNumbers(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{17129670.69, "17,129,670.69"}, {17129670.0, "17,129,670"}, {-1234567.891, "-1,234,567.89"},
		{99999.1234, "99,999.1"}, {1234.5678, "1,234.57"}, {0.98, "0.98"}, {0.000123456789, "0.000123457"},
		{int64(123456789), "123456789"}, {1.0, "1"},
	} {
		if got := render.Cell(tc.v); got != tc.want {
			t.Errorf("cell(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	in := sample()
	in.Analyses[0].Result.Rows[0][0] = 17129670.69
	md := string(read(t, filepath.Join(write(t, in), "report.md")))
	if !strings.Contains(md, "| 17,129,670.69 |") {
		t.Errorf("report.md does not show 17,129,670.69 whole:\n%s", md[:min(len(md), 1500)])
	}
}

// TestHTMLTablesScroll checks that every table of report.html sits in a wrapper that scrolls
// sideways, so that a wide table does not stretch the page.
func TestHTMLTablesScroll(t *testing.T) {
	page := string(read(t, filepath.Join(write(t, sample()), "report.html")))
	if !strings.Contains(page, ".scroll { overflow-x: auto;") {
		t.Error("report.html has no overflow-x rule for its table wrapper")
	}
	if n, m := strings.Count(page, "<table>"), strings.Count(page, `<div class="scroll"><table>`); n == 0 || n != m {
		t.Errorf("%d of %d tables are wrapped to scroll", m, n)
	}
}
