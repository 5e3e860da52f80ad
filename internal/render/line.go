package render

import (
	"fmt"
	"io"
)

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
