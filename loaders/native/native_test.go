package native_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mlprov/engine"
	"mlprov/internal/storetest"
	"mlprov/loaders/native"
)

const example = "../../testdata/example"

func load(t testing.TB, e *engine.Engine, dir string, opts engine.LoadOptions) engine.LoadResult {
	t.Helper()
	res, err := e.Load(context.Background(), &native.Loader{}, dir, opts)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return res
}

// dump reads a canonical table in key order, as text, for comparisons.
func dump(t testing.TB, e *engine.Engine, table string) [][]string {
	t.Helper()
	order := map[string]string{
		"pipelines":  "pipeline_id",
		"executions": "execution_id",
		"artifacts":  "artifact_id",
		"events":     "execution_id, artifact_id, direction, role",
	}[table]
	cols := "*"
	if table == "pipelines" {
		cols = "pipeline_id, name, attrs" // source_id belongs to the store, not the data
	}
	return query(t, e, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", cols, table, order))
}

var tables = []string{"pipelines", "executions", "artifacts", "events"}

// snapshot is every table's row count and content hash: equal snapshots, unchanged store.
func snapshot(t testing.TB, e *engine.Engine) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, tb := range append(tables, "sources", "op_categories") {
		var n int64
		var h any
		if err := e.DB().QueryRow(fmt.Sprintf("SELECT count(*), sum(hash(t)) FROM %s t", tb)).Scan(&n, &h); err != nil {
			t.Fatal(err)
		}
		snap[tb] = fmt.Sprintf("%d rows, hash %v", n, h)
	}
	return snap
}

func TestLoadExample(t *testing.T) {
	e := storetest.Open(t)
	res := load(t, e, example, engine.LoadOptions{})
	want := engine.LoadResult{SourceID: 1, Format: "native", New: true, Counts: engine.Counts{Pipelines: 2, Executions: 36, Artifacts: 41, Events: 103}}
	if diff := cmp.Diff(want, res, cmpopts.IgnoreFields(engine.LoadResult{}, "Refreshed")); diff != "" {
		t.Errorf("load result (-want +got):\n%s", diff)
	}
	// Categories come from op_categories when the files leave them out.
	var cat string
	if err := e.DB().QueryRow(`SELECT category FROM executions WHERE execution_id = 119`).Scan(&cat); err != nil {
		t.Fatal(err)
	}
	if cat != "other" {
		t.Errorf("Resolver category = %q, want other", cat)
	}
	// Times with a Z offset are kept as UTC.
	var start string
	if err := e.DB().QueryRow(`SELECT strftime(start_time, '%Y-%m-%d %H:%M') FROM executions WHERE execution_id = 101`).Scan(&start); err != nil {
		t.Fatal(err)
	}
	if start != "2024-03-01 02:00" {
		t.Errorf("start_time = %s, want 2024-03-01 02:00", start)
	}
}

// TestLoadAgain checks that the same content, at its path or another, changes nothing, and
// that --replace of a copy rebuilds the source it copies.
func TestLoadAgain(t *testing.T) {
	e := storetest.Open(t)
	load(t, e, example, engine.LoadOptions{})
	before := snapshot(t, e)
	copyDir := copyExample(t, nil)
	for _, dir := range []string{example, copyDir} {
		res := load(t, e, dir, engine.LoadOptions{})
		if !res.UpToDate || res.SourceID != 1 {
			t.Errorf("load %s again: %+v, want up to date with source 1", dir, res)
		}
		if diff := cmp.Diff(before, snapshot(t, e)); diff != "" {
			t.Errorf("loading %s again changed the store (-before +after):\n%s", dir, diff)
		}
	}
	res := load(t, e, copyDir, engine.LoadOptions{Replace: true})
	if !res.Replaced || res.SourceID != 1 {
		t.Errorf("replace: result %+v, want source 1 replaced", res)
	}
	var sources int
	if err := e.DB().QueryRow(`SELECT count(*) FROM sources`).Scan(&sources); err != nil {
		t.Fatal(err)
	}
	if sources != 1 {
		t.Errorf("after replace: %d sources, want 1", sources)
	}
	for _, tb := range tables {
		if got := dump(t, e, tb); len(got) == 0 || !cmp.Equal(got, dump(t, loadedExample(t), tb)) {
			t.Errorf("after replace, table %s differs from a single load", tb)
		}
	}
}

// TestSyncByID loads a folder, then the same folder grown by a day, with a run that was
// running now complete, then shrunk by a run: each sync adds, updates and removes by id, and
// the store then equals a single load of the folder as it is.
func TestSyncByID(t *testing.T) {
	lastDay := func(v any) bool { s, _ := v.(string); return strings.HasPrefix(s, "2024-03-03") }
	var running float64
	partial := func(table string, rows []map[string]any) []map[string]any {
		var keep []map[string]any
		for _, r := range rows {
			if lastDay(r["start_time"]) || lastDay(r["create_time"]) || lastDay(r["event_time"]) {
				continue
			}
			if table == "executions" && r["op_type"] == "Trainer" && running == 0 {
				running = r["execution_id"].(float64)
				r["state"], r["end_time"], r["cost"] = "running", nil, nil
			}
			keep = append(keep, r)
		}
		return keep
	}
	dir := copyExample(t, partial)
	e := storetest.Open(t)
	first := load(t, e, dir, engine.LoadOptions{})

	full := copyExample(t, func(_ string, rows []map[string]any) []map[string]any { return rows })
	storetest.CopyFiles(t, full, dir)
	res := load(t, e, dir, engine.LoadOptions{})
	if res.New || res.UpToDate || res.SourceID != first.SourceID || res.Executions == 0 || res.Updated.Executions != 1 || res.Removed.Rows() != 0 {
		t.Errorf("sync of the grown folder: %+v, want source %d with executions added and 1 updated (%v)", res, first.SourceID, running)
	}
	checkSameAsSingleLoad(t, e, dir)

	dropRows(t, dir, "executions", "execution_id", running)
	dropRows(t, dir, "events", "execution_id", running)
	res = load(t, e, dir, engine.LoadOptions{})
	if res.Removed.Executions != 1 || res.Removed.Events == 0 || res.Executions != 0 {
		t.Errorf("sync of the shrunk folder: %+v, want 1 execution and its events removed", res)
	}
	checkSameAsSingleLoad(t, e, dir)
	if res := load(t, e, dir, engine.LoadOptions{}); !res.UpToDate {
		t.Errorf("a third load of the same folder: %+v, want up to date", res)
	}
}

// checkSameAsSingleLoad compares the canonical and derived tables of e with those of a store
// that loaded dir once.
func checkSameAsSingleLoad(t *testing.T, e *engine.Engine, dir string) {
	t.Helper()
	once := storetest.Open(t)
	load(t, once, dir, engine.LoadOptions{})
	for _, tb := range tables {
		if diff := cmp.Diff(dump(t, once, tb), dump(t, e, tb)); diff != "" {
			t.Errorf("table %s differs from a single load (-once +synced):\n%s", tb, diff)
		}
	}
	for _, q := range []string{
		`SELECT * FROM graphlets ORDER BY graphlet_id`,
		`SELECT * FROM graphlet_features ORDER BY graphlet_id`,
		`SELECT * FROM graphlet_members ORDER BY ALL`,
		`SELECT * FROM pipeline_topology ORDER BY ALL`,
		`SELECT * FROM pipeline_activity ORDER BY ALL`,
	} {
		if diff := cmp.Diff(query(t, once, q), query(t, e, q)); diff != "" {
			t.Errorf("%s differs from a single load (-once +synced):\n%s", q, diff)
		}
	}
}

// dropRows removes the rows of a table's JSON lines whose column holds v.
func dropRows(t testing.TB, dir, table, column string, v any) {
	t.Helper()
	path := filepath.Join(dir, table+".jsonl")
	var keep []map[string]any
	for _, r := range readJSONL(t, path) {
		if r[column] != v {
			keep = append(keep, r)
		}
	}
	writeJSONL(t, path, keep)
}

func loadedExample(t testing.TB) *engine.Engine {
	e := storetest.Open(t)
	load(t, e, example, engine.LoadOptions{})
	return e
}

func TestExportLoadRoundTrip(t *testing.T) {
	src := loadedExample(t)
	for _, format := range []string{"parquet", "csv", "jsonl"} {
		for _, partition := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/partition=%v", format, partition), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "out")
				if err := src.Export(context.Background(), dir, format, partition); err != nil {
					t.Fatal(err)
				}
				dst := storetest.Open(t)
				load(t, dst, dir, engine.LoadOptions{})
				for _, tb := range tables {
					if diff := cmp.Diff(dump(t, src, tb), dump(t, dst, tb)); diff != "" {
						t.Errorf("table %s after export and load (-want +got):\n%s", tb, diff)
					}
				}
			})
		}
	}
}

func TestExportRefusesNonEmptyFolder(t *testing.T) {
	src := loadedExample(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := src.Export(context.Background(), dir, "csv", false); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("export into a non-empty folder: err = %v", err)
	}
}

// copyExample copies the example corpus byte for byte when edit is nil; otherwise it moves
// every id by 10000 (so that the copy loads beside the original) and lets edit change a
// table's rows.
func copyExample(t testing.TB, edit func(table string, rows []map[string]any) []map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	for _, tb := range tables {
		if edit == nil {
			b, err := os.ReadFile(filepath.Join(example, tb+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, tb+".jsonl"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		rows := readJSONL(t, filepath.Join(example, tb+".jsonl"))
		{
			for _, r := range rows {
				for _, k := range []string{"pipeline_id", "execution_id", "artifact_id"} {
					if v, ok := r[k].(float64); ok {
						r[k] = v + 10000
					}
				}
			}
			rows = edit(tb, rows)
		}
		writeJSONL(t, filepath.Join(dir, tb+".jsonl"), rows)
	}
	return dir
}

func readJSONL(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

func writeJSONL(t testing.TB, path string, rows []map[string]any) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exportAs writes the shifted example corpus in another format, for bad-input cases that
// need Parquet or CSV files.
func exportAs(t testing.TB, format string) string {
	t.Helper()
	e := storetest.Open(t)
	load(t, e, copyExample(t, func(_ string, rows []map[string]any) []map[string]any { return rows }), engine.LoadOptions{})
	dir := filepath.Join(t.TempDir(), format)
	if err := e.Export(context.Background(), dir, format, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	tests := []struct {
		name string
		dir  func(t testing.TB) string
		want []string // every piece must be in the error
	}{
		{"truncated parquet", func(t testing.TB) string {
			dir := exportAs(t, "parquet")
			p := filepath.Join(dir, "executions.parquet")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{"executions.parquet", "not a readable Parquet file"}},
		{"parquet value of the wrong type", func(t testing.TB) string {
			// Parquet is read where it lies: a column of another type is checked all the same.
			dir := exportAs(t, "parquet")
			p := filepath.Join(dir, "executions.parquet")
			e := storetest.Open(t)
			q := fmt.Sprintf(`COPY (SELECT * REPLACE (CASE WHEN execution_id = 10103 THEN 'soon' ELSE cost::VARCHAR END AS cost)
				FROM '%[1]s') TO '%[1]s.new' (FORMAT parquet)`, p)
			if _, err := e.DB().Exec(q); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(p+".new", p); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{"values of the wrong type", "executions.parquet", "execution_id 10103", `cost "soon" is not a double`}},
		{"csv missing a column", func(t testing.TB) string {
			dir := exportAs(t, "csv")
			p := filepath.Join(dir, "executions.csv")
			b, _ := os.ReadFile(p)
			var out []string
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				// state is the 7th column; no field before it holds a comma.
				f := strings.SplitN(line, ",", 8)
				out = append(out, strings.Join(append(f[:6:6], f[7]), ","))
			}
			if err := os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{"executions.csv", "missing column state"}},
		{"json line that is not json", func(t testing.TB) string {
			dir := copyExample(t, func(_ string, rows []map[string]any) []map[string]any { return rows })
			f, _ := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
			if _, err := f.WriteString(`{"execution_id": 10101, "artifact_id": ` + "\n"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			return dir
		}, []string{"events.jsonl", "not valid JSON"}},
		{"event pointing at a missing artifact", func(t testing.TB) string {
			return copyExample(t, func(tb string, rows []map[string]any) []map[string]any {
				if tb == "events" {
					rows = append(rows, map[string]any{"execution_id": 10101, "artifact_id": 99999, "direction": "in", "role": "examples"})
				}
				return rows
			})
		}, []string{"event names a missing artifact", "events.jsonl", "event 10101->99999", "artifact_id 99999"}},
		{"duplicate id", func(t testing.TB) string {
			return copyExample(t, func(tb string, rows []map[string]any) []map[string]any {
				if tb == "executions" {
					dup := map[string]any{}
					for k, v := range rows[3] {
						dup[k] = v
					}
					rows = append(rows, dup)
				}
				return rows
			})
		}, []string{"duplicate execution_id", "executions.jsonl", "execution_id 10104", "2 times"}},
		{"id already in the store", func(t testing.TB) string {
			return copyExample(t, func(tb string, rows []map[string]any) []map[string]any {
				if tb == "artifacts" {
					rows[0]["artifact_id"] = 1001.0
				}
				return rows
			})
		}, []string{"artifact_id already in the store", "artifact_id 1001"}},
		{"unknown state", func(t testing.TB) string {
			return copyExample(t, func(tb string, rows []map[string]any) []map[string]any {
				if tb == "executions" {
					rows[5]["state"] = "finished"
				}
				return rows
			})
		}, []string{"unknown state", "executions.jsonl", "execution_id 10106", `state "finished"`}},
		{"unparsable time", func(t testing.TB) string {
			return copyExample(t, func(tb string, rows []map[string]any) []map[string]any {
				if tb == "executions" {
					rows[2]["start_time"] = "yesterday"
				}
				return rows
			})
		}, []string{"executions.jsonl", "execution_id 10103", `start_time "yesterday" is not a timestamp`}},
		{"no executions", func(t testing.TB) string { return t.TempDir() }, []string{"no executions file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := loadedExample(t)
			before := snapshot(t, e)
			dir := tt.dir(t)
			_, err := e.Load(context.Background(), &native.Loader{}, dir, engine.LoadOptions{})
			if err == nil {
				t.Fatal("load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if diff := cmp.Diff(before, snapshot(t, e)); diff != "" {
				t.Errorf("a failed load changed the store (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	l := &native.Loader{}
	if !l.Detect(example) {
		t.Error("the example corpus is not detected as native")
	}
	if l.Detect(t.TempDir()) || l.Detect(filepath.Join(example, "events.jsonl")) {
		t.Error("an empty folder or a lone file is detected as native")
	}
}
