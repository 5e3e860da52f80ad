// Package render prints query results as a table, CSV, JSON, Markdown or one line per
// value, the output formats every mlprov command that shows rows shares.
package render

import (
	"fmt"
	"io"
	"strings"
)

// Formats are the output formats, by name.
var Formats = []string{"table", "csv", "json", "markdown", "line"}

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
		return writeMarkdown(w, res)
	case "csv":
		return writeCSV(w, res, opts)
	case "json":
		return writeJSON(w, res)
	case "line":
		return writeLine(w, res)
	}
	return fmt.Errorf("unknown output format %q (want %s)", format, strings.Join(Formats, ", "))
}
