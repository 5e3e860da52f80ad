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
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Formats are the output formats, by name.
var Formats = []string{"table", "csv", "json", "markdown", "line"}

// Result is a fully read query result.
type Result struct {
	Columns []string
	Rows    [][]any
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

// Write prints res to w in format (one of Formats).
func Write(w io.Writer, format string, res *Result) error {
	switch format {
	case "", "table":
		return writeTable(w, res, false)
	case "markdown":
		return writeTable(w, res, true)
	case "csv":
		return writeCSV(w, res)
	case "json":
		return writeJSON(w, res)
	case "line":
		return writeLine(w, res)
	}
	return fmt.Errorf("unknown output format %q (want %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, res *Result, markdown bool) error {
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	}
	if markdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	t := tablewriter.NewTable(w, opts...)
	t.Header(toAny(res.Columns)...)
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
	for _, r := range res.Rows {
		cells := make([]any, len(r))
		for i, v := range r {
			cells[i] = Text(v, "NULL")
		}
		if err := t.Append(cells...); err != nil {
			return err
		}
	}
	aligns := make(tw.Alignment, len(res.Columns))
	for i, n := range numeric {
		aligns[i] = tw.AlignLeft
		if n {
			aligns[i] = tw.AlignRight
		}
	}
	t.Configure(func(c *tablewriter.Config) { c.Row.Alignment.PerColumn = aligns })
	if err := t.Render(); err != nil {
		return err
	}
	if !markdown {
		_, err := fmt.Fprintf(w, "(%d %s)\n", len(res.Rows), plural(len(res.Rows), "row"))
		return err
	}
	return nil
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

func writeCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(res.Columns); err != nil {
		return err
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
