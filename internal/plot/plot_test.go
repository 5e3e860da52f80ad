package plot

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"mlprov/catalog"
	"mlprov/internal/render"
)

// TestPlotTitlesAndLogAxes checks that plots are titled in words, and that a heavy-tailed
// distribution is drawn on a logarithmic axis while an even one is not.
func TestPlotTitlesAndLogAxes(t *testing.T) {
	if got := Title("cache_reuse_audit"); got != "Cache reuse audit" {
		t.Errorf("Title = %q", got)
	}
	cdf := func(vals ...float64) catalog.Analysis {
		res := &render.Result{Columns: []string{"hours"}}
		for _, v := range vals {
			res.Rows = append(res.Rows, []any{v})
		}
		return catalog.Analysis{Name: "time_between_pushes", Plot: catalog.Plot{Kind: "cdf", X: "hours"}, Result: res}
	}
	fig, err := Draw(cdf(1, 2, 2, 3, 4, 5, 900))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(fig.SVG, []byte("Time between pushes")) || bytes.Contains(fig.SVG, []byte("time_between_pushes")) {
		t.Error("the plot's title is not in words")
	}
	if !bytes.Contains(fig.SVG, []byte("hours (log scale)")) {
		t.Error("a heavy-tailed cdf (max 300 times the median) is not on a log axis")
	}
	for _, vals := range [][]float64{{1, 2, 3, 4, 5}, {0, 1, 2, 900}} {
		fig, err := Draw(cdf(vals...))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(fig.SVG, []byte("log scale")) {
			t.Errorf("cdf of %v is on a log axis", vals)
		}
	}
}

// TestEmptyPlotsAreNotDrawn checks the cause of empty 0 to 1 axes: a bar plot or a cdf whose
// values are all 0 is not drawn.
func TestEmptyPlotsAreNotDrawn(t *testing.T) {
	a := catalog.Analysis{Name: "wasted_compute", Plot: catalog.Plot{Kind: "bar", X: "category", Y: "wasted_exclusive"},
		Result: &render.Result{Columns: []string{"category", "wasted_exclusive"}, Rows: [][]any{{"all", 0.0}}}}
	if _, err := Draw(a); err == nil || !strings.Contains(err.Error(), "every wasted_exclusive is 0") {
		t.Errorf("all-zero bars: err = %v", err)
	}
	c := catalog.Analysis{Name: "activity", Plot: catalog.Plot{Kind: "cdf", X: "trainings_per_day"},
		Result: &render.Result{Columns: []string{"trainings_per_day"}, Rows: [][]any{{0.0}, {0.0}}}}
	if _, err := Draw(c); err == nil || !strings.Contains(err.Error(), "every trainings_per_day is 0") {
		t.Errorf("cdf of zeros: err = %v", err)
	}
}

func TestPlotErrors(t *testing.T) {
	a := catalog.Analysis{Name: "bad", Plot: catalog.Plot{Kind: "bar", X: "k", Y: "v"},
		Result: &render.Result{Columns: []string{"k", "v"}, Rows: [][]any{{"a", "not a number"}}}}
	if _, err := Draw(a); err == nil || !strings.Contains(err.Error(), "column v holds string") {
		t.Errorf("bar of text: err = %v", err)
	}
	a.Plot.Y = "missing"
	if _, err := Draw(a); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("plot of a missing column: err = %v", err)
	}
	// A histogram of one distinct value still draws, its weight where the value is.
	h := catalog.Analysis{Name: "one", Plot: catalog.Plot{Kind: "hist", X: "n"}, Result: &render.Result{Columns: []string{"n"}, Rows: [][]any{{int64(4)}, {int64(4)}}}}
	if _, err := Draw(h); err != nil {
		t.Errorf("hist of one value: %v", err)
	}
}

func TestDateTicksLabelEachDateOnce(t *testing.T) {
	lo := float64(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).Unix())
	ticks := dateTicks{}.Ticks(lo, lo+2*86400)
	seen := map[string]bool{}
	labelled := 0
	for _, tk := range ticks {
		if tk.Label == "" {
			continue
		}
		if seen[tk.Label] {
			t.Errorf("date %s is labelled twice: %v", tk.Label, ticks)
		}
		seen[tk.Label] = true
		labelled++
	}
	if labelled < 2 {
		t.Errorf("two days have %d labelled ticks: %v", labelled, ticks)
	}
}

// TestDateTicksOnMidnights checks that over days a date's label sits at that date's midnight,
// where a daily result's point is drawn.
func TestDateTicksOnMidnights(t *testing.T) {
	lo := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	labelled := 0
	for _, tk := range (dateTicks{}).Ticks(float64(lo.Unix())-3600, float64(lo.AddDate(0, 0, 3).Unix())+3600) {
		if tk.Label == "" {
			continue
		}
		labelled++
		if at := time.Unix(int64(tk.Value), 0).UTC(); at.Format("2006-01-02") != tk.Label || at.Hour() != 0 {
			t.Errorf("label %s at %s", tk.Label, at)
		}
	}
	if labelled != 4 {
		t.Errorf("%d dates labelled over four days, want 4", labelled)
	}
}
func TestQuantile(t *testing.T) {
	vals := []float64{1, 2, 3, 4, 10}
	for _, tc := range []struct{ q, want float64 }{{0, 1}, {0.25, 2}, {0.5, 3}, {0.9, 7.6}, {1, 10}} {
		if got := Quantile(vals, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Quantile(%v, %v) = %v, want %v", vals, tc.q, got, tc.want)
		}
	}
	if got := Quantile([]float64{5}, 0.99); got != 5 {
		t.Errorf("quantile of one value = %v", got)
	}
}
