package render

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

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
	case duckdb.Interval:
		return intervalText(x)
	case duckdb.Union:
		return Text(x.Value, null)
	case duckdb.OrderedMap:
		// As DuckDB writes a MAP as text: {k=v, ...}.
		var b strings.Builder
		b.WriteByte('{')
		vals := x.Values()
		for i, k := range x.Keys() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Text(k, "NULL") + "=" + Text(vals[i], "NULL"))
		}
		b.WriteByte('}')
		return b.String()
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
	case duckdb.Decimal:
		return json.Number(x.String())
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case map[string]any, []any:
		return nestedJSON(x)
	case duckdb.Union:
		return JSONValue(x.Value)
	case duckdb.OrderedMap:
		// A JSON object when every key is a string, else a list of {key, value} pairs.
		keys, vals := x.Keys(), x.Values()
		obj := make(map[string]any, len(keys))
		for i, k := range keys {
			s, ok := k.(string)
			if !ok {
				pairs := make([]any, len(keys))
				for j := range keys {
					pairs[j] = map[string]any{"key": JSONValue(keys[j]), "value": JSONValue(vals[j])}
				}
				return pairs
			}
			obj[s] = JSONValue(vals[i])
		}
		return obj
	}
	return Text(v, "")
}

// intervalText writes an INTERVAL as DuckDB does: years, months and days, then the time of
// day as HH:MM:SS with the fraction's trailing zeros cut, each part signed on its own.
func intervalText(iv duckdb.Interval) string {
	var parts []string
	unit := func(n int64, name string) {
		if n == 0 {
			return
		}
		if n != 1 && n != -1 {
			name += "s"
		}
		parts = append(parts, strconv.FormatInt(n, 10)+" "+name)
	}
	unit(int64(iv.Months/12), "year")
	unit(int64(iv.Months%12), "month")
	unit(int64(iv.Days), "day")
	if iv.Micros != 0 || len(parts) == 0 {
		parts = append(parts, clockText(iv.Micros))
	}
	return strings.Join(parts, " ")
}

// clockText writes micros as [-]HH:MM:SS[.ffffff], hours unbounded, the fraction's trailing
// zeros cut.
func clockText(micros int64) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	secs := micros / 1e6
	s := fmt.Sprintf("%s%02d:%02d:%02d", sign, secs/3600, secs/60%60, secs%60)
	if frac := micros % 1e6; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return s
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
