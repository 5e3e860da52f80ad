package render

import "io"

// writeMarkdown prints res as a Markdown table: the table's layout drawn by tablewriter's
// Markdown renderer, with every row and column, always a header row and no footer.
func writeMarkdown(w io.Writer, res *Result) error {
	return writeTable(w, res, true, Options{})
}
