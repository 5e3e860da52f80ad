package shell

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/internal/golden"
	"mlprov/internal/storetest"
	"mlprov/loaders"
)

// exampleStore is an in-memory store holding the hand-written corpus testdata/example.
func exampleStore(t testing.TB) *sql.DB {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "example")
	l, path, err := loaders.Lookup("auto", dir)
	if err != nil {
		t.Fatal(err)
	}
	return storetest.Loaded(t, l, path).DB()
}

// testAnalyses stand in for the canned analyses that main wires in.
func testAnalyses() ([]catalog.Analysis, error) {
	return []catalog.Analysis{
		{Name: "pipelines", Description: "pipelines by name", SQL: "-- name: pipelines\nSELECT pipeline_id, name FROM pipelines ORDER BY name;"},
		{Name: "two", Description: "two statements, the last without a semicolon", SQL: "SELECT 1 AS one;\nSELECT 2 AS two"},
		{Name: "broken", Description: "fails", SQL: "SELECT 1;\nSELECT * FROM nowhere;"},
	}, nil
}

// runScript runs input as a script against db, with results and messages in one transcript.
func runScript(t testing.TB, db *sql.DB, input string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := Run(context.Background(), Options{
		DB:       db,
		In:       strings.NewReader(input),
		Out:      &out,
		Err:      &out,
		Name:     "test.sql",
		Analyses: testAnalyses,
	})
	return out.String(), err
}

// TestScripts runs each testdata/script/CASE/in.sql and compares the transcript, with the
// error that ended it, to want.txt. $TMP in a script is a fresh temporary folder.
func TestScripts(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "script", "*", "in.sql"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no scripts in testdata/script: %v", err)
	}
	for _, in := range cases {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			got, err := runScript(t, exampleStore(t), strings.ReplaceAll(string(b), "$TMP", tmp))
			if err != nil {
				got += "error: " + err.Error() + "\n"
			}
			got = strings.ReplaceAll(got, tmp, "$TMP")
			if files, _ := filepath.Glob(filepath.Join(tmp, "*")); len(files) > 0 {
				for _, f := range files {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					got += "--- " + filepath.Base(f) + "\n" + string(b)
				}
			}
			golden.Check(t, filepath.Join(dir, "want.txt"), got)
		})
	}
}

func TestScriptErrors(t *testing.T) {
	db := exampleStore(t)
	tests := []struct {
		name    string
		in      string
		wantOut string // the transcript must hold this
		notOut  string // and must not hold this
		wantErr string
	}{
		{"stops at the first error", "SELECT 'before' AS x;\nSELECT * FROM nope;\nSELECT 'after' AS x;\n",
			"before", "after", `test.sql:2: SELECT * FROM nope: Catalog Error: Table with name nope does not exist`},
		{"names the line a statement starts on", "SELECT 1;\n\n-- a comment\nSELECT\n  nope;\n",
			"", "", "test.sql:4: SELECT…: Binder Error"},
		{"second statement on a line", "SELECT 1; SELEC 2;\n", "", "", `test.sql:1: SELEC 2: Parser Error: syntax error at or near "SELEC"`},
		{"last statement without semicolon", "SELECT 1;\nSELECT nope", "", "", "test.sql:2: SELECT nope: Binder Error"},
		{"unknown dot-command", "SELECT 'ran' AS x;\n.frobnicate\nSELECT 'not run';\n", "ran", "not run", "test.sql:2: .frobnicate: unknown command .frobnicate: .help lists them"},
		{"dot-command usage", ".mode a b\n", "", "", "usage: .mode [MODE]"},
		{"unknown mode", ".mode yaml\n", "", "", `.mode: unknown mode "yaml" (want table, csv, json, markdown, line)`},
		{"bad switch", ".timer maybe\n", "", "", `.timer: want on or off, not "maybe"`},
		{"bad maxrows", ".maxrows -1\n", "", "", `.maxrows: want a count of rows (0 for all), not "-1"`},
		{"missing file", ".read testdata/none.sql\n", "", "", ".read: open testdata/none.sql: no such file or directory"},
		{"error inside .read names the file", ".read testdata/broken.sql\n", "fine", "", "test.sql:1: .read testdata/broken.sql: testdata/broken.sql:3: SELECT * FROM nope: Catalog Error"},
		{"unknown schema name", ".schema nope\n", "", "", `.schema: no table or view named "nope"`},
		{"unknown analysis", ".run nope\n", "", "", `no analysis named "nope": .analyses lists them`},
		{"failing analysis", ".run broken\n", "", "", "analysis broken, statement 2: Catalog Error"},
		{"lineage of an unknown id", ".lineage 999\n", "", "", ".lineage: no artifact or execution 999 in the store"},
		{"lineage of an unknown artifact", ".lineage a:999\n", "", "", ".lineage: no artifact 999 in the store"},
		{"lineage of the wrong kind", ".lineage a:101\n", "", "", ".lineage: no artifact 101 in the store (an execution has that id: e:101)"},
		{"lineage of an id both kinds use", "INSERT INTO artifacts (artifact_id, pipeline_id, type, source_id) VALUES (101, 1, 'Clash', 1);\n.lineage 101\n",
			"", "", ".lineage: 101 is both an artifact id and an execution id: write a:101 or e:101"},
		{"unclosed quote in a dot-command", ".output 'x\n", "", "", ".output: unclosed ' quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.in, "INSERT") {
				tt.in = "BEGIN;\n" + tt.in // keep the shared store as it was
				// The rollback fails, harmlessly, when the script ended the transaction already.
				defer func() { _, _ = db.Exec("ROLLBACK") }()
			}
			out, err := runScript(t, db, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one holding %q", err, tt.wantErr)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("transcript %q lacks %q", out, tt.wantOut)
			}
			if tt.notOut != "" && strings.Contains(out, tt.notOut) {
				t.Errorf("transcript %q holds %q, which comes after the error", out, tt.notOut)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line    string
		want    command
		wantErr string
	}{
		{".tables", command{name: ".tables"}, ""},
		{"  .mode   json  ", command{name: ".mode", args: []string{"json"}, rest: "json"}, ""},
		{".mode json;", command{name: ".mode", args: []string{"json"}, rest: "json"}, ""},
		{".lineage\t1007 --up --hops 2", command{name: ".lineage", args: []string{"1007", "--up", "--hops", "2"}, rest: "1007 --up --hops 2"}, ""},
		{`.once 'my file.csv'`, command{name: ".once", args: []string{"my file.csv"}, rest: `'my file.csv'`}, ""},
		{`.read "it""s.sql"`, command{name: ".read", args: []string{`it"s.sql`}, rest: `"it""s.sql"`}, ""},
		{".explain SELECT 'a;b', 2;", command{name: ".explain", args: []string{"SELECT", "a;b,", "2"}, rest: "SELECT 'a;b', 2"}, ""},
		{`.once out/'my '"file"`, command{name: ".once", args: []string{"out/my file"}, rest: `out/'my '"file"`}, ""},
		{`.once ''`, command{name: ".once", args: []string{""}, rest: `''`}, ""},
		{".read 'x", command{}, "unclosed ' quote"},
		{"SELECT 1", command{}, "is not a dot-command"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := parseCommand(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(command{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLineage(t *testing.T) {
	la := func(kind string, id int64, opts engine.LineageOptions) lineageArgs {
		return lineageArgs{node: engine.Node{Kind: kind, ID: id}, opts: opts}
	}
	tests := []struct {
		args    string
		want    lineageArgs
		wantErr string
	}{
		{"1007", la("", 1007, engine.LineageOptions{Up: true, Down: true}), ""},
		{"a:1007 --up", la("artifact", 1007, engine.LineageOptions{Up: true}), ""},
		{"artifact:1007 --down --hops 3", la("artifact", 1007, engine.LineageOptions{Down: true, Depth: 3}), ""},
		{"e:106 --hops=2", la("execution", 106, engine.LineageOptions{Up: true, Down: true, Depth: 2}), ""},
		{"e:106 --depth 2 --relinks", la("execution", 106, engine.LineageOptions{Up: true, Down: true, Depth: 2, Relinks: true}), ""},
		{"--execution 106 --up --down", la("execution", 106, engine.LineageOptions{Up: true, Down: true}), ""},
		{"106 --artifact", la("artifact", 106, engine.LineageOptions{Up: true, Down: true}), ""},
		{"a:1 --execution", lineageArgs{}, "cannot be both an artifact and an execution"},
		{"x:1", lineageArgs{}, `unknown kind "x"`},
		{"a:one", lineageArgs{}, `"a:one" is not an id`},
		{"1 2", lineageArgs{}, "one id at a time"},
		{"1 --hops", lineageArgs{}, "--hops needs a number"},
		{"1 --hops 0", lineageArgs{}, "--hops wants a number above 0"},
		{"1 --sideways", lineageArgs{}, "unknown flag --sideways"},
		{"--up", lineageArgs{}, "usage: .lineage ID"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			got, err := parseLineage(strings.Fields(tt.args))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// testSession is a session on one connection of db, printing into out.
func testSession(t testing.TB, db *sql.DB, out *strings.Builder, interrupt chan os.Signal) *session {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return newSession(Options{DB: db, Out: out, Err: out, Interrupt: interrupt, Analyses: testAnalyses}, conn)
}

func TestComplete(t *testing.T) {
	db := exampleStore(t)
	s := testSession(t, db, new(strings.Builder), nil)
	tests := []struct {
		pending, line string
		pos           int // -1 for the end of the line
		head          string
		want          []string // must be among the candidates, in this order
		only          bool     // and be all of them
	}{
		{"", "SELECT count(*) FROM pip", -1, "SELECT count(*) FROM ", []string{"pipeline_activity", "pipeline_topology", "pipelines"}, true},
		{"", "SELECT count(*) FROM exec WHERE 1", 25, "SELECT count(*) FROM ", []string{"executions"}, false},
		{"SELECT *\n", "FROM ev", -1, "FROM ", []string{"events"}, false},
		{"", "SELECT op_ FROM executions", 10, "SELECT ", []string{"op_type"}, false},
		{"", "SEL", -1, "", []string{"SELECT "}, true}, // a keyword comes with its space
		{"", "sel", -1, "", []string{"select "}, true},
		{"", ".li", -1, "", []string{".lineage"}, true},
		{"", ".mode j", -1, ".mode ", []string{"json"}, true},
		{"", ".schema ev", -1, ".schema ", []string{"events"}, true},
		{"", ".run t", -1, ".run ", []string{"two"}, true},
		{"", ".lineage 1007 --h", -1, ".lineage 1007 ", []string{"--hops"}, true},
		{"", ".explain analyze SELECT * FROM art", -1, ".explain analyze SELECT * FROM ", []string{"artifact_producers", "artifacts"}, true},
		{"", ".timer o", -1, ".timer ", []string{"on", "off"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.pending+tt.line, func(t *testing.T) {
			s.pending = tt.pending
			pos := tt.pos
			if pos < 0 {
				pos = len([]rune(tt.line))
			}
			head, got, tail := s.complete(tt.line, pos)
			if head != tt.head || tail != tt.line[pos:] {
				t.Errorf("head, tail = %q, %q; want %q, %q", head, tail, tt.head, tt.line[pos:])
			}
			if tt.only && !cmp.Equal(got, tt.want) {
				t.Errorf("candidates %q, want %q", got, tt.want)
			}
			at := 0
			for _, w := range tt.want {
				i := indexFrom(got, w, at)
				if i < 0 {
					t.Fatalf("candidates %q lack %q (in this order: %q)", got, w, tt.want)
				}
				at = i + 1
			}
		})
	}
}

func indexFrom(list []string, s string, from int) int {
	for i := from; i < len(list); i++ {
		if list[i] == s {
			return i
		}
	}
	return -1
}

// TestInterruptCancelsStatement presses Ctrl-C (a value on Options.Interrupt) during a
// statement that would run for half a minute: it must stop at once, and the session's
// connection must still work.
func TestInterruptCancelsStatement(t *testing.T) {
	db := exampleStore(t)
	var out strings.Builder
	interrupt := make(chan os.Signal, 1)
	s := testSession(t, db, &out, interrupt)
	interrupt <- syscall.SIGINT // a stale Ctrl-C, pressed before the statement: ignored
	done := make(chan error, 1)
	go func() {
		done <- s.exec(context.Background(), "SELECT count(*) FROM range(100000) a, range(100000) b WHERE a.range + b.range = -1")
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the statement ended before Ctrl-C: %v", err)
	default:
	}
	pressed := time.Now()
	interrupt <- syscall.SIGINT
	select {
	case err := <-done:
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("error = %v, want ErrInterrupted", err)
		}
		t.Logf("cancelled %v after Ctrl-C", time.Since(pressed))
	case <-time.After(5 * time.Second):
		t.Fatal("the statement still runs 5s after Ctrl-C")
	}
	if err := s.exec(context.Background(), "SELECT 'still here' AS x"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "still here") {
		t.Errorf("after the interrupt, got %q", out.String())
	}
}

// TestTimer checks that .timer on prints a time per statement and per dot-command that runs
// a query, and that off stops it.
func TestTimer(t *testing.T) {
	db := exampleStore(t)
	out, err := runScript(t, db, ".timer on\nSELECT 1 AS x;\n.lineage 1007 --hops 1\n.mode csv\n.timer off\nSELECT 2 AS y;\n.lineage 1007 --hops 1\n")
	if err != nil {
		t.Fatal(err)
	}
	// Timed: the statement and .lineage, which runs a query; not .mode nor anything after off.
	if n := len(regexp.MustCompile(`Run Time: real \d+\.\d{3}s\n`).FindAllString(out, -1)); n != 2 {
		t.Errorf("%d timings in %q, want 2", n, out)
	}
}

// TestExplainAnalyze checks .explain analyze runs the statement and prints its profile, whose
// timings keep it out of the golden scripts.
func TestExplainAnalyze(t *testing.T) {
	db := exampleStore(t)
	out, err := runScript(t, db, ".explain analyze SELECT op_type, count(*) FROM executions GROUP BY op_type;\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Query Profiling Information", "Total Time:", "HASH_GROUP_BY", "36 rows"} {
		if !strings.Contains(out, want) {
			t.Errorf("the profile lacks %q:\n%s", want, out)
		}
	}
}
