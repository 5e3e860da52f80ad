// Package plot draws an analysis's result as its header's plot asks, as PNG and SVG, the
// same way wherever mlprov draws: in a report, for mlprov prune --out and for mlprov bench.
package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"mlprov/catalog"
	"mlprov/internal/render"
)

// WidthInches, HeightInches and DPI are a plot's size (a bar plot grows taller with its
// bars) and its PNG's resolution; a report records them in its manifest.json.
const (
	WidthInches  = 7
	HeightInches = 4
	DPI          = 120
)

const (
	plotWidth    = WidthInches * vg.Inch
	plotHeight   = HeightInches * vg.Inch
	barHeight    = 0.3 * vg.Inch // per horizontal bar, so labels never overlap
	maxBars      = 40
	histMaxBins  = 40
	histMinBins  = 5
	lineWidthPts = 1.5
	// maxMarkedPoints: line series of at most this many points mark each point.
	maxMarkedPoints = 12
)

// Palette is the colour-blind friendly sequence (Tableau 10) that series take colours from,
// in order.
var Palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff}, {0x76, 0xb7, 0xb2, 0xff},
	{0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0x9c, 0x75, 0x5f, 0xff}, {0xba, 0xb0, 0xac, 0xff},
}

func init() {
	// Sans-serif reads better in small plots than gonum's default serif; the Liberation
	// fonts are compiled in, so nothing is looked up on the machine.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
}

// margin keeps axis labels at the plot's edges from being cut.
const margin = 0.15 * vg.Inch

// canvas crops c by the margin on every side.
func canvas(c vg.CanvasSizer) draw.Canvas {
	return draw.Crop(draw.New(c), margin, -margin, margin/2, -margin/2)
}

// ErrNothingToPlot means the result has no row with a value the plot can draw.
var ErrNothingToPlot = errors.New("no rows to plot")

// AllZeroError means every value of Column that the plot would draw is 0: an empty plot,
// with an axis from 0 to 1 that says nothing.
type AllZeroError struct{ Column string }

func (e *AllZeroError) Error() string { return "every " + e.Column + " is 0" }

// Title is how a plot names its analysis: in words ("cache reuse audit" as "Cache reuse
// audit"), not as an identifier.
func Title(name string) string {
	name = strings.ReplaceAll(name, "_", " ")
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// heavyTail is how far the largest value must lie beyond the median for a distribution to
// be drawn on a logarithmic axis: at 50 times the median, a linear axis squeezes most of the
// values into its first few percent.
const heavyTail = 50

// heavyTailed tells whether a cdf of vals reads better on a logarithmic axis: all values
// positive (a log axis has no place for 0) and the largest at least heavyTail times the median.
func heavyTailed(vals []float64) bool {
	if len(vals) < 2 {
		return false
	}
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	return sorted[0] > 0 && sorted[len(sorted)-1] >= heavyTail*Quantile(sorted, 0.5)
}

// Figure is a drawn plot: its PNG and SVG encodings and a note on what it leaves out.
type Figure struct {
	PNG, SVG []byte
	Note     string
}

// Draw draws a's plot from its result, titled after a's name. It returns ErrNothingToPlot
// when no row has a value to draw and an *AllZeroError when every value is 0.
func Draw(a catalog.Analysis) (*Figure, error) {
	cols := map[string]int{}
	for i, c := range a.Result.Columns {
		cols[c] = i
	}
	col := func(name string) (int, error) {
		if name == "" {
			return -1, nil
		}
		i, ok := cols[name]
		if !ok {
			return 0, fmt.Errorf("the plot reads column %q, which the result lacks", name)
		}
		return i, nil
	}
	x, err := col(a.Plot.X)
	if err != nil {
		return nil, err
	}
	y, err := col(a.Plot.Y)
	if err != nil {
		return nil, err
	}
	s, err := col(a.Plot.Series)
	if err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = Title(a.Name)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(6)
	p.Legend.Top = true
	height := plotHeight
	var note string
	switch a.Plot.Kind {
	case "bar":
		note, height, err = drawBars(p, a, x, y, s)
	case "cdf":
		err = drawCDF(p, a, x, s)
	case "hist":
		err = drawHist(p, a, x)
	case "line":
		err = drawLines(p, a, x, y, s)
	default:
		return nil, fmt.Errorf("cannot draw a %q plot", a.Plot.Kind)
	}
	if err != nil {
		return nil, err
	}
	f := &Figure{Note: note}
	if f.PNG, err = encodePNG(p, plotWidth, height); err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}
	var svg bytes.Buffer
	c := vgsvg.New(plotWidth, height)
	p.Draw(canvas(c))
	if _, err := c.WriteTo(&svg); err != nil {
		return nil, fmt.Errorf("svg: %w", err)
	}
	f.SVG = svg.Bytes()
	return f, nil
}

func encodePNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(canvas(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Number converts a result value into a float; times become Unix seconds. ok is false for
// NULL and for values that are not numbers or times.
func Number(v any) (f float64, isTime, ok bool) {
	switch x := v.(type) {
	case float64:
		return x, false, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return Number(float64(x))
	case int:
		return float64(x), false, true
	case int8:
		return float64(x), false, true
	case int16:
		return float64(x), false, true
	case int32:
		return float64(x), false, true
	case int64:
		return float64(x), false, true
	case uint8:
		return float64(x), false, true
	case uint16:
		return float64(x), false, true
	case uint32:
		return float64(x), false, true
	case uint64:
		return float64(x), false, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, false, true
	case bool:
		if x {
			return 1, false, true
		}
		return 0, false, true
	case time.Time:
		return float64(x.UnixNano()) / 1e9, true, true
	case interface{ Float64() float64 }: // DuckDB's DECIMAL
		return Number(x.Float64())
	}
	return 0, false, false
}

// label is how a value names a bar or a series.
func label(v any) string {
	if v == nil {
		return "NULL"
	}
	return render.Cell(v)
}

// Series groups the row indexes of res by its column s (all rows in one group when s is -1),
// groups in order of first appearance, so that colours follow the query's order.
func Series(res *render.Result, s int) (names []string, rows map[string][]int) {
	rows = map[string][]int{}
	for i, r := range res.Rows {
		name := ""
		if s >= 0 {
			name = label(r[s])
		}
		if _, ok := rows[name]; !ok {
			names = append(names, name)
		}
		rows[name] = append(rows[name], i)
	}
	return names, rows
}

// lineStyle styles series i: its colour, and from the second series on a dash pattern, so
// that lines lying on top of each other still show both.
func lineStyle(i int) draw.LineStyle {
	st := draw.LineStyle{Color: Palette[i%len(Palette)], Width: vg.Points(lineWidthPts)}
	if i > 0 {
		on := vg.Points(float64(2 + 3*(i%3)))
		st.Dashes = []vg.Length{on, vg.Points(3)}
	}
	return st
}

// drawBars draws horizontal bars, the first row at the top, so that long category names stay
// readable; series become bars side by side within each category.
func drawBars(p *plot.Plot, a catalog.Analysis, x, y, s int) (string, vg.Length, error) {
	var cats []string
	seen := map[string]bool{}
	for _, r := range a.Result.Rows {
		if c := label(r[x]); !seen[c] {
			seen[c] = true
			cats = append(cats, c)
		}
	}
	note := ""
	if len(cats) > maxBars {
		note = fmt.Sprintf("The plot shows the first %d of %d %s values.", maxBars, len(cats), a.Plot.X)
		cats = cats[:maxBars]
	}
	pos := map[string]int{}
	for i, c := range cats {
		pos[c] = len(cats) - 1 - i // top to bottom in the query's order
	}
	names, groups := Series(a.Result, s)
	width := barHeight * 0.8 / vg.Length(len(names))
	drawn, nonzero := 0, false
	for i, name := range names {
		vals := make(plotter.Values, len(cats))
		for _, ri := range groups[name] {
			r := a.Result.Rows[ri]
			c := label(r[x])
			k, ok := pos[c]
			if !ok {
				continue
			}
			v, _, isNum := Number(r[y])
			if r[y] != nil && !isNum {
				return "", 0, fmt.Errorf("column %s holds %T, not numbers", a.Plot.Y, r[y])
			}
			if isNum {
				vals[k] = v
				drawn++
				nonzero = nonzero || v != 0
			}
		}
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return "", 0, err
		}
		b.Horizontal = true
		b.Color = Palette[i%len(Palette)]
		b.LineStyle.Width = 0
		b.Offset = (vg.Length(len(names)-1)/2 - vg.Length(i)) * width // the first series on top
		p.Add(b)
		if s >= 0 {
			p.Legend.Add(name, b)
		}
	}
	if drawn == 0 {
		return "", 0, ErrNothingToPlot
	}
	if !nonzero {
		return "", 0, &AllZeroError{Column: a.Plot.Y}
	}
	labels := make([]string, len(cats))
	for c, k := range pos {
		labels[k] = c
	}
	p.NominalY(labels...)
	if s >= 0 {
		// Headroom for the legend above the first category: about one legend line per
		// 0.7 of a category's height.
		p.Y.Max += 0.7 * float64(len(names))
	}
	p.X.Label.Text = a.Plot.Y
	p.X.Min = math.Min(p.X.Min, 0)
	p.Add(plotter.NewGrid())
	h := max(plotHeight, barHeight*vg.Length(len(cats))+1.5*vg.Inch)
	return note, h, nil
}

// drawCDF draws each series' empirical distribution: the share of rows whose x is at most
// the value on the horizontal axis.
func drawCDF(p *plot.Plot, a catalog.Analysis, x, s int) error {
	names, groups := Series(a.Result, s)
	timeAxis := false
	var all []float64
	perSeries := make([][]float64, len(names))
	for i, name := range names {
		var vals []float64
		for _, ri := range groups[name] {
			v := a.Result.Rows[ri][x]
			f, isTime, ok := Number(v)
			if v != nil && !ok {
				return fmt.Errorf("column %s holds %T, not numbers", a.Plot.X, v)
			}
			if ok {
				vals = append(vals, f)
				timeAxis = timeAxis || isTime
			}
		}
		perSeries[i] = vals
		all = append(all, vals...)
	}
	if len(all) == 0 {
		return ErrNothingToPlot
	}
	if !slices.ContainsFunc(all, func(v float64) bool { return v != 0 }) {
		return &AllZeroError{Column: a.Plot.X}
	}
	logAxis := !timeAxis && heavyTailed(all)
	for i, name := range names {
		vals := perSeries[i]
		if len(vals) == 0 {
			continue
		}
		slices.Sort(vals)
		n := float64(len(vals))
		pts := plotter.XYs{{X: vals[0], Y: 0}}
		for k, v := range vals {
			pts = append(pts, plotter.XY{X: v, Y: float64(k+1) / n})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle = lineStyle(i)
		p.Add(l)
		if s >= 0 {
			p.Legend.Add(name, l)
		}
	}
	p.X.Label.Text = a.Plot.X
	if logAxis {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.X.Label.Text += " (log scale)"
	}
	p.Y.Label.Text = "share of rows ≤ x"
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Left = true // curves rise to the right, so the top left is free
	if timeAxis {
		p.X.Tick.Marker = dateTicks{}
	}
	p.Add(plotter.NewGrid())
	return nil
}

// dateTicks labels a time axis with dates. Over two days or more, the labelled ticks fall on
// midnights (UTC), at most about eight of them, so that a day's point sits on its date's
// tick; over a shorter window the default ticks fall several times a day, so a date is
// labelled once, at its first tick.
type dateTicks struct{}

func (dateTicks) Ticks(lo, hi float64) []plot.Tick {
	const day = 86400.0
	if hi-lo >= 2*day {
		step := math.Max(1, math.Ceil((hi-lo)/day/8)) * day
		var ticks []plot.Tick
		for t := math.Ceil(lo/day) * day; t <= hi; t += day {
			tk := plot.Tick{Value: t}
			if math.Mod(t-math.Ceil(lo/day)*day, step) == 0 {
				tk.Label = time.Unix(int64(t), 0).UTC().Format("2006-01-02")
			} else if hi-lo > 60*day {
				continue // over months, a tick a day is a smear
			}
			ticks = append(ticks, tk)
		}
		return ticks
	}
	ticks := plot.TimeTicks{Format: "2006-01-02"}.Ticks(lo, hi)
	last := ""
	for i, t := range ticks {
		if t.Label == "" {
			continue
		}
		if t.Label == last {
			ticks[i].Label = ""
			continue
		}
		last = t.Label
	}
	return ticks
}

// drawHist draws a histogram of x with about √n bins.
func drawHist(p *plot.Plot, a catalog.Analysis, x int) error {
	var vals plotter.Values
	for _, r := range a.Result.Rows {
		f, _, ok := Number(r[x])
		if r[x] != nil && !ok {
			return fmt.Errorf("column %s holds %T, not numbers", a.Plot.X, r[x])
		}
		if ok {
			vals = append(vals, f)
		}
	}
	if len(vals) == 0 {
		return ErrNothingToPlot
	}
	bins := min(max(int(math.Sqrt(float64(len(vals)))), histMinBins), histMaxBins)
	lo, hi := slices.Min(vals), slices.Max(vals)
	if lo == hi {
		// One distinct value: give the bins a width, or gonum divides by zero.
		vals = append(vals, lo-0.5, hi+0.5)
	}
	h, err := plotter.NewHist(vals, bins)
	if err != nil {
		return err
	}
	if lo == hi {
		// Take back the two widening values from the first and last bins.
		h.Bins[0].Weight--
		h.Bins[len(h.Bins)-1].Weight--
	}
	h.FillColor = Palette[0]
	h.LineStyle.Width = vg.Points(0.5)
	h.LineStyle.Color = color.White
	p.Add(plotter.NewGrid(), h)
	p.X.Label.Text = a.Plot.X
	p.Y.Label.Text = "rows"
	return nil
}

// drawLines draws y against x, one line per series; x may be a number, a time, or text
// (then the values are spaced evenly in the query's order).
func drawLines(p *plot.Plot, a catalog.Analysis, x, y, s int) error {
	// Text anywhere in x makes the whole axis nominal: values spaced evenly in the query's order.
	nominalAxis, timeAxis := false, false
	for _, r := range a.Result.Rows {
		_, isTime, ok := Number(r[x])
		nominalAxis = nominalAxis || (r[x] != nil && !ok)
		timeAxis = timeAxis || isTime
	}
	var nominal []string
	nominalPos := map[string]float64{}
	if nominalAxis {
		for _, r := range a.Result.Rows {
			if _, seen := nominalPos[label(r[x])]; r[x] != nil && !seen {
				nominalPos[label(r[x])] = float64(len(nominal))
				nominal = append(nominal, label(r[x]))
			}
		}
	}
	names, groups := Series(a.Result, s)
	drawn, nonzero := 0, false
	for i, name := range names {
		var pts plotter.XYs
		for _, ri := range groups[name] {
			r := a.Result.Rows[ri]
			var xv float64
			var ok bool
			if nominalAxis {
				xv, ok = nominalPos[label(r[x])]
				ok = ok && r[x] != nil
			} else {
				xv, _, ok = Number(r[x])
			}
			yv, _, yok := Number(r[y])
			if r[y] != nil && !yok {
				return fmt.Errorf("column %s holds %T, not numbers", a.Plot.Y, r[y])
			}
			if ok && yok {
				pts = append(pts, plotter.XY{X: xv, Y: yv})
				nonzero = nonzero || yv != 0
			}
		}
		if len(pts) == 0 {
			continue
		}
		slices.SortStableFunc(pts, func(a, b plotter.XY) int {
			if a.X < b.X {
				return -1
			}
			if a.X > b.X {
				return 1
			}
			return 0
		})
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.LineStyle = lineStyle(i)
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		if len(pts) <= maxMarkedPoints {
			// A line needs two points: a short series shows each point, so one point shows too.
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: Palette[i%len(Palette)], Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s >= 0 {
			p.Legend.Add(name, thumbs...)
		}
		drawn++
	}
	if drawn == 0 {
		return ErrNothingToPlot
	}
	if !nonzero {
		return &AllZeroError{Column: a.Plot.Y}
	}
	switch {
	case nominalAxis:
		p.NominalX(nominal...)
	case timeAxis:
		p.X.Tick.Marker = dateTicks{}
	}
	p.X.Label.Text = a.Plot.X
	p.Y.Label.Text = a.Plot.Y
	p.Y.Min = math.Min(p.Y.Min, 0)
	if s >= 0 {
		// Headroom for the legend, so that it does not sit on the lines.
		p.Y.Max += (p.Y.Max - p.Y.Min) * 0.08 * float64(len(names))
	}
	p.Add(plotter.NewGrid())
	return nil
}

// Quantile returns the q-quantile of sorted, interpolating linearly between the closest
// ranks, as DuckDB's quantile_cont does.
func Quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}
