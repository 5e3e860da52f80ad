package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/internal/golden"
	"mlprov/internal/render"
	"mlprov/loaders/native"
	mlsql "mlprov/sql"
)

// TestEmbeddedSQL runs every embedded .sql file against an empty in-memory store, so that a
// typo fails here, with the file's name, rather than in a user's run. It walks the embedded
// files, so a new folder (sql/views) is checked as soon as it is embedded: schema migrations
// must have been applied by Open, analyses must parse, pass CheckAnalysis and run, queries
// (which take parameters) must prepare against the store, refresh steps must have a header,
// and any other file must create its
// object in a scratch schema, which must then be queryable.
func TestEmbeddedSQL(t *testing.T) {
	ctx := context.Background()
	var files []string
	err := fs.WalkDir(mlsql.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(p) == ".sql" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e := open(t, ":memory:", engine.Options{})
	version, err := e.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var objects []string
	for _, file := range files {
		dir := path.Dir(file)
		switch dir {
		case "schema":
			t.Run(file, func(t *testing.T) {
				n, _, _ := strings.Cut(path.Base(file), "_")
				if v, err := strconv.Atoi(n); err != nil || v > version {
					t.Errorf("%s: not applied by Open (store schema %d)", file, version)
				}
			})
		case "analyses":
			t.Run(file, func(t *testing.T) {
				text, err := fs.ReadFile(mlsql.FS, file)
				if err != nil {
					t.Fatal(err)
				}
				a, err := catalog.ParseAnalysis(file, text)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := e.RunAnalysis(ctx, a.Name)
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				defer rows.Close()
				if _, err := render.Read(rows); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if err := rows.Err(); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
			})
		case "queries":
			t.Run(file, func(t *testing.T) {
				text, err := fs.ReadFile(mlsql.FS, file)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := catalog.ParseHeader(file, text, "name", "description"); err != nil {
					t.Fatal(err)
				}
				stmt, err := e.DB().PrepareContext(ctx, string(text))
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				stmt.Close()
			})
		case "refresh":
			// They read the temporary tables a refresh fills as it goes: the refresh tests
			// run every one of them.
			t.Run(file, func(t *testing.T) {
				text, err := fs.ReadFile(mlsql.FS, file)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := catalog.ParseHeader(file, text, "name", "description"); err != nil {
					t.Fatal(err)
				}
			})
		default:
			objects = append(objects, file)
		}
	}
	for _, err := range objectErrors(t, mlsql.FS, objects) {
		t.Error(err)
	}
}

// objectErrors runs each file of fsys in a scratch schema of a new store, which sees the
// canonical tables through the search path, and then queries every object the files created.
// The files may depend on one another in an order nobody wrote down, so each round runs what
// it can and a round without progress leaves the rest failed. A file holding a bare SELECT
// becomes a view named after the file (less a numeric prefix). It returns an error per file
// or object that failed, each naming it.
func objectErrors(t *testing.T, fsys fs.FS, files []string) []error {
	t.Helper()
	if len(files) == 0 {
		return nil
	}
	ctx := context.Background()
	e := open(t, ":memory:", engine.Options{})
	conn, err := e.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"CREATE SCHEMA scratch", "SET search_path = 'scratch,main'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	pending := map[string]error{}
	for _, f := range files {
		pending[f] = nil
	}
	for progress := true; progress && len(pending) > 0; {
		progress = false
		for _, f := range files {
			if _, ok := pending[f]; !ok {
				continue
			}
			text, err := fs.ReadFile(fsys, f)
			if err != nil {
				t.Fatal(err)
			}
			q := string(text)
			var parseError string
			err = conn.QueryRowContext(ctx, `SELECT json_serialize_sql($1::VARCHAR)->>'error'`, q).Scan(&parseError)
			if err == nil && parseError == "false" {
				name := strings.TrimSuffix(path.Base(f), ".sql")
				if n, rest, ok := strings.Cut(name, "_"); ok && strings.Trim(n, "0123456789") == "" {
					name = rest
				}
				q = "CREATE VIEW scratch." + name + " AS\n" + q
			}
			if _, err := conn.ExecContext(ctx, q); err != nil {
				pending[f] = err
				continue
			}
			delete(pending, f)
			progress = true
		}
	}
	var errs []error
	for _, f := range files {
		if err, ok := pending[f]; ok {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
		}
	}
	res, err := render.Query(ctx, conn, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'scratch' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		name := r[0].(string)
		if _, err := render.Query(ctx, conn, `SELECT * FROM scratch."`+name+`"`); err != nil {
			errs = append(errs, fmt.Errorf("%s, created from the SQL files: %w", name, err))
		}
	}
	return errs
}

// TestObjectErrors shows that the check of other files catches what it must: views that
// depend on each other in any file order pass, and a broken one is named.
func TestObjectErrors(t *testing.T) {
	fsys := fstest.MapFS{
		// graph needs nodes, which a later file makes: the second round creates it.
		"views/a_graph.sql":  {Data: []byte("CREATE VIEW graph AS SELECT * FROM nodes;")},
		"views/b_broken.sql": {Data: []byte("CREATE VIEW broken AS SELECT * FROM no_such_table;")},
		"views/nodes.sql":    {Data: []byte("-- a bare SELECT becomes the view nodes\nSELECT execution_id FROM executions")},
		"views/010_runs.sql": {Data: []byte("SELECT DISTINCT run_id FROM executions")},
	}
	files := []string{"views/010_runs.sql", "views/a_graph.sql", "views/b_broken.sql", "views/nodes.sql"}
	errs := objectErrors(t, fsys, files)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "views/b_broken.sql") || !strings.Contains(errs[0].Error(), "no_such_table") {
		t.Fatalf("errors = %v, want one naming views/b_broken.sql", errs)
	}
}

func TestAnalysesSorted(t *testing.T) {
	as, err := engine.Analyses()
	if err != nil {
		t.Fatal(err)
	}
	if len(as) == 0 {
		t.Fatal("no analyses embedded")
	}
	if !slices.IsSortedFunc(as, func(a, b catalog.Analysis) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Name, b.Name)
	}) {
		t.Error("Analyses() is not sorted by order, then name")
	}
	// The library names the analysis and no command: the CLI says how to list them.
	if _, err := engine.LookupAnalysis("no_such_thing"); !errors.Is(err, engine.ErrUnknownAnalysis) || err.Error() != `unknown analysis "no_such_thing"` {
		t.Errorf("lookup of an unknown analysis: err = %v", err)
	}
}

func TestCheckAnalysis(t *testing.T) {
	e := open(t, ":memory:", engine.Options{})
	for _, tc := range []struct{ sql, err string }{
		{"SELECT 1 AS a ORDER BY a", ""},
		{"WITH x AS (SELECT 1 AS a) SELECT a FROM x UNION ALL SELECT 2 ORDER BY a", ""},
		{"-- a comment; with a semicolon\nSELECT 1 AS a ORDER BY ALL;", ""},
		{"SELECT 1 AS a", "no ORDER BY"},
		{"SELECT a FROM (SELECT 1 AS a ORDER BY a)", "no ORDER BY"},
		{"DELETE FROM executions", "read-only SELECT"},
		{"CREATE TABLE x AS SELECT 1 ORDER BY 1", "read-only SELECT"},
		{"SELECT 1 ORDER BY 1; DROP TABLE executions", "read-only SELECT"},
		{"SELECT 1 ORDER BY 1; SELECT 2 ORDER BY 1", "not 2"},
		{"SELEC 1", "syntax error"},
	} {
		err := e.CheckAnalysis(context.Background(), catalog.Analysis{File: "analyses/x.sql", SQL: tc.sql})
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckAnalysis(%q) = %v, want an error containing %q", tc.sql, err, tc.err)
		}
	}
}

// goldenCorpora are the hand-written corpora every analysis is run on, by case name. Their
// figures are worked out by hand:
//
// example (testdata/example): pipelines taxi (1) and fraud (2) from 2024-03-01 02:00 to
// 2024-03-03 05:05 (2.128 days); 36 executions in 5 runs, 5 trainings, all complete but one;
// taxi trains 3 times in 2.128 days (1.409 a day), fraud twice in 2.032 (0.984). Compute 5562:
// train 3530, transform 655, validate 613, ingest 483, analyze 248, deploy 32, other 1. The
// only failure is StatisticsGen 122 (cost 20), whose retry 123 is no recomputation; the
// backfill 128 recomputes span 2's statistics (StatisticsGen 112's input) and costs 41. No
// other complete execution repeats one with the same inputs: every ExampleGen reads a new
// fingerprint, taxi's Transform reads a growing window (span 1, spans 1-2, spans 2-3), and
// its SchemaGen on day 2 is a cache hit.
//
// reuse (testdata/reuse): one pipeline, ranker (3), built to exercise cache_reuse_audit, where
// it must give: Trainer 480 recomputed (316 repeats 305: same Transform outputs, same code v1;
// 314 runs code v2, 304 failed), CsvExampleGen 100 (311 re-ingests span 1, whose fingerprint
// 301 recorded), StatisticsGen 32 (312 reads that re-ingested span), Transform none but one
// cache hit (313), SchemaGen none with an unknown cost (324, which has no run_id). Failures:
// Trainer 304 (250). Canceled: Evaluator 323 (5).
var goldenCorpora = []struct{ name, dir string }{
	{"example", "../testdata/example"},
	{"reuse", "../testdata/reuse"},
}

// TestAnalysesGolden runs every analysis on every golden corpus and compares its table with
// testdata/analyses/NAME/CASE/want.txt. Floats are printed with six significant digits.
func TestAnalysesGolden(t *testing.T) {
	ctx := context.Background()
	as, err := engine.Analyses()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range goldenCorpora {
		e := open(t, ":memory:", engine.Options{})
		if _, err := e.Load(ctx, &native.Loader{}, c.dir, engine.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			t.Run(a.Name+"/"+c.name, func(t *testing.T) {
				rows, err := e.RunAnalysis(ctx, a.Name)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				res, err := render.Read(rows)
				if err != nil {
					t.Fatal(err)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				b.WriteString("-- " + a.Name + " on testdata/" + c.name + "\n")
				if err := render.Write(&b, "table", fixFloats(res)); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("..", "testdata", "analyses", a.Name, c.name, "want.txt"), b.String())
			})
		}
	}
}

// fixFloats rounds every float to six significant digits, so that goldens do not hang on the
// last bits of a sum.
func fixFloats(res *render.Result) *render.Result {
	for _, r := range res.Rows {
		for i, v := range r {
			if f, ok := v.(float64); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
				r[i], _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 6, 64), 64)
			}
		}
	}
	return res
}
