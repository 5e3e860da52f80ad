// Package render prints query results as a table, CSV, JSON, Markdown or one line per
// value, the output formats every mlprov command that shows rows shares.
package render

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Formats are the output formats, by name.
var Formats = []string{"table", "csv", "json", "markdown", "line"}

// Result is a query result read into memory.
type Result struct {
	Columns []string
	Rows    [][]any
	// Omitted counts rows that were read but not kept (see ReadSome); they stood between
	// Rows[:OmittedAt] and Rows[OmittedAt:].
	Omitted   int
	OmittedAt int
}

// Total is the number of rows the query returned, kept or not.
func (r *Result) Total() int { return len(r.Rows) + r.Omitted }

// Options tune how WriteWith prints a result. The zero value prints everything.
type Options struct {
	// MaxWidth fits a table into this many terminal columns: long values are cut first, then
	// the columns on the right; 0 means no limit. Only the table format honours it.
	MaxWidth int
	// MaxRows shows at most this many rows of a table, the first and the last half; 0 means
	// all. Only the table format honours it.
	MaxRows int
	// NoHeader leaves out the header row of a table or CSV.
	NoHeader bool
}

// Query runs q on db and reads its whole result.
func Query(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) (*Result, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return Read(rows)
}

// Read reads every row of rows; the caller still closes rows.
func Read(rows *sql.Rows) (*Result, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// ReadSome reads every row of rows but keeps at most limit of them, the first and the last
// half, and counts the rest in Omitted, so that a huge result can be shown in bounded memory.
// limit <= 0 keeps every row. The caller still closes rows.
func ReadSome(rows *sql.Rows, limit int) (*Result, error) {
	if limit <= 0 {
		return Read(rows)
	}
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	head := (limit + 1) / 2
	tail := make([][]any, limit-head) // a ring of the last rows read
	res := &Result{Columns: cols}
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		switch {
		case n < head:
			res.Rows = append(res.Rows, vals)
		case len(tail) > 0:
			tail[(n-head)%len(tail)] = vals
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	after := max(n-head, 0) // rows read after the head
	kept := min(after, len(tail))
	res.OmittedAt = len(res.Rows)
	res.Omitted = after - kept
	for i := range kept {
		// The ring's oldest row sits where the next one would have gone.
		res.Rows = append(res.Rows, tail[(after-kept+i)%len(tail)])
	}
	return res, nil
}

// Write prints res to w in format (one of Formats).
func Write(w io.Writer, format string, res *Result) error {
	return WriteWith(w, format, res, Options{})
}

// WriteWith prints res to w in format (one of Formats), as opts say. Only a table can show a
// result whose rows were partly omitted by ReadSome: the other formats refuse it.
func WriteWith(w io.Writer, format string, res *Result, opts Options) error {
	if res.Omitted > 0 && format != "" && format != "table" {
		return fmt.Errorf("%s output needs every row, but %d were left out", format, res.Omitted)
	}
	switch format {
	case "", "table":
		return writeTable(w, res, false, opts)
	case "markdown":
		return writeTable(w, res, true, Options{})
	case "csv":
		return writeCSV(w, res, opts)
	case "json":
		return writeJSON(w, res)
	case "line":
		return writeLine(w, res)
	}
	return fmt.Errorf("unknown output format %q (want %s)", format, strings.Join(Formats, ", "))
}

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

func writeCSV(w io.Writer, res *Result, opts Options) error {
	cw := csv.NewWriter(w)
	if !opts.NoHeader {
		if err := cw.Write(res.Columns); err != nil {
			return err
		}
	}
	rec := make([]string, len(res.Columns))
	for _, r := range res.Rows {
		for i, v := range r {
			rec[i] = Text(v, "")
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON prints one JSON array of objects keyed by column name, keys in column order.
func writeJSON(w io.Writer, res *Result) error {
	keys := make([][]byte, len(res.Columns))
	for i, c := range res.Columns {
		keys[i], _ = json.Marshal(c)
	}
	var b strings.Builder
	b.WriteString("[")
	for n, r := range res.Rows {
		if n > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for i, v := range r {
			if i > 0 {
				b.WriteString(", ")
			}
			b.Write(keys[i])
			b.WriteString(": ")
			val, err := json.Marshal(JSONValue(v))
			if err != nil {
				return fmt.Errorf("column %s: %w", res.Columns[i], err)
			}
			b.Write(val)
		}
		b.WriteString("}")
	}
	if len(res.Rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLine(w io.Writer, res *Result) error {
	width := 0
	for _, c := range res.Columns {
		width = max(width, len(c))
	}
	for n, r := range res.Rows {
		if n > 0 {
			fmt.Fprintln(w)
		}
		for i, v := range r {
			if _, err := fmt.Fprintf(w, "%*s = %s\n", width, res.Columns[i], Text(v, "NULL")); err != nil {
				return err
			}
		}
	}
	return nil
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, *big.Int:
		return true
	}
	return false
}

// Text formats one value for text output; null is what NULL prints as.
func Text(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case string:
		return x
	case []byte:
		return fmt.Sprintf("\\x%x", x)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		if x.Nanosecond() == 0 {
			return x.Format("2006-01-02 15:04:05")
		}
		return x.Format("2006-01-02 15:04:05.000000")
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any:
		b, err := json.Marshal(nestedJSON(x))
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// formatFloat prints the shortest text that reads back as the same float.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// JSONValue converts a scanned value into one encoding/json prints faithfully.
func JSONValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return formatFloat(x)
		}
		return x
	case float32:
		return JSONValue(float64(x))
	case *big.Int:
		return json.Number(x.String())
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case map[string]any, []any:
		return nestedJSON(x)
	}
	return Text(v, "")
}

// nestedJSON converts the values inside a JSON, STRUCT, MAP or LIST value.
func nestedJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	}
	return v
}
