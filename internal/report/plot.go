package report

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
)

// Plot sizes and resolution; they are report parameters, recorded in manifest.json.
const (
	plotWidth    = 7 * vg.Inch
	plotHeight   = 4 * vg.Inch
	barHeight    = 0.3 * vg.Inch // per horizontal bar, so labels never overlap
	pngDPI       = 120
	maxBars      = 40
	histMaxBins  = 40
	histMinBins  = 5
	lineWidthPts = 1.5
	// maxMarkedPoints: line series of at most this many points mark each point.
	maxMarkedPoints = 12
)

// palette is a colour-blind friendly sequence (Tableau 10); series take colours in order.
var palette = []color.RGBA{
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

// errNothingToPlot means the result has no row with a value the plot can draw.
var errNothingToPlot = errors.New("no rows to plot")

// allZeroError means every value the plot would draw is 0: an empty plot, with an axis
// from 0 to 1 that says nothing.
type allZeroError struct{ column string }

func (e *allZeroError) Error() string { return "every " + e.column + " is 0" }

// Title is how a plot names its analysis: in words ("cache reuse audit" as "Cache reuse
// audit"), not as an identifier.
func Title(name string) string {
	return upperFirst(strings.ReplaceAll(name, "_", " "))
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
	return sorted[0] > 0 && sorted[len(sorted)-1] >= heavyTail*quantile(sorted, 0.5)
}

// figure is a drawn plot: its PNG and SVG encodings and a note on what it leaves out.
type figure struct {
	PNG, SVG []byte
	Note     string
}

// drawFigure draws a's plot from its result.
func drawFigure(a Analysis) (*figure, error) {
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
	f := &figure{Note: note}
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
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(canvas(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// number converts a result value into a float; times become Unix seconds. ok is false for
// NULL and for values that are not numbers or times.
func number(v any) (f float64, isTime, ok bool) {
	switch x := v.(type) {
	case float64:
		return x, false, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return number(float64(x))
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
		return number(x.Float64())
	}
	return 0, false, false
}

// label is how a value names a bar or a series.
func label(v any) string {
	if v == nil {
		return "NULL"
	}
	return cell(v)
}

// series groups row indexes by the series column (all rows in one group when there is
// none), groups in order of first appearance, so that colours follow the query's order.
func series(a Analysis, s int) (names []string, rows map[string][]int) {
	rows = map[string][]int{}
	for i, r := range a.Result.Rows {
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
	st := draw.LineStyle{Color: palette[i%len(palette)], Width: vg.Points(lineWidthPts)}
	if i > 0 {
		on := vg.Points(float64(2 + 3*(i%3)))
		st.Dashes = []vg.Length{on, vg.Points(3)}
	}
	return st
}

// drawBars draws horizontal bars, the first row at the top, so that long category names stay
// readable; series become bars side by side within each category.
func drawBars(p *plot.Plot, a Analysis, x, y, s int) (string, vg.Length, error) {
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
	names, groups := series(a, s)
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
			v, _, isNum := number(r[y])
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
		b.Color = palette[i%len(palette)]
		b.LineStyle.Width = 0
		b.Offset = (vg.Length(len(names)-1)/2 - vg.Length(i)) * width // the first series on top
		p.Add(b)
		if s >= 0 {
			p.Legend.Add(name, b)
		}
	}
	if drawn == 0 {
		return "", 0, errNothingToPlot
	}
	if !nonzero {
		return "", 0, &allZeroError{column: a.Plot.Y}
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
func drawCDF(p *plot.Plot, a Analysis, x, s int) error {
	names, groups := series(a, s)
	timeAxis := false
	var all []float64
	perSeries := make([][]float64, len(names))
	for i, name := range names {
		var vals []float64
		for _, ri := range groups[name] {
			v := a.Result.Rows[ri][x]
			f, isTime, ok := number(v)
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
		return errNothingToPlot
	}
	if !slices.ContainsFunc(all, func(v float64) bool { return v != 0 }) {
		return &allZeroError{column: a.Plot.X}
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
func drawHist(p *plot.Plot, a Analysis, x int) error {
	var vals plotter.Values
	for _, r := range a.Result.Rows {
		f, _, ok := number(r[x])
		if r[x] != nil && !ok {
			return fmt.Errorf("column %s holds %T, not numbers", a.Plot.X, r[x])
		}
		if ok {
			vals = append(vals, f)
		}
	}
	if len(vals) == 0 {
		return errNothingToPlot
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
	h.FillColor = palette[0]
	h.LineStyle.Width = vg.Points(0.5)
	h.LineStyle.Color = color.White
	p.Add(plotter.NewGrid(), h)
	p.X.Label.Text = a.Plot.X
	p.Y.Label.Text = "rows"
	return nil
}

// drawLines draws y against x, one line per series; x may be a number, a time, or text
// (then the values are spaced evenly in the query's order).
func drawLines(p *plot.Plot, a Analysis, x, y, s int) error {
	// Text anywhere in x makes the whole axis nominal: values spaced evenly in the query's order.
	nominalAxis, timeAxis := false, false
	for _, r := range a.Result.Rows {
		_, isTime, ok := number(r[x])
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
	names, groups := series(a, s)
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
				xv, _, ok = number(r[x])
			}
			yv, _, yok := number(r[y])
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
			sc.GlyphStyle = draw.GlyphStyle{Color: palette[i%len(palette)], Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s >= 0 {
			p.Legend.Add(name, thumbs...)
		}
		drawn++
	}
	if drawn == 0 {
		return errNothingToPlot
	}
	if !nonzero {
		return &allZeroError{column: a.Plot.Y}
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

// Draw draws a's plot, as the report does, and returns its PNG and SVG encodings.
func Draw(a Analysis) (png, svg []byte, err error) {
	fig, err := drawFigure(a)
	if err != nil {
		return nil, nil, err
	}
	return fig.PNG, fig.SVG, nil
}
