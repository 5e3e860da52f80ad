package openlineage

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/internal/storetest"
)

// A day's log each: run r-train starts on day 1 and completes on day 2, after a RUNNING
// event; the namespace ml holds every run.
const (
	day1Log = `{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r-ingest"},"job":{"namespace":"ml","name":"ingest"},"outputs":[{"namespace":"db","name":"sales"}]}
{"eventType":"COMPLETE","eventTime":"2024-05-01T10:05:00Z","run":{"runId":"r-ingest"},"job":{"namespace":"ml","name":"ingest"},"outputs":[{"namespace":"db","name":"sales"}]}
{"eventType":"START","eventTime":"2024-05-01T23:00:00Z","run":{"runId":"r-train"},"job":{"namespace":"ml","name":"train"},"inputs":[{"namespace":"db","name":"sales"}]}
`
	day2Log = `{"eventType":"RUNNING","eventTime":"2024-05-02T00:30:00Z","run":{"runId":"r-train"},"job":{"namespace":"ml","name":"train"}}
{"eventType":"COMPLETE","eventTime":"2024-05-02T01:00:00Z","run":{"runId":"r-train"},"job":{"namespace":"ml","name":"train"},"outputs":[{"namespace":"s3://models","name":"sales-model"}]}
{"eventType":"START","eventTime":"2024-05-02T02:00:00Z","run":{"runId":"r-eval"},"job":{"namespace":"ml","name":"evaluate"},"inputs":[{"namespace":"s3://models","name":"sales-model"}]}
{"eventType":"COMPLETE","eventTime":"2024-05-02T02:01:00Z","run":{"runId":"r-eval"},"job":{"namespace":"ml","name":"evaluate"}}
`
)

// dayLogs writes day1.jsonl and day2.jsonl into a new folder logs and returns the folder.
func dayLogs(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "logs")
	writeFiles(tb, dir, map[string]string{"day1.jsonl": day1Log, "day2.jsonl": day2Log})
	return dir
}

func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// trainStore opens a store in which job train is training, so that the derived tables hold
// graphlets.
func trainStore(tb testing.TB) *engine.Engine {
	tb.Helper()
	e := storetest.Open(tb)
	if _, err := e.DB().Exec(`INSERT INTO op_categories VALUES ('train', 'train'), ('etl_orders_7_days', 'train')`); err != nil {
		tb.Fatal(err)
	}
	return e
}

// loadAll loads each path in turn into e, failing tb on an error, and returns the last result.
func loadAll(tb testing.TB, e *engine.Engine, paths ...string) engine.LoadResult {
	tb.Helper()
	var res engine.LoadResult
	for _, p := range paths {
		var err error
		if _, res, err = load(tb, e, &Loader{}, p); err != nil {
			tb.Fatalf("load %s: %v", p, err)
		}
	}
	return res
}

// tables renders every canonical and derived table of e, with each id replaced by the
// natural key of what it names (a pipeline's name, a run's runId, a dataset's uri and attrs
// and the runs that wrote it), so that two stores that gave their ids in another order
// compare equal. Each table's rows are sorted.
func tables(tb testing.TB, e *engine.Engine) map[string][]string {
	tb.Helper()
	db := e.DB()
	names := map[string]string{}
	rows, err := db.Query(`SELECT pipeline_id::VARCHAR, 'pipeline ' || name FROM pipelines
		UNION ALL SELECT execution_id::VARCHAR, 'run ' || (attrs->>'openlineage_run_id') FROM executions
		UNION ALL SELECT a.artifact_id::VARCHAR, 'dataset ' || coalesce(a.uri, '') || ' ' || coalesce(a.attrs::VARCHAR, '') || coalesce(' written by ' ||
			(SELECT string_agg(x.attrs->>'openlineage_run_id', ', ' ORDER BY x.attrs->>'openlineage_run_id') FROM events v
			 JOIN executions x USING (execution_id) WHERE v.artifact_id = a.artifact_id AND v.direction = 'out'), '')
		FROM artifacts a`)
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			tb.Fatal(err)
		}
		names[id] = name
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	rows.Close()
	natural := func(v string) string {
		if n, ok := names[v]; ok {
			return n
		}
		return "unknown id " + v
	}
	var list []string
	for _, t := range engine.Tables {
		list = append(list, t.Name)
	}
	for _, v := range engine.Views() {
		list = append(list, v.Name)
	}
	out := map[string][]string{}
	for _, t := range list {
		// Ids are BIGINT columns named *_id (run_id and node_id are text).
		ids := map[string]bool{}
		rows, err := db.Query(`SELECT * FROM ` + t + ` LIMIT 0`)
		if err != nil {
			tb.Fatal(err)
		}
		types, err := rows.ColumnTypes()
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range types {
			ids[c.Name()] = c.DatabaseTypeName() == "BIGINT" && strings.HasSuffix(c.Name(), "_id") || c.Name() == "pipelines"
		}
		rows.Close()
		rows, err = db.Query(`SELECT COLUMNS(*)::VARCHAR FROM ` + t)
		if err != nil {
			tb.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			tb.Fatal(err)
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			var parts []string
			for i, v := range vals {
				c := cols[i]
				s := "NULL"
				switch {
				case c == "source_id" || !v.Valid:
				case ids[c] && c != "pipelines":
					s = natural(v.String)
				case c == "pipelines": // a list of pipeline ids
					var ns []string
					for _, id := range strings.Split(strings.Trim(v.String, "[]"), ", ") {
						ns = append(ns, natural(id))
					}
					sort.Strings(ns)
					s = "[" + strings.Join(ns, "; ") + "]"
				default:
					s = v.String
				}
				parts = append(parts, c+"="+s)
			}
			out[t] = append(out[t], strings.Join(parts, " | "))
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
		sort.Strings(out[t])
	}
	return out
}

// TestRunAcrossDays loads a run whose START is in one day's log and whose COMPLETE is in
// the next: it is one execution, complete, however the logs arrive.
func TestRunAcrossDays(t *testing.T) {
	dir := dayLogs(t)
	day1, day2 := filepath.Join(dir, "day1.jsonl"), filepath.Join(dir, "day2.jsonl")

	e := trainStore(t)
	loadAll(t, e, day1)
	res := loadAll(t, e, day2)
	if res.New || res.Replaced || res.UpToDate {
		t.Errorf("day 2: new %v, replaced %v, up to date %v: want a sync", res.New, res.Replaced, res.UpToDate)
	}
	if res.Executions != 1 || res.Updated.Executions != 1 || res.Removed.Executions != 0 {
		t.Errorf("day 2: +%d executions, %d updated, %d removed; want +1 (r-eval), 1 updated (r-train), 0 removed",
			res.Executions, res.Updated.Executions, res.Removed.Executions)
	}
	got := query(t, e, `SELECT attrs->>'openlineage_run_id', state, start_time, end_time, printf('%.0f', cost) FROM executions ORDER BY start_time`) +
		query(t, e, `SELECT (SELECT count(*) FROM pipelines), (SELECT string_agg(name, ',') FROM pipelines), (SELECT count(*) FROM sources), (SELECT count(*) FROM openlineage_events)`)
	want := `  r-ingest | complete | 2024-05-01T10:00:00Z | 2024-05-01T10:05:00Z | 300
  r-train | complete | 2024-05-01T23:00:00Z | 2024-05-02T01:00:00Z | 7200
  r-eval | complete | 2024-05-02T02:00:00Z | 2024-05-02T02:01:00Z | 60
  1 | ml | 1 | 7
`
	if got != want {
		t.Errorf("after day 1 then day 2:\n%swant:\n%s", got, want)
	}
	inOrder := tables(t, e)
	if len(inOrder["graphlets"]) != 1 {
		t.Errorf("graphlets: %q, want the one of r-train", inOrder["graphlets"])
	}

	// Loading day 2 again, or the folder holding both days, changes nothing.
	for _, p := range []string{day2, dir} {
		res := loadAll(t, e, p)
		if !res.UpToDate {
			t.Errorf("load %s again: +%v, updated %v, removed %v: want up to date", p, res.Counts, res.Updated, res.Removed)
		}
		if diff := cmp.Diff(inOrder, tables(t, e)); diff != "" {
			t.Errorf("load %s again changed the store (-before +after):\n%s", p, diff)
		}
	}
	if n := query(t, e, `SELECT count(*) FROM openlineage_events`); n != "  7\n" {
		t.Errorf("openlineage_events: %s rows, want 7", n)
	}

	// Day 2 before day 1, or both at once, give the same rows.
	for _, paths := range [][]string{{day2, day1}, {dir}} {
		other := trainStore(t)
		loadAll(t, other, paths...)
		if diff := cmp.Diff(inOrder, tables(t, other)); diff != "" {
			t.Errorf("load %v: not what day 1 then day 2 gave (-day 1, day 2 +%v):\n%s", paths, paths, diff)
		}
	}
}

// TestSameEventTwice loads a log, then a second file that repeats one of its events (written
// another way: keys reordered, spaces added) beside one new event: the repeated event counts once.
func TestSameEventTwice(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.jsonl": day1Log,
		"b.json": `[
  {"job": {"name": "train", "namespace": "ml"}, "run": {"runId": "r-train"}, "eventTime": "2024-05-01T23:00:00Z",
   "eventType": "START", "inputs": [{"name": "sales", "namespace": "db"}]},
  {"eventType":"COMPLETE","eventTime":"2024-05-02T01:00:00Z","run":{"runId":"r-train"},"job":{"namespace":"ml","name":"train"}}
]
`})
	e := storetest.Open(t)
	loadAll(t, e, filepath.Join(dir, "a.jsonl"))
	steps, res, err := load(t, e, &Loader{}, filepath.Join(dir, "b.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Executions != 0 || res.Updated.Executions != 1 || res.Events != 0 {
		t.Errorf("+%d executions, %d updated, +%d events; want +0, 1 updated (r-train completes), +0", res.Executions, res.Updated.Executions, res.Events)
	}
	got := query(t, e, `SELECT count(*), count(DISTINCT digest), string_agg(file || ':' || line, ' ' ORDER BY event_time, file) FROM openlineage_events`) +
		query(t, e, `SELECT attrs->>'openlineage_run_id', state FROM executions ORDER BY ALL`)
	want := "  4 | 4 | a.jsonl:1 a.jsonl:2 a.jsonl:3 b.json:4\n  r-ingest | complete\n  r-train | complete\n"
	if got != want {
		t.Errorf("store:\n%swant:\n%s", got, want)
	}
	if !strings.Contains(strings.Join(steps, "\n"), "read b.json: 2 events, 1 of them read before") {
		t.Errorf("steps do not say the repeated event was read before:\n%s", strings.Join(steps, "\n"))
	}
}

// splitFile cuts a log (a JSON array) into n files part01.json…, as JSON lines or, with
// oneLine, each as a JSON array on one line (so every event of a part is on line 1).
func splitFile(tb testing.TB, path string, n int, oneLine bool) []string {
	tb.Helper()
	recs := storetest.LogEvents(tb, path)
	dir := tb.TempDir()
	var paths []string
	for i := 0; i < n; i++ {
		var b bytes.Buffer
		sep := byte('\n')
		if oneLine {
			b.WriteByte('[')
			sep = ','
		}
		for j, r := range recs[i*len(recs)/n : (i+1)*len(recs)/n] {
			if j > 0 {
				b.WriteByte(sep)
			}
			b.Write(r)
		}
		if oneLine {
			b.WriteByte(']')
		}
		b.WriteByte('\n')
		p := filepath.Join(dir, fmt.Sprintf("part%02d.json", i+1))
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestMarquezInParts loads Marquez's demo seed cut into 2 (one JSON array on one line each),
// 3 and 10 files one after another, in order and in reverse: every table is what loading it
// whole gives.
func TestMarquezInParts(t *testing.T) {
	path := filepath.Join(storetest.SharedData(t), "openlineage", "marquez-food-delivery.json")
	whole := trainStore(t)
	loadAll(t, whole, path)
	want := tables(t, whole)
	if len(want["graphlets"]) == 0 {
		t.Fatal("the whole seed derives no graphlet: the comparison would miss the derived tables")
	}
	for _, n := range []int{2, 3, 10} {
		parts := splitFile(t, path, n, n == 2)
		reversed := append([]string(nil), parts...)
		sort.Sort(sort.Reverse(sort.StringSlice(reversed)))
		for _, order := range [][]string{parts, reversed} {
			e := trainStore(t)
			loadAll(t, e, order...)
			if diff := cmp.Diff(want, tables(t, e)); diff != "" {
				t.Errorf("%d parts loaded one by one (first %s): not what the whole log gave (-whole +parts):\n%s", n, filepath.Base(order[0]), diff)
			}
		}
	}
}

// TestBadEventInSecondFile loads a good log, then one with a bad event: the error names the
// second file and the line, and the store, its kept events included, is as it was.
func TestBadEventInSecondFile(t *testing.T) {
	dir := dayLogs(t)
	bad := strings.Replace(day2Log, `"eventTime":"2024-05-02T02:00:00Z"`, `"eventTime":"tomorrow"`, 1)
	writeFiles(t, dir, map[string]string{"day2.jsonl": bad})
	e := trainStore(t)
	loadAll(t, e, filepath.Join(dir, "day1.jsonl"))
	snapshot := func() string {
		return query(t, e, `SELECT source_id, digest, run_id, event_time, file, line, event FROM openlineage_events ORDER BY ALL`) +
			query(t, e, `SELECT * FROM sources`) + query(t, e, `SELECT * FROM source_keys ORDER BY ALL`) +
			query(t, e, `SELECT count(*) FROM loads`)
	}
	before, tablesBefore := snapshot(), tables(t, e)
	for _, p := range []string{filepath.Join(dir, "day2.jsonl"), dir} {
		_, _, err := load(t, e, &Loader{}, p)
		want := `day2.jsonl: line 3: run r-eval: eventTime "tomorrow" is not an ISO 8601 time`
		if p == dir {
			want = "logs/" + want
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("load %s: err = %v, want one containing %q", p, err, want)
		}
		if after := snapshot(); after != before {
			t.Errorf("load %s: a refused load changed the store:\n%s\nwas:\n%s", p, after, before)
		}
		if diff := cmp.Diff(tablesBefore, tables(t, e)); diff != "" {
			t.Errorf("load %s: a refused load changed the tables (-before +after):\n%s", p, diff)
		}
	}
}

// TestStoredEventErrorsNameTheirFile checks that an event kept from an earlier load that the
// builder refuses is reported with the file and line it was read from.
func TestStoredEventErrorsNameTheirFile(t *testing.T) {
	dir := dayLogs(t)
	e := storetest.Open(t)
	loadAll(t, e, filepath.Join(dir, "day1.jsonl"))
	// The store's copy goes bad, as a hand edit would leave it.
	if _, err := e.DB().Exec(`UPDATE openlineage_events SET event = replace(event, '"name":"sales"', '"name":""') WHERE line = 3`); err != nil {
		t.Fatal(err)
	}
	_, _, err := load(t, e, &Loader{}, filepath.Join(dir, "day2.jsonl"))
	if want := "day1.jsonl: line 3: run r-train: input 1: dataset name is missing"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want one containing %q", err, want)
	}
}

// TestReplaceKeepsOnlyTheInput checks that --replace drops the events of earlier loads: the
// source then holds what the input holds, and the run it only starts is running again, until
// a log the replace forgot is loaded again.
func TestReplaceKeepsOnlyTheInput(t *testing.T) {
	dir := dayLogs(t)
	e := storetest.Open(t)
	loadAll(t, e, filepath.Join(dir, "day1.jsonl"), filepath.Join(dir, "day2.jsonl"))
	_, res, err := storetest.Load(t, e, &Loader{}, filepath.Join(dir, "day1.jsonl"), engine.LoadOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Replaced {
		t.Error("not replaced")
	}
	got := query(t, e, `SELECT attrs->>'openlineage_run_id', state FROM executions ORDER BY ALL`) +
		query(t, e, `SELECT count(*), count(DISTINCT file) FROM openlineage_events`)
	if want := "  r-ingest | complete\n  r-train | running\n  3 | 1\n"; got != want {
		t.Errorf("after replace:\n%swant:\n%s", got, want)
	}
	// Day 2's events went with the replace: loading it again brings them back.
	res = loadAll(t, e, filepath.Join(dir, "day2.jsonl"))
	if res.UpToDate || res.Updated.Executions != 1 {
		t.Errorf("day 2 after the replace: up to date %v, %d updated; want r-train updated", res.UpToDate, res.Updated.Executions)
	}
	if got, want := query(t, e, `SELECT state FROM executions WHERE attrs->>'openlineage_run_id' = 'r-train'`), "  complete\n"; got != want {
		t.Errorf("r-train after day 2 again: %s, want %s", got, want)
	}
}
