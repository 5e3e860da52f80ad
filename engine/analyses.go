package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	mlsql "mlprov/sql"
)

// ErrUnknownAnalysis means no file sql/analyses/NAME.sql exists for the name asked for.
var ErrUnknownAnalysis = errors.New("unknown analysis")

// Topics are the paper's topics an analysis can answer, in the order a report shows them.
var Topics = []string{"corpus", "lifespan", "architecture", "frequency", "complexity", "outcomes", "waste", "causes", "reuse"}

// PlotKinds are the plots an analysis header can ask for.
var PlotKinds = []string{"none", "bar", "cdf", "line", "hist"}

// DefaultOrder places analyses whose header has no order line after those that have one.
const DefaultOrder = 1000

// Analysis is one canned analysis: a read-only SELECT kept in sql/analyses/NAME.sql, whose
// header of comment lines names it and says what it answers and how to plot it:
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
// The header is the run of blank and "--" lines at the top of the file. A line "-- key: value"
// whose key is a lowercase word is a field, and a key not listed above is an error, so that a
// misspelt field cannot pass unnoticed; other comment lines are prose and are ignored.
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

// Analyses returns every embedded analysis, sorted by order and then name. An error names the
// file whose header is wrong; the embedded files are checked by the tests, so it means a
// broken build.
func Analyses() ([]Analysis, error) {
	entries, err := fs.ReadDir(mlsql.FS, "analyses")
	if err != nil {
		return nil, fmt.Errorf("list analyses: %w", err)
	}
	var as []Analysis
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		file := "analyses/" + e.Name()
		text, err := fs.ReadFile(mlsql.FS, file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		a, err := ParseAnalysis(file, text)
		if err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool {
		if as[i].Order != as[j].Order {
			return as[i].Order < as[j].Order
		}
		return as[i].Name < as[j].Name
	})
	return as, nil
}

// LookupAnalysis returns the embedded analysis called name, or ErrUnknownAnalysis.
func LookupAnalysis(name string) (Analysis, error) {
	as, err := Analyses()
	if err != nil {
		return Analysis{}, err
	}
	for _, a := range as {
		if a.Name == name {
			return a, nil
		}
	}
	return Analysis{}, fmt.Errorf("%w %q: run mlprov analyze to list them", ErrUnknownAnalysis, name)
}

var (
	headerField  = regexp.MustCompile(`^--\s*([a-z]+):\s*(.*?)\s*$`)
	columnName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	analysisName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// ParseAnalysis reads the header of the analysis in file (a path such as
// "analyses/NAME.sql") whose text is text. Errors name the file and the line.
func ParseAnalysis(file string, text []byte) (Analysis, error) {
	a := Analysis{File: file, SQL: string(text), Order: DefaultOrder}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(text), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "--") {
			break
		}
		m := headerField.FindStringSubmatch(line)
		if m == nil {
			continue // prose
		}
		key, val := m[1], m[2]
		if seen[key] {
			return a, fmt.Errorf("%s:%d: %s is given twice", file, n, key)
		}
		seen[key] = true
		if err := a.setField(key, val); err != nil {
			return a, fmt.Errorf("%s:%d: %w", file, n, err)
		}
	}
	for _, key := range []string{"name", "description", "topic", "plot"} {
		if !seen[key] {
			return a, fmt.Errorf("%s: the header has no %q line (want -- %s: ...)", file, key, key)
		}
	}
	if want := strings.TrimSuffix(path.Base(file), ".sql"); a.Name != want {
		return a, fmt.Errorf("%s: the header names it %q; name and file name must agree", file, a.Name)
	}
	return a, nil
}

func (a *Analysis) setField(key, val string) error {
	if val == "" {
		return fmt.Errorf("%s is empty", key)
	}
	switch key {
	case "name":
		if !analysisName.MatchString(val) {
			return fmt.Errorf("name %q is not a lowercase identifier", val)
		}
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
	default:
		return fmt.Errorf("unknown header key %q (want name, description, topic, plot or order)", key)
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

// CheckAnalysis verifies that a's SQL is what an analysis must be: exactly one SELECT
// statement (WITH allowed), so that running it cannot change the store, with an ORDER BY on
// the outermost query, so that its rows come in a stable order. DuckDB's own parser decides.
func (e *Engine) CheckAnalysis(ctx context.Context, a Analysis) error {
	var tree string
	err := e.db.QueryRowContext(ctx, `SELECT json_serialize_sql($1::VARCHAR)::VARCHAR`, a.SQL).Scan(&tree)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	var parsed struct {
		Error      bool   `json:"error"`
		ErrorType  string `json:"error_type"`
		Message    string `json:"error_message"`
		Statements []struct {
			Node struct {
				Type      string `json:"type"`
				Modifiers []struct {
					Type string `json:"type"`
				} `json:"modifiers"`
			} `json:"node"`
		} `json:"statements"`
	}
	if err := json.Unmarshal([]byte(tree), &parsed); err != nil {
		return fmt.Errorf("read the parse tree: %w", err)
	}
	switch {
	case parsed.Error && parsed.ErrorType == "not implemented":
		return fmt.Errorf("an analysis must be one read-only SELECT statement (%s)", parsed.Message)
	case parsed.Error:
		return errors.New(parsed.Message)
	case len(parsed.Statements) != 1:
		return fmt.Errorf("an analysis must be one SELECT statement, not %d", len(parsed.Statements))
	}
	for _, m := range parsed.Statements[0].Node.Modifiers {
		if m.Type == "ORDER_MODIFIER" {
			return nil
		}
	}
	return errors.New("the outermost SELECT has no ORDER BY: an analysis must order its rows totally")
}

// RunAnalysis checks and runs the analysis called name and returns its rows, which the
// caller must close. It returns ErrUnknownAnalysis for a name with no file, and an error when
// the result lacks a column the header's plot names.
func (e *Engine) RunAnalysis(ctx context.Context, name string) (*sql.Rows, error) {
	a, err := LookupAnalysis(name)
	if err != nil {
		return nil, err
	}
	if err := e.CheckAnalysis(ctx, a); err != nil {
		return nil, fmt.Errorf("analysis %s (%s): %w", name, a.File, err)
	}
	rows, err := e.db.QueryContext(ctx, a.SQL)
	if err != nil {
		return nil, fmt.Errorf("analysis %s: %w", name, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, fmt.Errorf("analysis %s: %w", name, err)
	}
	for _, c := range a.Plot.Columns() {
		if !slices.Contains(cols, c) {
			rows.Close()
			return nil, fmt.Errorf("analysis %s: the plot reads column %q, which the result lacks (it has %s)", name, c, strings.Join(cols, ", "))
		}
	}
	return rows, nil
}
