package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mlprov/engine"
	"mlprov/loaders/openlineage"
)

// loadedServer serves a store loaded with Marquez's demo seed.
func loadedServer(t *testing.T, opts Options) (*engine.Engine, *Server, string) {
	t.Helper()
	path, _ := seed(t)
	e := trainStore(t)
	if _, err := e.Load(context.Background(), &openlineage.Loader{}, path, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	s, hs := start(t, e, opts)
	return e, s, hs.URL
}

func getJSON(t *testing.T, base, path string, status int, v any) string {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("GET %s: no JSON: %v", path, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d %s; want %d", path, resp.StatusCode, raw, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, raw)
		}
	}
	return string(raw)
}

func TestReads(t *testing.T) {
	e, _, base := loadedServer(t, Options{})
	var pipes []map[string]any
	getJSON(t, base, "/api/v1/pipelines", 200, &pipes)
	if len(pipes) != 1 || pipes[0]["name"] != "food_delivery" || pipes[0]["graphlets"] != 1.0 {
		t.Fatalf("pipelines: %v; want food_delivery with 1 graphlet", pipes)
	}
	id := int64(pipes[0]["pipeline_id"].(float64))
	var one struct {
		Pipeline  map[string]any   `json:"pipeline"`
		Graphlets []map[string]any `json:"graphlets"`
	}
	getJSON(t, base, fmt.Sprintf("/api/v1/pipelines/%d", id), 200, &one)
	if one.Pipeline["name"] != "food_delivery" || len(one.Graphlets) != 1 {
		t.Fatalf("pipeline %d: %+v", id, one)
	}
	getJSON(t, base, "/api/v1/pipelines/424242", 404, nil)
	getJSON(t, base, "/api/v1/pipelines/x", 400, nil)

	gid := int64(one.Graphlets[0]["graphlet_id"].(float64))
	g, err := e.Graphlet(context.Background(), gid)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(g, "", "  ")
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/graphlets/%d", base, gid))
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = fmt.Fprint(&body, readAll(t, resp))
	if body.String() != string(want)+"\n" {
		t.Errorf("graphlet %d:\n%s\nwant what mlprov graphlet --format json prints:\n%s", gid, body.String(), want)
	}
	getJSON(t, base, "/api/v1/graphlets/1", 404, nil)

	var l struct {
		Nodes []engine.LineageNode `json:"nodes"`
		Edges []engine.LineageEdge `json:"edges"`
	}
	getJSON(t, base, fmt.Sprintf("/api/v1/lineage?node=e:%d&depth=1", gid), 200, &l)
	if len(l.Nodes) < 2 || len(l.Edges) == 0 || l.Nodes[0].Hops > 1 {
		t.Errorf("lineage of e:%d at depth 1: %+v", gid, l)
	}
	for _, n := range l.Nodes {
		if n.Hops > 1 {
			t.Errorf("lineage at depth 1 reached %s at %d hops", n.Ref(), n.Hops)
		}
	}
	getJSON(t, base, "/api/v1/lineage?node=e:1", 404, nil)
	getJSON(t, base, "/api/v1/lineage?node=x:1", 400, nil)
	getJSON(t, base, "/api/v1/lineage?node=e:1&depth=-1", 400, nil)
	getJSON(t, base, "/api/v1/lineage", 400, nil)

	var as []map[string]string
	getJSON(t, base, "/api/v1/analyses", 200, &as)
	all, _ := engine.Analyses()
	if len(as) != len(all) || as[0]["name"] != all[0].Name {
		t.Errorf("analyses: %d listed, want %d", len(as), len(all))
	}
	var rows []map[string]any
	getJSON(t, base, "/api/v1/analyses/graphlets_per_pipeline", 200, &rows)
	if len(rows) == 0 {
		t.Errorf("analysis graphlets_per_pipeline: no rows")
	}
	getJSON(t, base, "/api/v1/analyses/nope", 404, nil)
	getJSON(t, base, "/api/v1/nope", 404, nil)

	var h struct{ Status string }
	getJSON(t, base, "/api/v1/health", 200, &h)
	if h.Status != "ok" {
		t.Errorf("health: %+v", h)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// TestQuery: a read answers its rows as JSON objects; anything that writes, reaches a file
// or the network, or changes a setting is refused, and the store is unchanged.
func TestQuery(t *testing.T) {
	e, _, base := loadedServer(t, Options{QueryRows: 5})
	q := func(sql string) string { return "/api/v1/query?sql=" + url.QueryEscape(sql) }
	var rows []map[string]any
	getJSON(t, base, q(`SELECT name, count(*) AS n FROM pipelines GROUP BY name`), 200, &rows)
	if len(rows) != 1 || rows[0]["name"] != "food_delivery" || rows[0]["n"] != 1.0 {
		t.Errorf("rows: %v", rows)
	}
	resp, err := http.Get(base + q(`SELECT * FROM range(100)`))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(readAll(t, resp)), &rows); err != nil || len(rows) != 5 || resp.Header.Get("X-Mlprov-Rows-Cut") != "5" {
		t.Errorf("100 rows with a limit of 5: %d rows, X-Mlprov-Rows-Cut %q, %v", len(rows), resp.Header.Get("X-Mlprov-Rows-Cut"), err)
	}
	before := count(t, e, `SELECT count(*) FROM executions`)
	for _, c := range []struct{ sql, want string }{
		{`SELECT * FROM read_csv('/etc/passwd')`, "disabled by configuration"},
		{`SELECT * FROM read_text('/etc/passwd')`, "disabled by configuration"},
		{`SELECT * FROM '/etc/passwd'`, ""},
		{`SELECT * FROM glob('/etc/*')`, "disabled by configuration"},
		{`SELECT * FROM read_json('https://example.com/x.json')`, ""},
		{`COPY executions TO '/tmp/mlprov-serve-test.csv'`, ""},
		{`COPY (SELECT 1) TO '/tmp/mlprov-serve-test.csv'`, ""},
		{`EXPORT DATABASE '/tmp/mlprov-serve-test'`, ""},
		{`ATTACH '/tmp/mlprov-serve-test.duckdb' AS other`, ""},
		{`ATTACH ':memory:' AS other`, "not ATTACH"},
		{`DETACH mlprov`, "not DETACH"},
		{`INSTALL httpfs`, "not INSTALL or LOAD"},
		{`LOAD httpfs`, "not INSTALL or LOAD"},
		{`CREATE TABLE x AS SELECT 1`, "not CREATE"},
		{`CREATE TEMP TABLE x AS SELECT 1`, "not CREATE"},
		{`INSERT INTO pipelines VALUES (1, 'x', 1, NULL)`, "not INSERT"},
		{`DELETE FROM executions`, "not DELETE"},
		{`UPDATE executions SET cost = 0`, "not UPDATE"},
		{`DROP TABLE executions`, "not DROP"},
		{`SET enable_external_access = true`, "not SET"},
		{`SET lock_configuration = false`, "not SET"},
		{`RESET lock_configuration`, ""},
		{`PRAGMA enable_profiling`, ""},
		{`CALL pragma_version()`, "not CALL"},
		{`CHECKPOINT`, ""},
		{`BEGIN TRANSACTION`, "not a transaction"},
		{`SELECT 1; DELETE FROM executions`, "holds 2 statements"},
		{`DELETE FROM executions; SELECT 1`, "holds 2 statements"},
		{`SELECT 1; SELECT 2`, "holds 2 statements"},
		{`SELECT * FROM query('DELETE FROM executions')`, ""},
		{`SELECT nope FROM executions`, "nope"},
	} {
		var msg struct{ Error string }
		raw := getJSON(t, base, q(c.sql), 400, &msg)
		t.Logf("%s: %s", c.sql, strings.TrimSpace(raw))
		if !strings.Contains(msg.Error, c.want) {
			t.Errorf("%s: %s; want an error saying %q", c.sql, raw, c.want)
		}
	}
	if after := count(t, e, `SELECT count(*) FROM executions`); after != before {
		t.Errorf("executions: %d before the refused queries, %d after", before, after)
	}
	var settings []map[string]any
	getJSON(t, base, q(`SELECT value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration') ORDER BY name`), 200, &settings)
	if fmt.Sprint(settings) != "[map[value:false] map[value:true]]" {
		t.Errorf("settings after the refused queries: %v", settings)
	}
}

// TestQueryTimeout: a query that runs past the limit is interrupted with 503.
func TestQueryTimeout(t *testing.T) {
	_, _, base := loadedServer(t, Options{QueryTimeout: 200 * time.Millisecond})
	began := time.Now()
	var msg struct{ Error string }
	getJSON(t, base, "/api/v1/query?sql="+url.QueryEscape(`SELECT count(*) FROM range(1000000000000) a`), 503, &msg)
	if !strings.Contains(msg.Error, "ran out of time") || time.Since(began) > 10*time.Second {
		t.Errorf("after %s: %s", time.Since(began), msg.Error)
	}
	var rows []map[string]any
	getJSON(t, base, "/api/v1/query?sql="+url.QueryEscape(`SELECT 1 AS one`), 200, &rows)
	if len(rows) != 1 {
		t.Errorf("the query after the interrupted one: %v", rows)
	}
}
