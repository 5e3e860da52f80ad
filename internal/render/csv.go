package render

import (
	"encoding/csv"
	"io"
)

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
