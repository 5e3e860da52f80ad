package openlineage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RunEvent is the part of an OpenLineage RunEvent (spec 2-0-x) that mlprov reads. Facets
// stay raw: only a few are decoded, and unknown ones must not fail a load.
type RunEvent struct {
	EventType string    `json:"eventType"`
	EventTime string    `json:"eventTime"`
	Run       *Run      `json:"run"`
	Job       *Job      `json:"job"`
	Dataset   *Dataset  `json:"dataset"` // set on a DatasetEvent, which has no run
	Inputs    []Dataset `json:"inputs"`
	Outputs   []Dataset `json:"outputs"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
}

// Run is a RunEvent's run.
type Run struct {
	RunID  string                     `json:"runId"`
	Facets map[string]json.RawMessage `json:"facets"`
}

// Job is a RunEvent's job.
type Job struct {
	Namespace string                     `json:"namespace"`
	Name      string                     `json:"name"`
	Facets    map[string]json.RawMessage `json:"facets"`
}

// Dataset is an input or output dataset.
type Dataset struct {
	Namespace    string                     `json:"namespace"`
	Name         string                     `json:"name"`
	Facets       map[string]json.RawMessage `json:"facets"`
	InputFacets  map[string]json.RawMessage `json:"inputFacets"`
	OutputFacets map[string]json.RawMessage `json:"outputFacets"`
}

// Record is one event read from a file with the line it starts on, for error messages, and
// its JSON text as the file holds it.
type Record struct {
	Line  int
	Event RunEvent
	Raw   json.RawMessage
}

// Parse reads RunEvents from data: a JSON array of events, JSON lines (one event per line,
// blank lines allowed), or one or more pretty-printed events one after another. Errors name
// the line (and for arrays the element) where the bad record starts.
func Parse(data []byte) ([]Record, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM some editors write
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, nil
	}
	lines := newLineIndex(data)
	start := len(data) - len(trimmed)
	if trimmed[0] == '[' {
		return parseArray(data, lines)
	}
	if isJSONLines(data, start) {
		return parseLines(data)
	}
	return parseStream(data, lines)
}

// isJSONLines reports whether the first value ends on the line it starts on, which is what
// sets JSON lines apart from pretty-printed events.
func isJSONLines(data []byte, start int) bool {
	end := bytes.IndexByte(data[start:], '\n')
	if end < 0 {
		return false
	}
	return json.Valid(bytes.TrimSpace(data[start : start+end]))
}

func parseLines(data []byte) ([]Record, error) {
	var recs []Record
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		var ev RunEvent
		if err := json.Unmarshal(l, &ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, describe(err))
		}
		recs = append(recs, Record{Line: line, Event: ev, Raw: l})
	}
	return recs, nil
}

func parseArray(data []byte, lines lineIndex) ([]Record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("line 1: %w", describe(err))
	}
	var recs []Record
	for n := 1; dec.More(); n++ {
		at := lines.lineAt(skipSpace(data, int(dec.InputOffset())))
		rec, err := decode(dec, at)
		if err != nil {
			return nil, fmt.Errorf("line %d (event %d of the array): %w", errLine(err, lines, at), n, describe(err))
		}
		recs = append(recs, rec)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("line %d: the array is not closed: %w", lines.lineAt(int(dec.InputOffset())), describe(err))
	}
	return recs, nil
}

func parseStream(data []byte, lines lineIndex) ([]Record, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var recs []Record
	for {
		off := skipSpace(data, int(dec.InputOffset()))
		if off >= len(data) {
			return recs, nil
		}
		at := lines.lineAt(off)
		rec, err := decode(dec, at)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", errLine(err, lines, at), describe(err))
		}
		recs = append(recs, rec)
	}
}

// decode reads the next value of dec as the event that starts on line.
func decode(dec *json.Decoder, line int) (Record, error) {
	rec := Record{Line: line}
	if err := dec.Decode(&rec.Raw); err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(rec.Raw, &rec.Event)
}

// errLine is the line a decoding error points at: where the syntax broke, else where the
// record started.
func errLine(err error, lines lineIndex, start int) int {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 {
		return lines.lineAt(int(se.Offset) - 1)
	}
	return start
}

// describe says what a JSON error means in a user's words.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return fmt.Errorf("a RunEvent is a JSON object, not a JSON %s", te.Value)
	}
	if errors.As(err, &te) {
		return fmt.Errorf("field %s: want a %s, not a JSON %s", te.Field, te.Type, te.Value)
	}
	if errors.Is(err, errUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("invalid JSON: the record is cut short")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

var errUnexpectedEOF = errors.New("unexpected EOF")

func skipSpace(data []byte, off int) int {
	for off < len(data) && (data[off] == ' ' || data[off] == '\t' || data[off] == '\r' || data[off] == '\n' || data[off] == ',') {
		off++
	}
	return off
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int // offsets of each '\n'

func newLineIndex(data []byte) lineIndex {
	var idx lineIndex
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i)
		}
	}
	return idx
}

func (l lineIndex) lineAt(off int) int {
	lo, hi := 0, len(l)
	for lo < hi {
		m := (lo + hi) / 2
		if l[m] < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo + 1
}

// timeLayouts are the eventTime forms seen in real logs: RFC 3339 with any fraction (Go
// reads up to nanoseconds), offsets without a colon, a space for the T, and no zone at all,
// which is read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
}

// ParseTime reads an OpenLineage eventTime leniently; the result is UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	// Fractions finer than nanoseconds exist in the wild; Go stops at nine digits.
	if i := strings.IndexByte(s, '.'); i >= 0 {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i-1 > 9 {
			s = s[:i+10] + s[j:]
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("eventTime %q is not an ISO 8601 time", s)
}
