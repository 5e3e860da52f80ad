package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"mlprov/catalog"
	mlsql "mlprov/sql"
)

// ErrUnknownAnalysis means no file sql/analyses/NAME.sql exists for the name asked for.
var ErrUnknownAnalysis = errors.New("unknown analysis")

// Analyses returns every embedded analysis, sorted by order and then name. An error names the
// file whose header is wrong; the embedded files are checked by the tests, so it means a
// broken build.
func Analyses() ([]catalog.Analysis, error) {
	entries, err := fs.ReadDir(mlsql.FS, "analyses")
	if err != nil {
		return nil, fmt.Errorf("list analyses: %w", err)
	}
	var as []catalog.Analysis
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		file := "analyses/" + e.Name()
		text, err := fs.ReadFile(mlsql.FS, file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		a, err := catalog.ParseAnalysis(file, text)
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
func LookupAnalysis(name string) (catalog.Analysis, error) {
	as, err := Analyses()
	if err != nil {
		return catalog.Analysis{}, err
	}
	for _, a := range as {
		if a.Name == name {
			return a, nil
		}
	}
	return catalog.Analysis{}, fmt.Errorf("%w %q", ErrUnknownAnalysis, name)
}

// CheckAnalysis verifies that a's SQL is what an analysis must be: exactly one SELECT
// statement (WITH allowed), so that running it cannot change the store, with an ORDER BY on
// the outermost query, so that its rows come in a stable order. DuckDB's own parser decides.
func (e *Engine) CheckAnalysis(ctx context.Context, a catalog.Analysis) error {
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
	return e.RunAnalysisOn(ctx, e.db, name)
}

// RunAnalysisOn is RunAnalysis on q, such as a connection of the store on which the caller
// has set the DuckDB variables (SET VARIABLE) that the analysis reads with getvariable.
func (e *Engine) RunAnalysisOn(ctx context.Context, q Querier, name string) (*sql.Rows, error) {
	a, err := LookupAnalysis(name)
	if err != nil {
		return nil, err
	}
	if err := e.CheckAnalysis(ctx, a); err != nil {
		return nil, fmt.Errorf("analysis %s (%s): %w", name, a.File, err)
	}
	rows, err := q.QueryContext(ctx, a.SQL)
	if err != nil {
		return nil, fmt.Errorf("analysis %s: %w", name, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close() //nolint:sqlclosecheck // on success the rows go to the caller, who closes them
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
