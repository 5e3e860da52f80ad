package serve

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium, or skips the test (fails it in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium): the pages' scripts cannot be run; CI runs this test")
	return ""
}

// browse opens url in headless Chromium, lets its scripts run and returns the DOM they left
// and the console messages the page logged. With shot set, it also saves a screenshot there.
func browse(t *testing.T, bin, url, shot string) (dom string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--window-size=1280,1400"}
	cmd := exec.CommandContext(ctx, bin, append(args, "--dump-dom", url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	if shot != "" {
		cmd := exec.CommandContext(ctx, bin, append(args, "--screenshot="+shot, url)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("screenshot of %s: %v\n%s", url, err, out)
		}
	}
	return string(out), console
}

// drawnSVG returns the SVG element with the id given, as the scripts left it.
func drawnSVG(t *testing.T, dom, id string) string {
	t.Helper()
	start := strings.Index(dom, `<svg id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no <svg id=%q> in the page", id)
	}
	end := strings.Index(dom[start:], "</svg>")
	if end < 0 {
		t.Fatalf("<svg id=%q> is not closed", id)
	}
	return dom[start : start+end]
}

var drawnCount = regexp.MustCompile(`data-drawn="(\d+)"`)

// TestPagesInBrowser opens the pages in headless Chromium: each graph page's script lays out
// and draws its graph (an SVG shape per node, a path per edge), and no page logs anything to
// the console (no script error, no refused or missing asset). MLPROV_PAGE_SHOTS=DIR also
// saves a screenshot of each page there.
func TestPagesInBrowser(t *testing.T) {
	bin := chromium(t)
	e, s := generatedServer(t)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	hs.Config.ReadHeaderTimeout = 10 * time.Second
	g := count(t, e, "SELECT graphlet_id FROM graphlets ORDER BY n_executions + n_artifacts DESC, graphlet_id LIMIT 1")
	members := count(t, e, fmt.Sprintf("SELECT n_executions + n_artifacts FROM graphlets WHERE graphlet_id = %d", g))
	pipeline := count(t, e, fmt.Sprintf("SELECT pipeline_id FROM graphlets WHERE graphlet_id = %d", g))
	components := count(t, e, fmt.Sprintf(`SELECT count(DISTINCT n) FROM (SELECT from_node AS n FROM pipeline_topology WHERE pipeline_id = %[1]d
		UNION ALL SELECT to_node FROM pipeline_topology WHERE pipeline_id = %[1]d)`, pipeline))
	shots := os.Getenv("MLPROV_PAGE_SHOTS")
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		name, path, svg string
		nodes           int64
	}{
		{"overview", "/", "", 0},
		{"pipeline", fmt.Sprintf("/pipelines/%d", pipeline), "topology", components},
		{"graphlet", fmt.Sprintf("/graphlets/%d", g), "lineage", members},
		{"lineage", fmt.Sprintf("/lineage?node=e:%d&depth=2", g), "lineage", -1},
		{"report", "/report/", "", 0},
		{"sql", "/sql?sql=" + strings.ReplaceAll("SELECT graphlet_id, pipeline_id, pushed, cost_total FROM graphlets ORDER BY cost_total DESC LIMIT 12", " ", "+"), "", 0},
	} {
		t.Run(p.name, func(t *testing.T) {
			shot := ""
			if shots != "" {
				shot = filepath.Join(shots, p.name+".png")
			}
			dom, console := browse(t, bin, hs.URL+p.path, shot)
			if len(console) > 0 {
				t.Errorf("the page logged to the console:\n%s", strings.Join(console, "\n"))
			}
			if !strings.Contains(dom, "</main>") && !strings.Contains(dom, "mlprov report") {
				t.Fatalf("the page did not load: %.500s", dom)
			}
			if p.svg == "" {
				return
			}
			svg := drawnSVG(t, dom, p.svg)
			m := drawnCount.FindStringSubmatch(svg)
			if m == nil {
				t.Fatalf("the script did not draw the graph: %.300s", svg)
			}
			n, _ := strconv.ParseInt(m[1], 10, 64)
			shapes := int64(strings.Count(svg, "<rect") + strings.Count(svg, "<ellipse"))
			paths := strings.Count(svg, `marker-end="url(#`)
			if n == 0 || shapes != n || (p.nodes >= 0 && n != p.nodes) || paths == 0 {
				t.Errorf("drew %s nodes, %d shapes, %d edges; want %d nodes, a shape each, and edges", m[1], shapes, paths, p.nodes)
			}
			if p.name == "graphlet" && !strings.Contains(svg, strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(evilName)) {
				t.Errorf("the graph does not show the execution typed %s as text", evilName)
			}
			if !strings.Contains(svg, "<text") || !strings.Contains(svg, `viewBox="0 0 `) {
				t.Errorf("the graph has no labels or no size: %.300s", svg)
			}
		})
	}
}
