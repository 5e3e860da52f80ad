package serve

import (
	"bytes"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/prune"
	"mlprov/report/runner"
)

// The pages are html/template files under templates/, each drawn inside layout.html; their
// styles and scripts are under assets/. Both are embedded: the pages need no network.
var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed assets
	assetFS embed.FS
	//go:embed sql/*.sql
	sqlFS embed.FS
)

// pageSQL returns the page query sql/NAME.sql.
func pageSQL(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(err) // the files are embedded: a missing one is a programming error
	}
	return string(b)
}

var pageFuncs = template.FuncMap{
	"when":  when,
	"deref": func(p *float64) float64 { return *p },
}

// pageTemplates holds each page's template, by page name.
var pageTemplates = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"overview", "pipeline", "graphlet", "lineage", "sql", "error"} {
		m[name] = template.Must(template.New(name).Funcs(pageFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return m
}()

// contentSecurity lets a page load only the server's own scripts and styles.
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// page is what every page's data holds: its title, and whether it draws a graph.
type page struct {
	Title   string
	Scripts bool
}

// pageRoutes adds the pages to mux.
func (s *Server) pageRoutes(mux *http.ServeMux) {
	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /{$}", s.overviewPage)
	mux.HandleFunc("GET /pipelines/{id}", s.pipelinePage)
	mux.HandleFunc("GET /graphlets/{id}", s.graphletPage)
	mux.HandleFunc("GET /lineage", s.lineagePage)
	mux.HandleFunc("GET /sql", s.sqlPage)
	mux.Handle("GET /report", http.RedirectHandler("/report/", http.StatusMovedPermanently))
	mux.HandleFunc("GET /report/{file...}", s.reportPage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.pageError(w, http.StatusNotFound, fmt.Errorf("no page at %s", r.URL.Path))
	})
}

// renderPage answers the page name drawn with data, with status.
func (s *Server) renderPage(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := pageTemplates[name].ExecuteTemplate(&b, "layout", data); err != nil {
		s.opts.Log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "rendering the page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, contentSecurity, b.Bytes())
}

// writeHTML answers page, a whole HTML page, under the content security policy csp.
func writeHTML(w http.ResponseWriter, status int, csp string, page []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	// A client that went away cannot be told so.
	_, _ = w.Write(page)
}

// pageError answers an error page.
func (s *Server) pageError(w http.ResponseWriter, status int, err error) {
	if status >= 500 {
		s.opts.Log.Error("serving a page", "err", err)
	}
	var b bytes.Buffer
	data := struct {
		page
		Message string
	}{page{Title: http.StatusText(status)}, err.Error()}
	if terr := pageTemplates["error"].ExecuteTemplate(&b, "layout", data); terr != nil {
		http.Error(w, err.Error(), status)
		return
	}
	writeHTML(w, status, contentSecurity, b.Bytes())
}

// when formats a time as the pages show it, to the minute, in UTC.
func when(v any) string {
	switch t := v.(type) {
	case time.Time:
		return t.UTC().Format("2006-01-02 15:04")
	case *time.Time:
		if t != nil {
			return t.UTC().Format("2006-01-02 15:04")
		}
	}
	return "–"
}

// day formats a time as its day, in UTC.
func day(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format("2006-01-02")
	}
	return "–"
}

// figure is one headline figure.
type figure struct{ Metric, Value, Counts string }

// cell is one table cell: its text, a link when it has one, and whether it is a number.
type cell struct {
	Text, Href string
	Num        bool
}

// table is a result as a page shows it.
type table struct {
	Columns []string
	Rows    [][]cell
	Note    string
	Empty   string
}

// newTable shows res; links give, by column, the link of a cell from its value.
func newTable(res *render.Result, links map[string]func(v any) string) table {
	t := table{Columns: res.Columns}
	for _, r := range res.Rows {
		row := make([]cell, len(r))
		for i, v := range r {
			row[i] = cell{Text: render.Cell(v), Num: isNumber(v)}
			if v == nil {
				row[i].Text = ""
			}
			if t, ok := v.(time.Time); ok {
				row[i].Text = render.Text(t.UTC(), "NULL")
			}
			if f := links[res.Columns[i]]; f != nil && v != nil {
				row[i].Href = f(v)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64:
		return true
	}
	return false
}

// pick is res with only the columns named, those it has, in that order.
func pick(res *render.Result, cols ...string) *render.Result {
	var idx []int
	out := &render.Result{}
	for _, c := range cols {
		for i, have := range res.Columns {
			if have == c {
				idx = append(idx, i)
				out.Columns = append(out.Columns, c)
			}
		}
	}
	for _, r := range res.Rows {
		row := make([]any, len(idx))
		for j, i := range idx {
			row[j] = r[i]
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// readRows reads rows, keeping at most limit of them (0: all), and closes them.
func readRows(rows *sql.Rows, limit int) (*render.Result, error) {
	defer rows.Close()
	if limit > 0 {
		return render.ReadSome(rows, limit)
	}
	return render.Read(rows)
}

// rowMaps reads each row of res as a map by column.
func rowMaps(res *render.Result) []map[string]any {
	out := make([]map[string]any, len(res.Rows))
	for i, r := range res.Rows {
		m := make(map[string]any, len(r))
		for j, c := range res.Columns {
			m[c] = r[j]
		}
		out[i] = m
	}
	return out
}

func num(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float64:
		return x
	case uint64:
		return float64(x)
	}
	return 0
}

func link(prefix string) func(v any) string {
	return func(v any) string { return prefix + render.Text(v, "") }
}

// graph is a graph a page draws in the browser (assets/graph.js): its data goes into the page
// as JSON.
type graph struct {
	ID, Label, Note string
	Data            graphData
}

type graphData struct {
	RankDir string      `json:"rankdir"`
	Nodes   []graphNode `json:"nodes"`
	Edges   []graphEdge `json:"edges"`
}

type graphNode struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Title string `json:"title,omitempty"`
	Kind  string `json:"kind"`
	Class string `json:"class,omitempty"`
	Href  string `json:"href,omitempty"`
}

// graphEdge is an edge; Label is drawn beside it, Title shown when the pointer is on it.
type graphEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label,omitempty"`
	Title string `json:"title,omitempty"`
}

// maxDrawn is the most nodes a page draws; a table lists them all.
const maxDrawn = 400

// --- overview ---

// pipelineRow is a pipeline as the overview lists it.
type pipelineRow struct {
	ID                                      int64
	Name                                    string
	Runs, Graphlets, Pushed, Cost, Unpushed string
	First, Last                             string
	Spark                                   *sparkline
}

// sparkline is a pipeline's activity drawn as a line.
type sparkline struct {
	W, H          int
	Points, Label string
}

// sparkSlices is how many slices of the store's window a sparkline has.
const sparkSlices = 40

// maxListed is the most pipelines the overview lists.
const maxListed = 500

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	head, err := runner.RunAnalysis(ctx, s.eng, "headline")
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	data := struct {
		page
		Figures       []figure
		Pipelines     []pipelineRow
		PipelineCount int
		PipelinesCut  bool
		Window        string
		Waste         table
	}{page: page{Title: "Overview"}}
	for _, m := range rowMaps(head) {
		data.Figures = append(data.Figures, figure{render.Text(m["metric"], ""), render.Text(m["corpus"], ""), render.Text(m["counts"], "")})
	}
	waste, err := runner.RunAnalysis(ctx, s.eng, "wasted_compute")
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	data.Waste = newTable(waste, nil)

	rows, err := s.eng.Pipelines(ctx, nil)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	pipes, err := readRows(rows, maxListed)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	data.PipelineCount, data.PipelinesCut = pipes.Total(), pipes.Omitted > 0
	activity, err := render.Query(ctx, s.eng.DB(), pageSQL("activity"), sparkSlices)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, fmt.Errorf("activity: %w", err))
		return
	}
	counts := map[int64][]float64{}
	for _, m := range rowMaps(activity) {
		id := int64(num(m["pipeline_id"]))
		if counts[id] == nil {
			counts[id] = make([]float64, sparkSlices)
		}
		counts[id][int(num(m["slice"]))] = num(m["graphlets"])
	}
	var lo, hi *time.Time
	if err := s.eng.DB().QueryRowContext(ctx, `SELECT min(trainer_start), max(trainer_start) FROM graphlets`).Scan(&lo, &hi); err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	data.Window = fmt.Sprintf("%s to %s in %d slices", when(lo), when(hi), sparkSlices)
	for _, m := range rowMaps(pipes) {
		p := pipelineRow{ID: int64(num(m["pipeline_id"])), Name: render.Text(m["name"], ""),
			Runs: render.Cell(m["runs"]), Graphlets: render.Cell(m["graphlets"]), Pushed: render.Cell(m["pushed"]),
			Cost: render.Cell(math.Round(num(m["graphlet_cost"]))), Unpushed: render.Cell(math.Round(num(m["unpushed_cost"]))),
			First: day(m["first_start"]), Last: day(m["last_end"])}
		if c := counts[p.ID]; c != nil {
			p.Spark = spark(c)
		}
		data.Pipelines = append(data.Pipelines, p)
	}
	s.renderPage(w, http.StatusOK, "overview", data)
}

// spark draws counts as a sparkline scaled to their largest.
func spark(counts []float64) *sparkline {
	sp := &sparkline{W: 160, H: 24}
	top, total := 0.0, 0.0
	for _, c := range counts {
		top, total = math.Max(top, c), total+c
	}
	var pts []string
	for i, c := range counts {
		x := float64(i) * float64(sp.W-2) / float64(len(counts)-1)
		y := float64(sp.H-2) - c/math.Max(top, 1)*float64(sp.H-4)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x+1, y))
	}
	sp.Points = strings.Join(pts, " ")
	sp.Label = fmt.Sprintf("%.0f graphlets, at most %.0f in a slice", total, top)
	return sp
}

// --- pipeline ---

// timeline draws a pipeline's graphlets by Trainer start and cost.
type timeline struct {
	W, H, Left, Right, Top, Bottom int
	From, To, Max, Note            string
	Points                         []timePoint
	Advised                        bool
}

type timePoint struct {
	ID           int64
	X, Y         float64
	Pushed, Skip bool
	Title        string
}

// maxPoints is the most graphlets a timeline draws: the latest ones.
const maxPoints = 3000

func (s *Server) pipelinePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.pageError(w, http.StatusBadRequest, fmt.Errorf("pipeline %q: an id is a number", r.PathValue("id")))
		return
	}
	rows, err := s.eng.Pipelines(ctx, &id)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	one, err := readRows(rows, 0)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	if len(one.Rows) == 0 {
		s.pageError(w, http.StatusNotFound, fmt.Errorf("no pipeline %d", id))
		return
	}
	p := rowMaps(one)[0]
	data := struct {
		page
		Figures    []figure
		Advice     *prune.Advice
		AdviceNote string
		Topology   *graph
		Timeline   *timeline
		Graphlets  table
	}{page: page{Title: fmt.Sprintf("Pipeline %s (%d)", render.Text(p["name"], ""), id)}}
	for _, f := range []struct{ label, col string }{{"runs", "runs"}, {"trainings", "trainings"}, {"graphlets", "graphlets"},
		{"pushed", "pushed"}, {"graphlet cost", "graphlet_cost"}, {"cost not pushed", "unpushed_cost"}, {"trainings per day", "trainings_per_day"}} {
		data.Figures = append(data.Figures, figure{Metric: f.label, Value: render.Cell(render.RoundSig(num(p[f.col]), 4))})
	}
	data.Figures = append(data.Figures, figure{Metric: "active", Value: day(p["first_start"]) + " to " + day(p["last_end"])})

	a, status, err := s.adviseAt(r, id, time.Now().UTC())
	switch {
	case status == http.StatusConflict:
		data.AdviceNote = err.Error()
	case err != nil:
		s.pageError(w, status, err)
		return
	default:
		data.Advice = a
	}

	topo, err := render.Query(ctx, s.eng.DB(), pageSQL("topology"), id)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, fmt.Errorf("topology: %w", err))
		return
	}
	if len(topo.Rows) > 0 {
		g := &graph{ID: "topology", Label: "Components, and the artifacts' paths between them over the pipeline's runs.", Data: graphData{RankDir: "LR"}}
		seen := map[string]bool{}
		for _, m := range rowMaps(topo) {
			for _, end := range [][2]any{{m["from_node"], m["from_op"]}, {m["to_node"], m["to_op"]}} {
				node := render.Text(end[0], "")
				if !seen[node] {
					seen[node] = true
					label := node
					if op := render.Text(end[1], ""); op != "" && op != node {
						label = node + "\n" + op
					}
					g.Data.Nodes = append(g.Data.Nodes, graphNode{ID: node, Label: label, Kind: "component", Title: label})
				}
			}
			g.Data.Edges = append(g.Data.Edges, graphEdge{From: render.Text(m["from_node"], ""), To: render.Text(m["to_node"], ""),
				Label: fmt.Sprintf("%s runs", render.Cell(m["n_runs"]))})
		}
		data.Topology, data.Scripts = g, true
	}

	rows, err = s.eng.PipelineGraphlets(ctx, id)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	gs, err := readRows(rows, 0)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	// What advise says of each graphlet's Trainer, asked at its start, with the model now kept.
	advised := map[int64]*prune.Advice{}
	if data.Advice != nil {
		m, err := prune.Latest(ctx, s.eng.DB())
		if err != nil {
			s.pageError(w, http.StatusInternalServerError, err)
			return
		}
		each, err := prune.AdviseEach(ctx, s.eng.DB(), m, id)
		if err != nil {
			s.pageError(w, http.StatusInternalServerError, err)
			return
		}
		for _, a := range each {
			advised[*a.GraphletID] = a
		}
		gs.Columns = append(gs.Columns, "advise")
		for i, row := range gs.Rows {
			var v any
			if a := advised[int64(num(row[0]))]; a != nil {
				v = adviceText(a)
			}
			gs.Rows[i] = append(row, v)
		}
	}
	data.Timeline = drawTimeline(rowMaps(gs), advised)
	data.Graphlets = newTable(pick(gs, "graphlet_id", "trainer_node_id", "trainer_start", "trainer_state", "n_executions", "n_artifacts",
		"cost_total", "cost_exclusive", "pushed", "advise"), map[string]func(any) string{"graphlet_id": link("/graphlets/")})
	data.Graphlets.Empty = "This pipeline has no graphlets: none of its runs trained."
	s.renderPage(w, http.StatusOK, "pipeline", data)
}

// adviceText is advise's answer in a few words: the decision and the score.
func adviceText(a *prune.Advice) string {
	if a.PPush == nil {
		return a.Decision
	}
	return fmt.Sprintf("%s (p_push %.3f)", a.Decision, *a.PPush)
}

// drawTimeline places graphlets by their Trainer's start (x) and their total cost (y), each
// marked with what advise says of it, when it says.
func drawTimeline(gs []map[string]any, advised map[int64]*prune.Advice) *timeline {
	var pts []map[string]any
	for _, g := range gs {
		if _, ok := g["trainer_start"].(time.Time); ok {
			pts = append(pts, g)
		}
	}
	if len(pts) == 0 {
		return nil
	}
	t := &timeline{W: 960, H: 190, Left: 56, Right: 950, Top: 12, Bottom: 170}
	if len(pts) > maxPoints {
		t.Note = fmt.Sprintf("The latest %d of %d graphlets.", maxPoints, len(pts))
		pts = pts[len(pts)-maxPoints:]
	}
	lo, hi := pts[0]["trainer_start"].(time.Time), pts[len(pts)-1]["trainer_start"].(time.Time)
	top := 0.0
	for _, g := range pts {
		top = math.Max(top, num(g["cost_total"]))
	}
	span := math.Max(hi.Sub(lo).Seconds(), 1)
	for _, g := range pts {
		start, cost := g["trainer_start"].(time.Time), num(g["cost_total"])
		pushed, _ := g["pushed"].(bool)
		x := float64(t.Left+6) + start.Sub(lo).Seconds()/span*float64(t.Right-t.Left-12)
		if hi.Equal(lo) {
			x = float64(t.Left+t.Right) / 2
		}
		y := float64(t.Bottom) - cost/math.Max(top, 1e-9)*float64(t.Bottom-t.Top)
		outcome := "pushed no model"
		if pushed {
			outcome = "pushed a model"
		}
		id := int64(num(g["graphlet_id"]))
		pt := timePoint{ID: id, X: math.Round(x*10) / 10, Y: math.Round(y*10) / 10, Pushed: pushed,
			Title: fmt.Sprintf("graphlet %d, %s: cost %s, %s", id, when(start), render.Cell(render.RoundSig(cost, 4)), outcome)}
		if a := advised[id]; a != nil {
			pt.Skip = a.Decision == "skip"
			pt.Title += "; advise: " + adviceText(a)
			t.Advised = true
		}
		t.Points = append(t.Points, pt)
	}
	t.From, t.To, t.Max = when(lo), when(hi), render.Cell(render.RoundSig(top, 3))
	return t
}

// --- graphlet ---

func (s *Server) graphletPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.pageError(w, http.StatusBadRequest, fmt.Errorf("graphlet %q: an id is a number", r.PathValue("id")))
		return
	}
	g, err := s.eng.Graphlet(ctx, id)
	switch {
	case errors.Is(err, engine.ErrNoGraphlet):
		s.pageError(w, http.StatusNotFound, err)
		return
	case err != nil:
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	data := struct {
		page
		G              *engine.Graphlet
		PipelineName   string
		Previous, Next *int64
		Figures        []figure
		Graph          *graph
		Members        table
		Sharing        table
	}{page: page{Title: fmt.Sprintf("Graphlet %d", id), Scripts: true}, G: g}
	if err := s.eng.DB().QueryRowContext(ctx, `SELECT name FROM pipelines WHERE pipeline_id = ?`, g.PipelineID).Scan(&data.PipelineName); err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	if err := s.eng.DB().QueryRowContext(ctx, pageSQL("around"), id).Scan(&data.Previous, &data.Next); err != nil {
		s.pageError(w, http.StatusInternalServerError, fmt.Errorf("graphlets around %d: %w", id, err))
		return
	}
	outcome := "no"
	if g.Pushed {
		outcome = "yes"
	}
	var execs, arts int
	for _, n := range g.Nodes {
		if n.Kind == "execution" {
			execs++
		} else {
			arts++
		}
	}
	data.Figures = []figure{{Metric: "pushed a model", Value: outcome}, {Metric: "cost (total)", Value: render.Cell(render.RoundSig(g.CostTotal, 4))},
		{Metric: "cost (exclusive)", Value: render.Cell(render.RoundSig(g.CostExcl, 4))}, {Metric: "executions", Value: strconv.Itoa(execs)}, {Metric: "artifacts", Value: strconv.Itoa(arts)}}

	gr := &graph{ID: "lineage", Label: "Executions (boxes) and artifacts (ellipses): the Trainer, upstream, downstream and boundary members.", Data: graphData{RankDir: "LR"}}
	members := &render.Result{Columns: []string{"node", "kind", "side", "type", "component", "state", "cost", "span"}}
	drawn := map[string]bool{}
	for _, n := range g.Nodes {
		ref := engine.Node{Kind: n.Kind, ID: n.ID}.String()
		label := fmt.Sprintf("%s %d", n.Type, n.ID)
		if n.Kind == "execution" && n.State != engine.StateComplete && n.State != "" {
			label += "\n" + n.State
		} else if n.Span != nil {
			label += fmt.Sprintf("\nspan %d", *n.Span)
		}
		if len(gr.Data.Nodes) < maxDrawn {
			gr.Data.Nodes = append(gr.Data.Nodes, graphNode{ID: ref, Label: label, Kind: n.Kind, Class: n.Side, Href: "/lineage?node=" + ref,
				Title: fmt.Sprintf("%s %d (%s, %s)", n.Type, n.ID, n.Kind, n.Side)})
			drawn[ref] = true
		}
		var cost, span, node, state any
		if n.Cost != nil {
			cost = *n.Cost
		}
		if n.Span != nil {
			span = *n.Span
		}
		if n.Node != "" {
			node = n.Node
		}
		if n.State != "" {
			state = n.State
		}
		members.Rows = append(members.Rows, []any{ref, n.Kind, n.Side, n.Type, node, state, cost, span})
	}
	for _, e := range g.Edges {
		if drawn[e.From] && drawn[e.To] {
			gr.Data.Edges = append(gr.Data.Edges, graphEdge{From: e.From, To: e.To, Title: e.Role})
		}
	}
	if len(g.Nodes) > maxDrawn {
		gr.Note = fmt.Sprintf("The first %d of its %d members are drawn.", maxDrawn, len(g.Nodes))
	}
	data.Graph = gr
	data.Members = newTable(members, map[string]func(any) string{"node": link("/lineage?node=")})
	sharing, err := render.Query(ctx, s.eng.DB(), pageSQL("sharing"), id)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, fmt.Errorf("graphlets sharing members with %d: %w", id, err))
		return
	}
	data.Sharing = newTable(sharing, map[string]func(any) string{"graphlet_id": link("/graphlets/")})
	data.Sharing.Empty = "No other graphlet shares an execution or an artifact with this one."
	s.renderPage(w, http.StatusOK, "graphlet", data)
}

// --- lineage ---

// lineageDirs are the directions a walk may take, as the lineage page offers them.
var lineageDirs = []string{"both", "up", "down"}

func (s *Server) lineagePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := struct {
		page
		Node, Dir, Error, Described string
		Depth                       int
		Relinks                     bool
		Dirs                        []string
		Graph                       *graph
		Nodes                       table
	}{page: page{Title: "Lineage"}, Node: q.Get("node"), Dir: q.Get("dir"), Depth: 2, Relinks: q.Get("relinks") != "", Dirs: lineageDirs}
	if data.Dir == "" {
		data.Dir = "both"
	}
	if data.Node == "" {
		s.renderPage(w, http.StatusOK, "lineage", data)
		return
	}
	status := http.StatusOK
	fail := func(code int, err error) {
		status, data.Error = code, err.Error()
	}
	node, err := engine.ParseNode(data.Node)
	opts := engine.LineageOptions{Relinks: data.Relinks, Up: data.Dir == "up", Down: data.Dir == "down"}
	if d := q.Get("depth"); d != "" && err == nil {
		if data.Depth, err = strconv.Atoi(d); err != nil || data.Depth < 0 {
			err = fmt.Errorf("depth %q: want a number of hops, 0 or more (0 for no limit)", d)
		}
	}
	opts.Depth = data.Depth
	if err == nil && !slices.Contains(lineageDirs, data.Dir) {
		err = fmt.Errorf("direction %q: want both, up or down", data.Dir)
	}
	var l *engine.Lineage
	if err == nil {
		l, err = engine.WalkLineage(r.Context(), s.eng.DB(), node, opts)
		if errors.Is(err, engine.ErrNoNode) {
			fail(http.StatusNotFound, err)
		}
	}
	switch {
	case data.Error != "":
	case err != nil:
		fail(http.StatusBadRequest, err)
	default:
		data.Title = "Lineage of " + l.Start.Ref()
		data.Described = fmt.Sprintf("%s %d (%s): %d nodes, %s.", l.Start.Type, l.Start.ID, l.Start.Kind, len(l.Nodes), l.Options.Describe())
		if data.Graph, data.Nodes, err = s.lineageGraph(r, l); err != nil {
			s.pageError(w, http.StatusInternalServerError, err)
			return
		}
		data.Scripts = true
	}
	s.renderPage(w, status, "lineage", data)
}

// lineageGraph draws a walk: each node links to a walk from it, and a Trainer to its graphlet.
func (s *Server) lineageGraph(r *http.Request, l *engine.Lineage) (*graph, table, error) {
	g := &graph{ID: "lineage", Label: "Upstream to the left, downstream to the right; the walk's start is outlined. Each node links to a walk from it.",
		Data: graphData{RankDir: "LR"}}
	graphlets := map[int64]bool{}
	trainers, err := render.Query(r.Context(), s.eng.DB(), `SELECT graphlet_id FROM graphlets WHERE graphlet_id IN (SELECT unnest(?::BIGINT[]))`, executionIDs(l))
	if err != nil {
		return nil, table{}, fmt.Errorf("find the graphlets of the walk's Trainers: %w", err)
	}
	for _, row := range trainers.Rows {
		graphlets[int64(num(row[0]))] = true
	}
	res := &render.Result{Columns: []string{"node", "kind", "type", "time", "dir", "hops", "role", "graphlet"}}
	drawn := map[string]bool{}
	q := r.URL.Query()
	for _, n := range l.Nodes {
		ref := n.Ref()
		walk := url.Values{"node": {ref}, "depth": {q.Get("depth")}, "dir": {q.Get("dir")}, "relinks": {q.Get("relinks")}}
		for k, v := range walk {
			if v[0] == "" {
				delete(walk, k)
			}
		}
		class := n.Dir
		if class == "" {
			class = "start"
		}
		if len(g.Data.Nodes) < maxDrawn {
			g.Data.Nodes = append(g.Data.Nodes, graphNode{ID: ref, Label: fmt.Sprintf("%s %d", n.Type, n.ID), Kind: n.Kind, Class: class,
				Href: "/lineage?" + walk.Encode(), Title: fmt.Sprintf("%s %d (%s, %s)", n.Type, n.ID, n.Kind, when(n.Time))})
			drawn[ref] = true
		}
		var t, role, gl any
		if n.Time != nil {
			t = *n.Time
		}
		if n.Role != "" {
			role = n.Role
		}
		if n.Kind == "execution" && graphlets[n.ID] {
			gl = n.ID
		}
		res.Rows = append(res.Rows, []any{ref, n.Kind, n.Type, t, class, int64(n.Hops), role, gl})
	}
	for _, e := range l.Edges {
		if drawn[e.From] && drawn[e.To] {
			g.Data.Edges = append(g.Data.Edges, graphEdge{From: e.From, To: e.To, Title: e.Role})
		}
	}
	if len(l.Nodes) > maxDrawn {
		g.Note = fmt.Sprintf("The first %d of %d nodes are drawn; lower the depth to see the rest.", maxDrawn, len(l.Nodes))
	}
	return g, newTable(res, map[string]func(any) string{"node": link("/lineage?node="), "graphlet": link("/graphlets/")}), nil
}

func executionIDs(l *engine.Lineage) []int64 {
	var ids []int64
	for _, n := range l.Nodes {
		if n.Kind == "execution" {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// --- SQL ---

func (s *Server) sqlPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	text := q.Get("sql")
	data := struct {
		page
		SQL, Error, CSV, JSON string
		Timeout               time.Duration
		Limit                 string
		Count                 int
		Cut                   bool
		Result                *table
		Tables                []string
	}{page: page{Title: "SQL"}, SQL: text, Timeout: s.opts.QueryTimeout, Limit: render.Cell(float64(s.opts.QueryRows))}
	tables, err := render.Query(r.Context(), s.eng.DB(), `SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1`)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, fmt.Errorf("list the tables: %w", err))
		return
	}
	for _, row := range tables.Rows {
		data.Tables = append(data.Tables, render.Text(row[0], ""))
	}
	if strings.TrimSpace(text) == "" {
		s.renderPage(w, http.StatusOK, "sql", data)
		return
	}
	res, cut, err := s.query.run(r.Context(), text)
	format := q.Get("format")
	if err != nil {
		if format != "" {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		data.Error = err.Error()
		s.renderPage(w, http.StatusOK, "sql", data)
		return
	}
	switch format {
	case "":
	case "csv", "json":
		var b bytes.Buffer
		if err := render.Write(&b, format, res); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		if cut {
			w.Header().Set("X-Mlprov-Rows-Cut", strconv.Itoa(len(res.Rows)))
		}
		ct := map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}[format]
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", `attachment; filename="query.`+format+`"`)
		_, _ = w.Write(b.Bytes()) // a client that went away cannot be told so
		return
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("format %q: want csv or json", format))
		return
	}
	t := newTable(res, nil)
	data.Result, data.Count, data.Cut = &t, len(res.Rows), cut
	data.CSV = "/sql?" + url.Values{"sql": {text}, "format": {"csv"}}.Encode()
	data.JSON = "/sql?" + url.Values{"sql": {text}, "format": {"json"}}.Encode()
	s.renderPage(w, http.StatusOK, "sql", data)
}
