package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

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
