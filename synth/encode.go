package synth

import (
	"strconv"
	"time"
)

// encoder writes one row at a time as CSV (RFC 4180) or as a JSON object per line.
type encoder struct {
	json bool
	cols []string
	i    int
	buf  []byte
	// baseUnix is the window's first instant; times arrive as seconds since then.
	baseUnix int64
	// The date part of the last timestamp, which most rows share with their neighbours.
	lastDay int64
	dayText []byte
	hasDay  bool
}

func (e *encoder) begin() {
	e.i = 0
	if e.json {
		e.buf = append(e.buf, '{')
	}
}

func (e *encoder) sep() {
	if e.json {
		if e.i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, e.cols[e.i]...)
		e.buf = append(e.buf, '"', ':')
	} else if e.i > 0 {
		e.buf = append(e.buf, ',')
	}
	e.i++
}

func (e *encoder) end() {
	if e.json {
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, '\n')
}

func (e *encoder) int(v int64) {
	e.sep()
	e.buf = strconv.AppendInt(e.buf, v, 10)
}

func (e *encoder) optInt(v int64) {
	if v < 0 {
		e.null()
		return
	}
	e.int(v)
}

func (e *encoder) null() {
	e.sep()
	if e.json {
		e.buf = append(e.buf, "null"...)
	}
}

func (e *encoder) float(v float64, prec int) {
	e.sep()
	e.buf = strconv.AppendFloat(e.buf, v, 'f', prec, 64)
}

// str writes a value that holds no quote, comma, backslash or control character: the
// generator's names, types and roles.
func (e *encoder) str(s string) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, s...)
		e.buf = append(e.buf, '"')
		return
	}
	e.buf = append(e.buf, s...)
}

func (e *encoder) strPrefixed(prefix string, n int64) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, '"')
	}
	e.buf = append(e.buf, prefix...)
	e.buf = strconv.AppendInt(e.buf, n, 10)
	if e.json {
		e.buf = append(e.buf, '"')
	}
}

func (e *encoder) uri(pid, typ string, id int64) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, '"')
	}
	e.buf = append(e.buf, "synth://p"...)
	e.buf = append(e.buf, pid...)
	e.buf = append(e.buf, '/')
	e.buf = append(e.buf, typ...)
	e.buf = append(e.buf, '/')
	e.buf = strconv.AppendInt(e.buf, id, 10)
	if e.json {
		e.buf = append(e.buf, '"')
	}
}

// raw writes a JSON value: as is in JSON lines, quoted in CSV.
func (e *encoder) raw(j []byte) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, j...)
		return
	}
	e.buf = append(e.buf, '"')
	for _, c := range j {
		if c == '"' {
			e.buf = append(e.buf, '"')
		}
		e.buf = append(e.buf, c)
	}
	e.buf = append(e.buf, '"')
}

// time writes a UTC instant given in seconds since the window opened.
func (e *encoder) time(t int64) {
	e.sep()
	u := e.baseUnix + t
	d := u / 86400
	if !e.hasDay || d != e.lastDay {
		e.dayText = time.Unix(d*86400, 0).UTC().AppendFormat(e.dayText[:0], "2006-01-02")
		e.lastDay, e.hasDay = d, true
	}
	if e.json {
		e.buf = append(e.buf, '"')
	}
	e.buf = append(e.buf, e.dayText...)
	if e.json {
		e.buf = append(e.buf, 'T')
	} else {
		e.buf = append(e.buf, ' ')
	}
	s := u - d*86400
	e.buf = append2(e.buf, s/3600)
	e.buf = append(e.buf, ':')
	e.buf = append2(e.buf, s/60%60)
	e.buf = append(e.buf, ':')
	e.buf = append2(e.buf, s%60)
	if e.json {
		e.buf = append(e.buf, 'Z', '"')
	}
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
