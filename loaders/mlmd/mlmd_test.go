package mlmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	mlgolden "mlprov/internal/golden"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/internal/storetest"
	"mlprov/loaders/native"
)

// load loads path and returns the progress lines it printed.
func load(tb testing.TB, e *engine.Engine, l *Loader, path string) ([]string, error) {
	tb.Helper()
	steps, _, err := storetest.Load(tb, e, l, path, engine.LoadOptions{})
	return steps, err
}

// dump renders what a load put in the store, as the golden files hold it: warnings are the
// load's (LoadResult.Warnings), then those the loader printed as progress.
func dump(tb testing.TB, e *engine.Engine, warnings, steps []string) string {
	tb.Helper()
	var b strings.Builder
	section := func(title, q string) {
		fmt.Fprintf(&b, "%s:\n", title)
		b.WriteString(mlgolden.Rows(tb, e.DB(), q))
	}
	section("counts", `SELECT (SELECT count(*) FROM pipelines), (SELECT count(*) FROM executions),
		(SELECT count(*) FROM artifacts), (SELECT count(*) FROM events)`)
	section("pipelines", `SELECT pipeline_id, name, attrs::VARCHAR FROM pipelines ORDER BY pipeline_id`)
	section("executions", `SELECT execution_id, pipeline_id, run_id, node_id, op_type, category, state,
		strftime(start_time, '%d %H:%M'), strftime(end_time, '%d %H:%M'), printf('%.1f', cost), attrs::VARCHAR
		FROM executions ORDER BY execution_id`)
	section("artifacts", `SELECT artifact_id, pipeline_id, type, uri, span, version, state, attrs::VARCHAR
		FROM artifacts ORDER BY artifact_id`)
	section("events", `SELECT execution_id, direction, artifact_id, role FROM events ORDER BY execution_id, direction, artifact_id`)
	// Which training's model was pushed: a Model out of a train execution, read as "model"
	// by a complete deploy execution that wrote a PushedModel with pushed = 1.
	section("pushed", `SELECT DISTINCT t.execution_id, t.op_type, t.run_id, m.artifact_id, p.execution_id, pm.artifact_id
		FROM executions t
		JOIN events eo ON eo.execution_id = t.execution_id AND eo.direction = 'out'
		JOIN artifacts m ON m.artifact_id = eo.artifact_id AND m.type = 'Model'
		JOIN events ei ON ei.artifact_id = m.artifact_id AND ei.direction = 'in' AND ei.role = 'model'
		JOIN executions p ON p.execution_id = ei.execution_id AND p.category = 'deploy' AND p.state = 'complete'
		JOIN events po ON po.execution_id = p.execution_id AND po.direction = 'out'
		JOIN artifacts pm ON pm.artifact_id = po.artifact_id AND pm.type = 'PushedModel'
		WHERE t.category = 'train' AND (pm.attrs->>'pushed')::INT = 1
		ORDER BY ALL`)
	fmt.Fprintf(&b, "warnings:\n")
	for _, w := range warnings {
		fmt.Fprintf(&b, "  %s\n", w)
	}
	for _, s := range steps {
		if w, ok := strings.CutPrefix(s, "warning: "); ok {
			fmt.Fprintf(&b, "  %s\n", w)
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name    string
		version int
		fixture func(*Writer)
		rule    *regexp.Regexp
	}{
		{"tfx_ir_v10", 10, tfxIR, nil},
		{"tfx_legacy_v7", 7, tfxLegacy, nil},
		{"kubeflow_v10", 10, kubeflow, nil},
		{"kubeflow_v10_deploy_rule", 10, kubeflow, regexp.MustCompile(`^deploy`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := buildStore(t, c.version, c.fixture)
			e := storetest.Open(t)
			steps, res, err := storetest.Load(t, e, &Loader{}, path, engine.LoadOptions{DeployRule: c.rule})
			if err != nil {
				t.Fatal(err)
			}
			mlgolden.CheckCase(t, c.name, dump(t, e, res.Warnings, steps))
		})
	}
}

// TestSchemaVersions loads the same TFX pipeline written at every supported schema version:
// the columns each version lacks must not change what loads, beyond the values they hold.
func TestSchemaVersions(t *testing.T) {
	var want string
	for v := MinSchemaVersion; v <= MaxSchemaVersion; v++ {
		e := storetest.Open(t)
		if _, err := load(t, e, &Loader{}, buildStore(t, v, tfxIR)); err != nil {
			t.Fatalf("schema %d: %v", v, err)
		}
		var got string
		for _, q := range []string{
			`SELECT string_agg(concat_ws(' ', execution_id, op_type, state, run_id, node_id), '; ' ORDER BY execution_id) FROM executions`,
			`SELECT string_agg(concat_ws(' ', artifact_id, type, uri, span, version), '; ' ORDER BY artifact_id) FROM artifacts`,
			`SELECT string_agg(concat_ws(' ', execution_id, direction, artifact_id, role), '; ' ORDER BY execution_id, direction, artifact_id) FROM events`,
		} {
			var s string
			if err := e.DB().QueryRow(q).Scan(&s); err != nil {
				t.Fatal(err)
			}
			got += s + "\n"
		}
		if v == MinSchemaVersion {
			want = got
		} else if got != want {
			t.Errorf("schema %d loads differently from schema %d:\n%s\n%s", v, MinSchemaVersion, got, want)
		}
	}
}

// TestReadOnly checks that loading never writes the user's store: same bytes, same mtime,
// and no journal, WAL or shared-memory file beside it.
func TestReadOnly(t *testing.T) {
	path := buildStore(t, 10, tfxIR)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	// Make the file read-only too: a writer would fail loudly rather than pass unnoticed.
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	l := &Loader{}
	if !l.Detect(path) {
		t.Fatal("Detect: the store is not recognised")
	}
	e := storetest.Open(t)
	if _, err := load(t, e, l, path); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	fi2, _ := os.Stat(path)
	if !bytes.Equal(before, after) {
		t.Errorf("the store's bytes changed: sha256 %x -> %x", sha256.Sum256(before), sha256.Sum256(after))
	}
	if !fi.ModTime().Equal(fi2.ModTime()) {
		t.Errorf("the store's mtime changed: %v -> %v", fi.ModTime(), fi2.ModTime())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, en := range entries {
		if en.Name() != filepath.Base(path) {
			t.Errorf("loading left %s beside the store", en.Name())
		}
	}
}

// TestOddPath loads a store whose path holds the characters that an SQLite URI treats
// specially.
func TestOddPath(t *testing.T) {
	data, err := os.ReadFile(buildStore(t, 10, tfxIR))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "runs #1?", "meta 100%.sqlite")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if !(&Loader{}).Detect(path) {
		t.Fatal("Detect: not recognised")
	}
	if _, err := load(t, storetest.Open(t), &Loader{}, path); err != nil {
		t.Fatal(err)
	}
}

// TestSideBySide loads two stores into one: MLMD ids restart at 1 in each, so the second
// load's ids must be shifted past the first's, and a store loaded twice changes nothing.
func TestSideBySide(t *testing.T) {
	e := storetest.Open(t)
	ir, legacy := buildStore(t, 10, tfxIR), buildStore(t, 7, tfxLegacy)
	for _, p := range []string{ir, legacy} {
		if _, err := load(t, e, &Loader{}, p); err != nil {
			t.Fatal(err)
		}
	}
	var pipes, execs, minLegacy, maxIR int64
	err := e.DB().QueryRow(`SELECT (SELECT count(*) FROM pipelines), (SELECT count(*) FROM executions),
		(SELECT min(execution_id) FROM executions JOIN pipelines USING (pipeline_id) WHERE name = 'penguin'),
		(SELECT max(artifact_id) FROM artifacts JOIN pipelines USING (pipeline_id) WHERE name = 'taxi')`).Scan(&pipes, &execs, &minLegacy, &maxIR)
	if err != nil {
		t.Fatal(err)
	}
	if pipes != 2 || execs != 28 || minLegacy <= maxIR {
		t.Errorf("got %d pipelines, %d executions, penguin's first execution id %d (taxi's last artifact %d): want 2, 28 and ids past taxi's",
			pipes, execs, minLegacy, maxIR)
	}
	if _, res, err := storetest.Load(t, e, &Loader{}, ir, engine.LoadOptions{}); err != nil || !res.UpToDate || res.SourceID != 1 {
		t.Errorf("second load of the same store: %+v, %v; want source 1 up to date", res, err)
	}
}

// TestBadInput checks that each damaged store fails with one error naming the file and the
// record, and leaves the store exactly as it was.
func TestBadInput(t *testing.T) {
	good := buildStore(t, 10, tfxIR)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, b []byte) string {
		p := filepath.Join(t.TempDir(), "metadata.sqlite")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		make func(t *testing.T) string
		want []string // substrings of the error
	}{
		{"truncated", func(t *testing.T) string { return write(t, data[:len(data)/3]) },
			[]string{"metadata.sqlite: is an SQLite file but truncated or damaged: 46421 bytes is not a whole number of 4096-byte pages"}},
		{"first 64 KiB", func(t *testing.T) string { return write(t, data[:64<<10]) },
			[]string{"metadata.sqlite: is an SQLite file but truncated or damaged: 65536 bytes, but its header says 139264 (34 pages of 4096 bytes)"}},
		{"cut mid-page", func(t *testing.T) string { return write(t, data[:64<<10+1000]) },
			[]string{"metadata.sqlite: is an SQLite file but truncated or damaged: 66536 bytes is not a whole number of 4096-byte pages (the file was cut mid-page)"}},
		{"header only", func(t *testing.T) string { return write(t, data[:100]) },
			[]string{"metadata.sqlite: is an SQLite file but truncated or damaged: 100 bytes is not a whole number of 4096-byte pages"}},
		{"truncated header", func(t *testing.T) string { return write(t, data[:10]) },
			[]string{"metadata.sqlite: is an SQLite file but truncated or damaged: 10 bytes, shorter than the 100-byte SQLite header"}},
		{"empty", func(t *testing.T) string { return write(t, nil) },
			[]string{"metadata.sqlite: not an SQLite file: the file is empty (0 bytes)"}},
		{"overwritten pages", func(t *testing.T) string {
			b := slices.Clone(data)
			for i := 8 << 10; i < len(b); i++ {
				b[i] = 0xA5
			}
			return write(t, b)
		}, []string{"metadata.sqlite: is an SQLite file but truncated or damaged: "}},
		{"not sqlite", func(t *testing.T) string { return write(t, []byte("id,name\n1,x\n")) },
			[]string{"metadata.sqlite: not an SQLite file"}},
		{"not mlmd", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "metadata.sqlite")
			db, err := sql.Open("sqlite3", p)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE notes (id INTEGER, body TEXT); INSERT INTO notes VALUES (1, 'x')"); err != nil {
				t.Fatal(err)
			}
			return p
		}, []string{"metadata.sqlite: not an MLMD store (no MLMDEnv table)"}},
		{"schema 11", func(t *testing.T) string {
			return buildStore(t, 10, func(w *Writer) { tfxIR(w); w.Exec("UPDATE MLMDEnv SET schema_version = 11") })
		}, []string{"metadata.sqlite: MLMDEnv: unsupported MLMD schema version 11 (mlprov reads 6 to 10; a newer MLMD wrote this store)"}},
		{"schema 5", func(t *testing.T) string {
			return buildStore(t, 10, func(w *Writer) { tfxIR(w); w.Exec("UPDATE MLMDEnv SET schema_version = 5") })
		}, []string{"unsupported MLMD schema version 5 (mlprov reads 6 to 10; open the store once with a newer MLMD, which upgrades it)"}},
		{"dangling artifact", func(t *testing.T) string {
			return buildStore(t, 10, func(w *Writer) {
				tfxIR(w)
				w.Exec("INSERT INTO Event (id, artifact_id, execution_id, type) VALUES (900, 999, 1, 3)")
			})
		}, []string{"metadata.sqlite: Event 900: artifact_id 999 is not in Artifact"}},
		{"dangling execution", func(t *testing.T) string {
			return buildStore(t, 10, func(w *Writer) {
				tfxIR(w)
				w.Exec("INSERT INTO Event (id, artifact_id, execution_id, type) VALUES (901, 1, 777, 4)")
			})
		}, []string{"metadata.sqlite: Event 901: execution_id 777 is not in Execution"}},
		{"broken struct base64", func(t *testing.T) string {
			return buildStore(t, 10, func(w *Writer) {
				tfxIR(w)
				w.Artifact(w.Type("Schema", "artifact", ""), "gs://x", ArtLive, t0, Prop{"bad", true, RawString("mlmd-struct::not base64!")})
			})
		}, []string{`metadata.sqlite: ArtifactProperty (artifact_id 20, "bad"): mlmd-struct value is not valid base64`}},
		{"broken proto base64", func(t *testing.T) string {
			return buildStore(t, 10, func(w *Writer) {
				tfxIR(w)
				w.Execution(w.Type("tfx.components.trainer.component.Trainer", "execution", ""), ExecComplete, t0, t0,
					Prop{"cfg", true, RawProto("%%%")})
			})
		}, []string{`metadata.sqlite: ExecutionProperty (execution_id 21, "cfg"): proto_value is not valid base64`}},
		{"unknown state", func(t *testing.T) string {
			return buildStore(t, 10, func(w *Writer) { tfxIR(w); w.Exec("UPDATE Execution SET last_known_state = 9 WHERE id = 4") })
		}, []string{"metadata.sqlite: Execution 4: last_known_state 9 is not an MLMD state"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := storetest.Open(t)
			// A store that already holds a source: a failed load must leave it as it was.
			if _, err := load(t, e, &Loader{}, buildStore(t, 7, tfxLegacy)); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, e)
			_, err := load(t, e, &Loader{}, c.make(t))
			if err == nil {
				t.Fatal("load succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			t.Logf("%s", err)
			if strings.Count(err.Error(), "metadata.sqlite: ") < 1 {
				t.Errorf("error %q does not name the file", err)
			}
			if after := snapshot(t, e); after != before {
				t.Errorf("store changed by a failed load: %s -> %s", before, after)
			}
		})
	}
}

func snapshot(tb testing.TB, e *engine.Engine) string {
	tb.Helper()
	var s string
	err := e.DB().QueryRow(`SELECT (SELECT count(*) FROM sources) || ' ' || (SELECT count(*) FROM pipelines) || ' ' ||
		(SELECT count(*) FROM executions) || ' ' || (SELECT count(*) FROM artifacts) || ' ' || (SELECT count(*) FROM events)`).Scan(&s)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestWriteCorpus writes canonical rows as an MLMD store and loads them back: every column
// survives the round trip, cost and size included.
func TestWriteCorpus(t *testing.T) {
	src := storetest.Open(t)
	example := filepath.Join("..", "..", "testdata", "example")
	if _, err := src.Load(context.Background(), &native.Loader{}, example, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCorpus(context.Background(), src.DB())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "corpus.sqlite")
	if err := WriteCorpus(context.Background(), path, c); err != nil {
		t.Fatal(err)
	}
	dst := storetest.Open(t)
	if _, err := load(t, dst, &Loader{}, path); err != nil {
		t.Fatal(err)
	}
	q := func(e *engine.Engine, query string) []string {
		rows, err := e.DB().Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	// attrs come back with keys sorted, with the MLMD ids and type names the loader adds, and
	// with span and version (TFX properties, compared as columns): compare the rest by key.
	attrsKV := func(table string) string {
		return `(SELECT coalesce(string_agg(k || '=' || (` + table + `.attrs->>k), ',' ORDER BY k), '')
			FROM unnest(json_keys(` + table + `.attrs)) AS t(k) WHERE k NOT IN ('mlmd_id', 'mlmd_type', 'span', 'version'))`
	}
	for _, query := range []string{
		`SELECT concat_ws(' ', p.name, run_id, node_id, op_type, category, state, start_time, end_time, cost, ` + attrsKV("executions") + `) FROM executions JOIN pipelines p USING (pipeline_id) ORDER BY ALL`,
		`SELECT concat_ws(' ', p.name, type, uri, span, version, state, create_time, size_bytes, ` + attrsKV("artifacts") + `) FROM artifacts JOIN pipelines p USING (pipeline_id) ORDER BY ALL`,
		`SELECT concat_ws(' ', x.node_id, x.run_id, direction, a.uri, role, event_time) FROM events JOIN executions x USING (execution_id) JOIN artifacts a USING (artifact_id) ORDER BY ALL`,
	} {
		want, got := q(src, query), q(dst, query)
		if len(want) == 0 {
			t.Fatalf("no rows: %s", query)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip differs (-native +mlmd):\n%s", diff)
		}
	}
	if !slices.Equal(q(src, `SELECT count(*)::VARCHAR FROM events`), q(dst, `SELECT count(*)::VARCHAR FROM events`)) {
		t.Error("event counts differ")
	}
}

// TestEventPathWithoutIndex loads a store whose EventPath lost MLMD's index on event_id: the
// roles must come out the same as through the index.
func TestEventPathWithoutIndex(t *testing.T) {
	events := func(path string) string {
		e := storetest.Open(t)
		if _, err := load(t, e, &Loader{}, path); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := e.DB().QueryRow(`SELECT string_agg(concat_ws(' ', execution_id, direction, artifact_id, role), '; ' ORDER BY execution_id, direction, artifact_id) FROM events`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := events(buildStore(t, 10, tfxIR))
	got := events(buildStore(t, 10, func(w *Writer) { tfxIR(w); w.Exec("DROP INDEX `idx_eventpath_event_id`") }))
	if got != want || !strings.Contains(want, "base_model") {
		t.Errorf("without the index:\n%s\nwith it:\n%s", got, want)
	}
}

// TestDetectDamaged checks that auto-detection claims every file that is or was meant to be
// an SQLite store, so that Stage says what is wrong with it instead of the registry saying
// "format not recognised"; and that it leaves other files alone.
func TestDetectDamaged(t *testing.T) {
	data, err := os.ReadFile(buildStore(t, 10, tfxIR))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"metadata.sqlite", data[:64<<10], true},
		{"cut.db", data[:64<<10+1000], true},
		{"header.sqlite", data[:100], true},
		{"short.sqlite", data[:10], true},
		{"empty.sqlite", nil, true},
		{"empty.json", nil, false},
		{"events.jsonl", []byte(`{"eventType":"START"}`), false},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := (&Loader{}).Detect(p); got != c.want {
			t.Errorf("Detect(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}

// walStore builds the tfxIR store, switches it to WAL mode and commits one more execution,
// a Trainer of pipeline "late", through a connection it keeps open, so that the transaction
// stays in metadata.sqlite-wal (not checkpointed). Callers must call the returned close.
func walStore(tb testing.TB) (path string, closeWriter func()) {
	tb.Helper()
	path = buildStore(tb, 10, tfxIR)
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"PRAGMA journal_mode = WAL",
		"PRAGMA wal_autocheckpoint = 0",
		"INSERT INTO Context (id, type_id, name) SELECT 900, id, 'late' FROM Type WHERE name = 'pipeline'",
		"INSERT INTO Execution (id, type_id, last_known_state, create_time_since_epoch, last_update_time_since_epoch) SELECT 900, id, 3, 1, 2 FROM Type WHERE name = 'tfx.components.trainer.component.Trainer'",
		"INSERT INTO Association (context_id, execution_id) VALUES (900, 900)",
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			tb.Fatalf("%s: %v", q, err)
		}
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		db.Close()
		tb.Fatalf("no WAL beside the store: %v", err)
	}
	return path, func() { db.Close() }
}

// folderState records the name, size, mtime and digest of every file in dir.
func folderState(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, en := range entries {
		p := filepath.Join(dir, en.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[en.Name()] = fmt.Sprintf("%d bytes, mtime %s, sha256 %x", fi.Size(), fi.ModTime().Format(time.RFC3339Nano), sha256.Sum256(b))
	}
	return out
}

// TestWAL loads a WAL-mode store whose last transaction is only in its WAL: the load must see
// it, and leave every file in the folder (store, WAL, shared memory) as it was.
func TestWAL(t *testing.T) {
	path, closeWriter := walStore(t)
	defer closeWriter()
	before := folderState(t, filepath.Dir(path))
	e := storetest.Open(t)
	l := &Loader{}
	if !l.Detect(path) {
		t.Fatal("Detect: the store is not recognised")
	}
	if _, err := load(t, e, l, path); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.DB().QueryRow(`SELECT count(*) FROM executions JOIN pipelines USING (pipeline_id) WHERE name = 'late' AND state = 'complete'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the execution committed to the WAL loaded %d times, want once", n)
	}
	if diff := cmp.Diff(before, folderState(t, filepath.Dir(path))); diff != "" {
		t.Errorf("loading changed the store's folder (-before +after):\n%s", diff)
	}
}

// TestReadOnlyFolder loads stores from a folder nobody may write to, with and without a WAL:
// SQLite must not need to create a lock, journal or shared-memory file beside them.
func TestReadOnlyFolder(t *testing.T) {
	walPath, closeWriter := walStore(t)
	closeWriter() // the last connection checkpoints and removes the WAL
	for _, c := range []struct {
		name string
		make func(t *testing.T) string
	}{
		{"plain", func(t *testing.T) string { return buildStore(t, 10, tfxIR) }},
		{"wal mode, checkpointed", func(t *testing.T) string { return walPath }},
		{"wal", func(t *testing.T) string {
			p, closeWriter := walStore(t)
			t.Cleanup(closeWriter)
			return p
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := c.make(t)
			dir := filepath.Dir(path)
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, 0o755) }) // so that TempDir can remove it
			before := folderState(t, dir)
			if _, err := load(t, storetest.Open(t), &Loader{}, path); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, folderState(t, dir)); diff != "" {
				t.Errorf("loading changed the store's folder (-before +after):\n%s", diff)
			}
		})
	}
}

// notebook is a store that TFX's InteractiveContext (legacy orchestration) leaves: each
// component call registers its execution (state property "new", last_known_state RUNNING)
// and its output artifacts (state PENDING, or unset) with their OUTPUT events before it
// runs, and marks the outputs LIVE and itself complete only when it publishes. late moves
// the last Transform that many minutes after the store's other activity.
func notebook(late int) func(w *Writer) {
	return func(w *Writer) {
		pipe := w.Context("pipeline", "penguin", t0)
		legacy := "tfx.components."
		call := func(component, state string, code, day, minute, minutes int) int64 {
			x := w.Execution(w.Type(legacy+strings.ToLower(component)+".component."+component, "execution", ""), code,
				at(day, minute), at(day, minute+minutes),
				Prop{"state", false, state}, Prop{"component_id", false, component}, Prop{"pipeline_name", false, "penguin"})
			w.Associate(pipe, x)
			return x
		}
		output := func(x int64, typ string, state, day, minute int, props ...Prop) int64 {
			a := w.Artifact(w.Type(typ, "artifact", ""), fmt.Sprintf("/nb/%s/%d", typ, x), state, at(day, minute), props...)
			w.Attribute(pipe, a)
			w.Event(x, a, EventOutput, at(day, minute), strings.ToLower(typ), 0)
			return a
		}
		// Day 0: ExampleGen runs; a Trainer registers its model and the kernel dies.
		x := call("ImportExampleGen", "complete", ExecComplete, 0, 0, 2)
		ex := output(x, "Examples", ArtLive, 0, 2)
		x = call("Trainer", "new", ExecRunning, 0, 10, 0) // abandoned: the store went on for days
		w.Event(x, ex, EventInput, at(0, 10), "examples", 0)
		output(x, "Model", ArtPending, 0, 10)
		// Day 3: a Trainer whose model's state was never set dies, and its retry completes.
		x = call("Trainer", "new", ExecRunning, 3, 0, 0) // abandoned: a later Trainer completed
		output(x, "Model", ArtUnknown, 3, 0)
		x = call("Trainer", "complete", ExecComplete, 3, 5, 20)
		output(x, "Model", ArtLive, 3, 25)
		// A Pusher still running that published its output, through the legacy state property
		// only: running.
		x = call("Pusher", "running", -1, 3, 26, 1)
		w.Exec("UPDATE Artifact SET state = NULL WHERE id = ?", output(x, "PushedModel", ArtPending, 3, 27, Prop{"state", true, "published"}))
		// The last Transform registered its output and is still running.
		x = call("Transform", "new", ExecRunning, 3, 30+late, 0)
		output(x, "TransformGraph", ArtPending, 3, 30+late)
		call("StatisticsGen", "complete", ExecComplete, 3, 40, 1)
	}
}

// TestAbandonedRuns checks the rule for unfinished executions (see the package doc), and that
// loading the grown store again syncs it: what the first snapshot could not tell is
// corrected in place, nothing is counted twice, and a third load finds it up to date.
func TestAbandonedRuns(t *testing.T) {
	states := func(e *engine.Engine) string {
		var s string
		if err := e.DB().QueryRow(`SELECT string_agg(op_type || ' ' || state || ' ' || coalesce(strftime(end_time, '%d %H:%M'), '-'), '; ' ORDER BY execution_id) || ' / ' ||
			(SELECT string_agg(type || ' ' || coalesce(state, 'NULL'), '; ' ORDER BY artifact_id) FROM artifacts) || ' / ' ||
			(SELECT count(*) FROM sources) FROM executions`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name string
		late int // minutes
		want string
	}{
		{"recent", 0, "ImportExampleGen complete 01 00:02; Trainer failed 01 00:10; Trainer failed 04 00:00; Trainer complete 04 00:25; " +
			"Pusher running -; Transform running -; StatisticsGen complete 04 00:41 / " +
			"Examples live; Model pending; Model unknown; Model live; PushedModel live; TransformGraph pending / 1"},
		// The store's last write (StatisticsGen, minute 41 of day 3) is a day or more after
		// the Transform's: it was abandoned.
		{"a day idle", -24*60 + 11, "ImportExampleGen complete 01 00:02; Trainer failed 01 00:10; Trainer failed 04 00:00; Trainer complete 04 00:25; " +
			"Pusher running -; Transform failed 03 00:41; StatisticsGen complete 04 00:41 / " +
			"Examples live; Model pending; Model unknown; Model live; PushedModel live; TransformGraph pending / 1"},
		{"just under a day idle", -24*60 + 12, "ImportExampleGen complete 01 00:02; Trainer failed 01 00:10; Trainer failed 04 00:00; Trainer complete 04 00:25; " +
			"Pusher running -; Transform running -; StatisticsGen complete 04 00:41 / " +
			"Examples live; Model pending; Model unknown; Model live; PushedModel live; TransformGraph pending / 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := storetest.Open(t)
			if _, err := load(t, e, &Loader{}, buildStore(t, 7, notebook(c.late))); err != nil {
				t.Fatal(err)
			}
			if got := states(e); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}

	t.Run("grown store reloaded", func(t *testing.T) {
		path := buildStore(t, 7, notebook(0))
		e := storetest.Open(t)
		if _, err := load(t, e, &Loader{}, path); err != nil {
			t.Fatal(err)
		}
		// The notebook goes on: the Transform publishes its graph.
		db, err := sql.Open("sqlite3", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`UPDATE Artifact SET state = 2, last_update_time_since_epoch = last_update_time_since_epoch + 600000 WHERE uri LIKE '/nb/TransformGraph/%'`,
			`UPDATE ExecutionProperty SET string_value = 'complete' WHERE name = 'state' AND execution_id = (SELECT max(id) - 1 FROM Execution)`,
			`UPDATE Execution SET last_known_state = 3, last_update_time_since_epoch = last_update_time_since_epoch + 600000 WHERE id = (SELECT max(id) - 1 FROM Execution)`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.Close()
		res, err := e.Load(context.Background(), &Loader{}, path, engine.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := "ImportExampleGen complete 01 00:02; Trainer failed 01 00:10; Trainer failed 04 00:00; Trainer complete 04 00:25; " +
			"Pusher running -; Transform complete 04 00:40; StatisticsGen complete 04 00:41 / " +
			"Examples live; Model pending; Model unknown; Model live; PushedModel live; TransformGraph live / 1"
		if got := states(e); res.New || res.Updated.Executions != 1 || res.Updated.Artifacts != 1 || res.Rows() != 0 || got != want {
			t.Errorf("sync: %+v\ngot  %s\nwant %s", res, got, want)
		}
		if res, err := e.Load(context.Background(), &Loader{}, path, engine.LoadOptions{}); err != nil || !res.UpToDate {
			t.Errorf("a third load: %+v, %v; want up to date", res, err)
		}
	})
}

// TestWriteCorpusRepeatedNames writes a corpus holding two pipelines named p (as two sources
// give) that share a run id and node ids, each with attrs of its own: the store must be
// written, the same way twice, and load back as two pipelines p with their attrs, runs and
// nodes.
func TestWriteCorpusRepeatedNames(t *testing.T) {
	c := &Corpus{}
	for i, team := range []string{"a", "b"} {
		pid := int64(100 * (i + 1))
		c.Pipelines = append(c.Pipelines, engine.Pipeline{ID: pid, Name: "p", Attrs: `{"team": "` + team + `", "owners": ["x", "y"], "tier": 2}`})
		c.Executions = append(c.Executions, engine.Execution{ID: pid + 1, PipelineID: pid, RunID: "r1", NodeID: "train", OpType: "Trainer",
			Category: "train", State: "complete", Start: at(i, 0), End: at(i, 5), Cost: sql.NullFloat64{Float64: 300, Valid: true}})
		c.Artifacts = append(c.Artifacts, engine.Artifact{ID: pid + 2, PipelineID: pid, Type: "Model", URI: "gs://" + team, State: "live", Created: at(i, 5)})
		c.Events = append(c.Events, engine.Event{ExecutionID: pid + 1, ArtifactID: pid + 2, Direction: "out", Role: "model", Time: at(i, 5)})
	}
	dir := t.TempDir()
	var dumps []string
	for _, name := range []string{"one.sqlite", "two.sqlite"} {
		path := filepath.Join(dir, name)
		if err := WriteCorpus(context.Background(), path, c); err != nil {
			t.Fatal(err)
		}
		e := storetest.Open(t)
		if _, err := load(t, e, &Loader{}, path); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := e.DB().QueryRow(`SELECT string_agg(concat_ws(' ', p.name, p.attrs->>'team', p.attrs->'owners', p.attrs->>'tier', x.run_id, x.node_id, a.uri),
			'; ' ORDER BY a.uri) FROM pipelines p JOIN executions x USING (pipeline_id) JOIN events e USING (execution_id) JOIN artifacts a USING (artifact_id)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		dumps = append(dumps, s)
	}
	want := `p a ["x","y"] 2 r1 train gs://a; p b ["x","y"] 2 r1 train gs://b`
	if dumps[0] != want {
		t.Errorf("loaded back:\n got %s\nwant %s", dumps[0], want)
	}
	one, _ := os.ReadFile(filepath.Join(dir, "one.sqlite"))
	two, _ := os.ReadFile(filepath.Join(dir, "two.sqlite"))
	if !bytes.Equal(one, two) {
		t.Error("writing the same corpus twice gave different stores")
	}
}
