package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

func writeTable(w io.Writer, res *Result, markdown bool, opts Options) error {
	tableOpts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	}
	if markdown {
		tableOpts = append(tableOpts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	v := layout(res, opts)
	t := tablewriter.NewTable(w, tableOpts...)
	if !opts.NoHeader || markdown {
		t.Header(toAny(v.header)...)
	}
	for _, r := range v.rows {
		if err := t.Append(toAny(r)...); err != nil {
			return err
		}
	}
	aligns := make(tw.Alignment, len(v.header))
	for i, n := range v.numeric {
		aligns[i] = tw.AlignLeft
		if n {
			aligns[i] = tw.AlignRight
		}
	}
	t.Configure(func(c *tablewriter.Config) { c.Row.Alignment.PerColumn = aligns })
	if err := t.Render(); err != nil {
		return err
	}
	if markdown {
		return nil
	}
	_, err := fmt.Fprintln(w, v.footer())
	return err
}

// view is a result laid out for a table: its cells as text, cut to fit where asked.
type view struct {
	header      []string
	rows        [][]string
	numeric     []bool
	shownRows   int // rows of the result shown (the marker row of omitted ones not counted)
	shownCols   int // columns of the result shown (the marker column not counted)
	cutValues   bool
	totalRows   int
	totalCols   int
	rowsOmitted bool
}

// Cut marks what was left out: a row or column of it, or the end of a value.
const Cut = "…"

// minColumnWidth is the narrowest a column is cut to (unless its header is wider) before
// whole columns are left out.
const minColumnWidth = 8

// layout turns res into text cells, keeping at most opts.MaxRows rows (the first and the last
// half) and fitting the table into opts.MaxWidth columns: by cutting the longest values to a
// common width, and leaving out columns on the right where that is not enough.
func layout(res *Result, opts Options) view {
	v := view{totalRows: res.Total(), totalCols: len(res.Columns)}
	rows, omittedAt := res.Rows, res.OmittedAt
	omitted := res.Omitted > 0
	if opts.MaxRows > 0 && len(rows) > opts.MaxRows {
		head := (opts.MaxRows + 1) / 2
		tail := opts.MaxRows - head
		if omitted {
			// Keep the head and the tail around the rows already left out.
			head = min(head, omittedAt)
			tail = min(opts.MaxRows-head, len(rows)-omittedAt)
		}
		cut := make([][]any, 0, opts.MaxRows)
		cut = append(cut, rows[:head]...)
		cut = append(cut, rows[len(rows)-tail:]...)
		rows, omittedAt, omitted = cut, head, true
	}
	if !omitted {
		omittedAt = -1
	}
	v.shownRows = len(rows)
	v.rowsOmitted = omitted

	numeric := make([]bool, len(res.Columns))
	for i := range res.Columns {
		numeric[i] = len(res.Rows) > 0
		for _, r := range res.Rows {
			if r[i] != nil && !isNumber(r[i]) {
				numeric[i] = false
				break
			}
		}
	}
	cells := make([][]string, len(rows))
	for n, r := range rows {
		cells[n] = make([]string, len(r))
		for i, val := range r {
			cells[n][i] = Text(val, "NULL")
		}
	}
	header := res.Columns
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = textWidth(h)
		for _, r := range cells {
			widths[i] = max(widths[i], textWidth(r[i]))
		}
	}

	keep := len(header) // columns shown
	limits := widths    // the width each shown column's values are cut to
	if opts.MaxWidth > 0 && tableWidth(widths, 0) > opts.MaxWidth {
		// A column is cut no narrower than its header or minColumnWidth, whichever is wider,
		// so that it stays recognisable; columns that do not fit so are left out.
		floors := make([]int, len(widths))
		for i, h := range header {
			floors[i] = min(widths[i], max(textWidth(h), minColumnWidth))
		}
		for ; keep > 0; keep-- {
			extra := 0
			if keep < len(header) {
				extra = 1 // the marker column
			}
			if fitted, ok := fit(widths[:keep], floors[:keep], extra, opts.MaxWidth); ok {
				limits = fitted
				break
			}
		}
		if keep == 0 { // not even one column fits: cut the first to what is left
			keep = 1
			limits = []int{max(1, opts.MaxWidth-tableWidth([]int{0}, min(1, len(header)-1)))}
		}
	}

	cutCell := func(i int, s string) string {
		if textWidth(s) > limits[i] {
			v.cutValues = true
			return cutText(s, limits[i])
		}
		return s
	}
	v.header = make([]string, 0, keep+1)
	for i, h := range header[:keep] {
		v.header = append(v.header, cutCell(i, h))
	}
	v.numeric = append([]bool(nil), numeric[:keep]...)
	if keep < len(header) {
		v.header = append(v.header, Cut)
		v.numeric = append(v.numeric, false)
	}
	for n, r := range cells {
		if n == omittedAt {
			v.rows = append(v.rows, markerRow(len(v.header)))
		}
		row := make([]string, 0, len(v.header))
		for i, c := range r[:keep] {
			row = append(row, cutCell(i, c))
		}
		if keep < len(header) {
			row = append(row, Cut)
		}
		v.rows = append(v.rows, row)
	}
	if omittedAt == len(cells) {
		v.rows = append(v.rows, markerRow(len(v.header)))
	}
	v.shownCols = keep
	return v
}

func markerRow(n int) []string {
	r := make([]string, n)
	for i := range r {
		r[i] = Cut
	}
	return r
}

// tableWidth is how wide a table with columns this wide is drawn: "│ a │ b │".
func tableWidth(widths []int, extraColumns int) int {
	w := 1
	for _, c := range widths {
		w += c + 3
	}
	return w + extraColumns*(textWidth(Cut)+3)
}

// fit cuts columns of the given widths to a common limit, but none below its floor, so that
// they (plus extra marker columns) fit in maxWidth with the widest limit that does. It reports
// false when even the floors do not fit.
func fit(widths, floors []int, extra, maxWidth int) ([]int, bool) {
	widest := 0
	for _, w := range widths {
		widest = max(widest, w)
	}
	out := make([]int, len(widths))
	for limit := widest; limit >= 0; limit-- {
		for i, w := range widths {
			out[i] = min(w, max(floors[i], limit))
		}
		if tableWidth(out, extra) <= maxWidth {
			return out, true
		}
	}
	return nil, false
}

// textWidth is the terminal width of s, the widest of its lines.
func textWidth(s string) int {
	w := 0
	for line := range strings.SplitSeq(s, "\n") {
		w = max(w, twwidth.Width(line))
	}
	return w
}

// cutText shortens each line of s to limit terminal columns, marking the cut.
func cutText(s string, limit int) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		if twwidth.Width(line) > limit {
			lines[i] = twwidth.Truncate(line, limit-textWidth(Cut)) + Cut
		}
	}
	return strings.Join(lines, "\n")
}

// footer says how many rows the result has and, when some were left out, how many rows and
// columns are shown.
func (v view) footer() string {
	var b strings.Builder
	fmt.Fprintf(&b, "(%d %s", v.totalRows, plural(v.totalRows, "row"))
	if v.rowsOmitted {
		fmt.Fprintf(&b, ", %d shown", v.shownRows)
	}
	if v.shownCols < v.totalCols {
		fmt.Fprintf(&b, "; %d %s, %d shown", v.totalCols, plural(v.totalCols, "column"), v.shownCols)
	}
	if v.cutValues {
		b.WriteString("; long values cut")
	}
	b.WriteString(")")
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
