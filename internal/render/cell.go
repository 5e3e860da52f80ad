package render

import (
	"math"
	"strconv"
	"strings"
)

// RoundSig rounds f to digits significant digits.
func RoundSig(f float64, digits int) float64 {
	g, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', digits, 64), 64)
	if err != nil {
		return f
	}
	return g
}

// Cell formats a value as the report's tables and plots show it. Floats keep six significant digits, and
// every digit before the point (two after it, from 100,000 on), so that a big number is not
// rounded to a different one; their thousands are separated by commas.
func Cell(v any) string {
	if f, ok := v.(float64); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
		var s string
		if math.Abs(f) >= 1e5 {
			s = strconv.FormatFloat(f, 'f', 2, 64)
			s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
		} else {
			s = strconv.FormatFloat(RoundSig(f, 6), 'f', -1, 64)
		}
		return groupThousands(s)
	}
	return Text(v, "NULL")
}

// groupThousands separates the thousands of a formatted number's integer part by commas.
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}
