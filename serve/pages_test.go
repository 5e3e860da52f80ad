package serve

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"mlprov/internal/storetest"
)

// pageServer serves the generated store through httptest.
func pageServer(t *testing.T) (*httptest.Server, int64, int64) {
	t.Helper()
	e, s := generatedServer(t)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	evil := count(t, e, "SELECT min(pipeline_id) FROM pipelines")
	// The graphlet with the most members, to draw a real graph.
	g := count(t, e, "SELECT graphlet_id FROM graphlets ORDER BY n_executions + n_artifacts DESC, graphlet_id LIMIT 1")
	return hs, evil, g
}

func wantPage(t *testing.T, hs *httptest.Server, path string, status int, wants ...string) string {
	t.Helper()
	resp, err := hs.Client().Get(hs.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d; want %d\n%s", path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
	}
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("GET %s: the page lacks %q", path, w)
		}
	}
	// The pipeline named <script>... is shown, never run.
	if strings.Contains(body, evilName) {
		t.Errorf("GET %s: the pipeline's name is in the page unescaped", path)
	}
	return body
}

func TestPages(t *testing.T) {
	hs, evil, g := pageServer(t)
	escaped := html.EscapeString(evilName) // &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;, as html/template writes it
	wantPage(t, hs, "/", 200, "Headline figures", "graphlets that push no model", escaped,
		fmt.Sprintf(`href="/pipelines/%d"`, evil), `<svg class="spark"`, "<polyline points=", "Waste", "wasted_exclusive")
	wantPage(t, hs, fmt.Sprintf("/pipelines/%d", evil), 200, "Pipeline "+escaped, "What advise says now", "model 1",
		`<svg id="topology"`, `<script type="application/json" id="topology-data">`, "Graphlets over time", `<circle class="`, `href="/graphlets/`)
	body := wantPage(t, hs, fmt.Sprintf("/graphlets/%d", g), 200, fmt.Sprintf("Graphlet %d", g), `<svg id="lineage"`,
		`"kind":"execution"`, `"class":"trainer"`, "Members", fmt.Sprintf(`href="/lineage?node=e:%d"`, g), "Graphlets sharing members",
		`<script src="/assets/dagre.min.js"></script>`, `<script src="/assets/graph.js"></script>`,
		`\u003cscript\u003ealert(\"x\")\u003c/script\u003e`)
	if !strings.Contains(body, "Of pipeline <a href=\"/pipelines/") {
		t.Errorf("graphlet %d: no link to its pipeline", g)
	}
	wantPage(t, hs, fmt.Sprintf("/lineage?node=e:%d&depth=1", g), 200, fmt.Sprintf("Lineage of e:%d", g), `<svg id="lineage"`,
		fmt.Sprintf(`href="/graphlets/%d"`, g), "upstream")
	wantPage(t, hs, "/lineage", 200, "Walk the provenance")
	wantPage(t, hs, "/lineage?node=a:424242", 404, "no artifact 424242")
	wantPage(t, hs, "/lineage?node=x:1", 400, `class="error"`)
	wantPage(t, hs, fmt.Sprintf("/lineage?node=e:%d&dir=bo", g), 400, "direction &#34;bo&#34;: want both, up or down")
	q := "SELECT name FROM pipelines WHERE pipeline_id = " + fmt.Sprint(evil)
	wantPage(t, hs, "/sql?"+url.Values{"sql": {q}}.Encode(), 200, "1 row.", "<td>"+escaped+"</td>",
		`<a href="/sql?format=csv&amp;sql=SELECT&#43;name`, `<a href="/sql?format=json&amp;sql=SELECT&#43;name`)
	wantPage(t, hs, "/sql?"+url.Values{"sql": {"DROP TABLE pipelines"}}.Encode(), 200, `class="error"`, "not DROP")
	wantPage(t, hs, "/sql?"+url.Values{"sql": {"SELECT * FROM read_csv('/etc/passwd')"}}.Encode(), 200, `class="error"`)
	wantPage(t, hs, "/pipelines/424242", 404, "no pipeline 424242")
	wantPage(t, hs, "/graphlets/x", 400, "an id is a number")
	wantPage(t, hs, "/graphlets/424242", 404, "graphlet 424242")
	wantPage(t, hs, "/nowhere", 404, "no page at /nowhere")
}

// TestSQLDownload checks the SQL page's downloads: the rows as CSV and as JSON, through the
// read-only path.
func TestSQLDownload(t *testing.T) {
	hs, evil, _ := pageServer(t)
	q := "SELECT pipeline_id, name FROM pipelines WHERE pipeline_id = " + fmt.Sprint(evil)
	for format, want := range map[string]string{
		"csv":  fmt.Sprintf("pipeline_id,name\n%d,\"%s\"\n", evil, strings.ReplaceAll(evilName, `"`, `""`)),
		"json": fmt.Sprintf(`"pipeline_id": %d`, evil),
	} {
		resp, err := hs.Client().Get(hs.URL + "/sql?" + url.Values{"sql": {q}, "format": {format}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, want) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("download as %s: %d %q %q; want %q", format, resp.StatusCode, resp.Header.Get("Content-Disposition"), body, want)
		}
	}
	resp, err := hs.Client().Get(hs.URL + "/sql?" + url.Values{"sql": {"COPY pipelines TO '/tmp/x.csv'"}, "format": {"csv"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 400 || !strings.Contains(body, `"error"`) {
		t.Errorf("download of a COPY: %d %s; want 400", resp.StatusCode, body)
	}
}

func mustGet(t *testing.T, hs *httptest.Server, path string) *http.Response {
	t.Helper()
	resp, err := hs.Client().Get(hs.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestReportPage serves the report and keeps it while the store stays as it is.
func TestReportPage(t *testing.T) {
	hs, _, _ := pageServer(t)
	_, s := generatedServer(t)
	derived(t, s) // the derivation at start changes the store's state
	code, first := get(t, hs, "/report/")
	if code != 200 || !strings.Contains(first, "<!DOCTYPE html>") || !strings.Contains(first, "data:image/png;base64,") ||
		!strings.Contains(first, `<a href="results.json">`) {
		t.Fatalf("report: %.300s", first)
	}
	// The files the page links to are served beside it.
	for file, want := range map[string]string{"results.json": `"analyses"`, "manifest.json": `"fingerprint"`, "report.md": "# mlprov report"} {
		if code, body := get(t, hs, "/report/"+file); code != 200 || !strings.Contains(body, want) {
			t.Errorf("/report/%s: %d %.200s; want it to hold %q", file, code, body, want)
		}
	}
	if code, _ := get(t, hs, "/report/nothing.txt"); code != 404 {
		t.Errorf("/report/nothing.txt: %d, want 404", code)
	}
	renders := s.report.renders
	_, second := get(t, hs, "/report/")
	if s.report.renders != renders || second != first {
		t.Errorf("the report was rendered again for the same store (%d renders)", s.report.renders)
	}
}

// TestReportPageFollowsTheStore renders the report again once a posted event changed the store.
func TestReportPageFollowsTheStore(t *testing.T) {
	e := trainStore(t)
	s, hs := start(t, e, Options{})
	_, events := seed(t)
	if code, body := post(t, hs, events[0]); code != 201 {
		t.Fatalf("post: %d %s", code, body)
	}
	derived(t, s)
	_, first := get(t, hs, "/report/")
	for _, ev := range events[1:] {
		if code, body := post(t, hs, ev); code != 201 {
			t.Fatalf("post: %d %s", code, body)
		}
	}
	derived(t, s)
	_, second := get(t, hs, "/report/")
	if s.report.renders != 2 || first == second {
		t.Errorf("after more events: %d renders, the same page %v; want 2 renders, a new page", s.report.renders, first == second)
	}
}

func TestAssets(t *testing.T) {
	hs, _, _ := pageServer(t)
	for path, want := range map[string]string{"/assets/dagre.min.js": "text/javascript", "/assets/graph.js": "text/javascript", "/assets/style.css": "text/css"} {
		resp := mustGet(t, hs, path)
		defer resp.Body.Close()
		readAll(t, resp)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestPageSQL runs each of the pages' queries on an empty store: each is valid SQL over the
// store's schema, with its parameter.
func TestPageSQL(t *testing.T) {
	e := storetest.Open(t)
	entries, err := sqlFS.ReadDir("sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range entries {
		name := strings.TrimSuffix(f.Name(), ".sql")
		q := pageSQL(name)
		if !strings.HasPrefix(q, "-- name: "+name+"\n") || !strings.Contains(q, "-- description: ") {
			t.Errorf("%s: no header naming and describing it", f.Name())
		}
		rows, err := e.DB().Query(q, 1)
		if err != nil {
			t.Errorf("%s: %v", f.Name(), err)
			continue
		}
		rows.Close()
	}
}
