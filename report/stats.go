package report

import (
	"slices"

	"mlprov/catalog"
	"mlprov/internal/plot"
	"mlprov/internal/render"
)

// quantiles are the points of a distribution the report's summary tables show.
var quantiles = []struct {
	name string
	q    float64
}{{"min", 0}, {"p10", 0.1}, {"p25", 0.25}, {"median", 0.5}, {"p75", 0.75}, {"p90", 0.9}, {"p99", 0.99}, {"max", 1}}

// distribution summarises the plot's x column of a (per series, when it has one): count,
// quantiles and mean. Quantiles interpolate linearly between the closest ranks, as DuckDB's
// quantile_cont does. It returns nil when x holds no numbers.
func distribution(a catalog.Analysis) *table {
	x := slices.Index(a.Result.Columns, a.Plot.X)
	s := slices.Index(a.Result.Columns, a.Plot.Series)
	if x < 0 || (a.Plot.Series != "" && s < 0) {
		return nil
	}
	names, groups := plot.Series(a.Result, s)
	res := &render.Result{}
	if s >= 0 {
		res.Columns = append(res.Columns, a.Plot.Series)
	}
	res.Columns = append(res.Columns, "n")
	for _, q := range quantiles {
		res.Columns = append(res.Columns, q.name)
	}
	res.Columns = append(res.Columns, "mean")
	for _, name := range names {
		var vals []float64
		for _, ri := range groups[name] {
			if f, isTime, ok := plot.Number(a.Result.Rows[ri][x]); ok && !isTime {
				vals = append(vals, f)
			}
		}
		if len(vals) == 0 {
			continue
		}
		slices.Sort(vals)
		var row []any
		if s >= 0 {
			row = append(row, name)
		}
		row = append(row, int64(len(vals)))
		sum := 0.0
		for _, v := range vals {
			sum += v
		}
		for _, q := range quantiles {
			row = append(row, plot.Quantile(vals, q.q))
		}
		row = append(row, sum/float64(len(vals)))
		res.Rows = append(res.Rows, row)
	}
	if len(res.Rows) == 0 {
		return nil
	}
	t := newTable(res, len(res.Rows))
	return &t
}
