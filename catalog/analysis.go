package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mlprov/internal/render"
)

// Topics are the paper's topics an analysis can answer, in the order a report shows them.
var Topics = []string{"corpus", "lifespan", "architecture", "frequency", "complexity", "outcomes", "waste", "causes", "reuse"}

// PlotKinds are the plots an analysis header can ask for.
var PlotKinds = []string{"none", "bar", "cdf", "line", "hist"}

// DefaultOrder places analyses whose header has no order line after those that have one.
const DefaultOrder = 1000

// Analysis is one canned analysis: a read-only SELECT kept in sql/analyses/NAME.sql, whose
// header (see ParseHeader) names it and says what it answers and how to plot it:
//
//	-- name: NAME              (required; equals the file's name without .sql)
//	-- description: TEXT       (required; one line)
//	-- topic: TOPIC            (required; one of Topics)
//	-- plot: KIND [x=COL] [y=COL] [series=COL]
//	                           (required; KIND is one of PlotKinds: bar and line need x and y,
//	                           cdf and hist need x and take no y, hist takes no series, none
//	                           takes no columns)
//	-- order: N                (optional integer; lower comes first in a report)
//
// A key not listed above is an error. Once run, an analysis carries its Result, which the
// report shows; the report also shows sections that no file defines (the pruning study's),
// whose File and SQL are empty.
type Analysis struct {
	Name        string
	Description string
	Topic       string
	Plot        Plot
	Order       int
	// File is the analysis's path inside the embedded SQL, such as "analyses/activity.sql".
	File string
	// SQL is the file's whole text, header included.
	SQL string
	// Result is the analysis's result once run; nil before.
	Result *render.Result
	// Note, when set, is a sentence the analysis's report section opens with; for a result
	// with no rows, it is all the section says (why it is empty and what would fill it).
	Note string
}

// Plot is the plot an analysis asks for: Kind is one of PlotKinds, and X, Y and Series name
// columns of its result (empty when not used).
type Plot struct {
	Kind, X, Y, Series string
}

// String prints the plot as it is written in a header.
func (p Plot) String() string {
	s := p.Kind
	for _, kv := range [][2]string{{"x", p.X}, {"y", p.Y}, {"series", p.Series}} {
		if kv[1] != "" {
			s += " " + kv[0] + "=" + kv[1]
		}
	}
	return s
}

// Columns returns the result columns the plot reads.
func (p Plot) Columns() []string {
	var cols []string
	for _, c := range []string{p.X, p.Y, p.Series} {
		if c != "" {
			cols = append(cols, c)
		}
	}
	return cols
}

var columnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseAnalysis reads the header of the analysis in file (a path such as
// "analyses/NAME.sql") whose text is text. Errors name the file and the line.
func ParseAnalysis(file string, text []byte) (Analysis, error) {
	a := Analysis{File: file, SQL: string(text), Order: DefaultOrder}
	fields, err := ParseHeader(file, text, "name", "description", "topic", "plot", "order")
	if err != nil {
		return a, err
	}
	for _, f := range fields {
		if err := a.set(f.Key, f.Value); err != nil {
			return a, fmt.Errorf("%s:%d: %w", file, f.Line, err)
		}
	}
	return a, Require(file, fields, "topic", "plot")
}

// set stores one header field that ParseHeader let through.
func (a *Analysis) set(key, val string) error {
	switch key {
	case "name":
		a.Name = val
	case "description":
		a.Description = val
	case "topic":
		if !slices.Contains(Topics, val) {
			return fmt.Errorf("unknown topic %q (want one of %s)", val, strings.Join(Topics, ", "))
		}
		a.Topic = val
	case "plot":
		p, err := parsePlot(val)
		if err != nil {
			return err
		}
		a.Plot = p
	case "order":
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("order %q is not an integer", val)
		}
		a.Order = n
	}
	return nil
}

// parsePlot reads "KIND [x=COL] [y=COL] [series=COL]".
func parsePlot(spec string) (Plot, error) {
	fields := strings.Fields(spec)
	p := Plot{Kind: fields[0]}
	if !slices.Contains(PlotKinds, p.Kind) {
		return p, fmt.Errorf("unknown plot kind %q (want one of %s)", p.Kind, strings.Join(PlotKinds, ", "))
	}
	for _, f := range fields[1:] {
		k, col, ok := strings.Cut(f, "=")
		if !ok || !columnName.MatchString(col) {
			return p, fmt.Errorf("plot: %q is not KEY=COLUMN", f)
		}
		var dst *string
		switch k {
		case "x":
			dst = &p.X
		case "y":
			dst = &p.Y
		case "series":
			dst = &p.Series
		default:
			return p, fmt.Errorf("plot: unknown key %q (want x, y or series)", k)
		}
		if *dst != "" {
			return p, fmt.Errorf("plot: %s is given twice", k)
		}
		*dst = col
	}
	switch p.Kind {
	case "none":
		if len(fields) > 1 {
			return p, errors.New("plot: none takes no columns")
		}
	case "bar", "line":
		if p.X == "" || p.Y == "" {
			return p, fmt.Errorf("plot: %s needs x=COL and y=COL", p.Kind)
		}
	case "cdf", "hist":
		if p.X == "" || p.Y != "" {
			return p, fmt.Errorf("plot: %s needs x=COL and takes no y", p.Kind)
		}
		if p.Kind == "hist" && p.Series != "" {
			return p, errors.New("plot: hist takes no series")
		}
	}
	return p, nil
}
