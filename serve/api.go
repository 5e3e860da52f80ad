package serve

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/loaders/openlineage"
	"mlprov/report/runner"
)

// maxBody bounds a posted event, compressed or not.
const maxBody = 8 << 20

// routes lays out the server: the JSON API under /api/v1/, the pages beside it.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", s.health)
	mux.HandleFunc("POST /api/v1/lineage", s.postLineage)
	mux.HandleFunc("GET /api/v1/lineage", s.lineage)
	mux.HandleFunc("GET /api/v1/pipelines", s.pipelines)
	mux.HandleFunc("GET /api/v1/pipelines/{id}", s.pipeline)
	mux.HandleFunc("GET /api/v1/graphlets/{id}", s.graphlet)
	mux.HandleFunc("GET /api/v1/analyses", s.analyses)
	mux.HandleFunc("GET /api/v1/analyses/{name}", s.analysis)
	mux.HandleFunc("GET /api/v1/query", s.sql)
	mux.HandleFunc("POST /api/v1/advise", s.advise)
	s.pageRoutes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no API at %s %s", r.Method, r.URL.Path))
	})
	return headers(mux)
}

// headers sets what every answer carries. There is no CORS header: browsers keep other
// sites' pages from reading the API.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// writeJSON answers v as indented JSON, as mlprov's --format json prints it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes()) // a client that went away is no error of ours
}

// writeError answers {"error": "..."}.
func writeError(w http.ResponseWriter, status int, err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // a client that went away is no error of ours
}

// health answers whether the server runs and how the last derivation went.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	last, pending := s.deriver.status()
	writeJSON(w, http.StatusOK, struct {
		Status     string      `json:"status"`
		Pending    bool        `json:"pending"`
		Derivation *Derivation `json:"derivation"`
	}{"ok", pending, last})
}

// postAllowed answers 401 to a POST without the server's token, when it has one, and 415 to
// one whose body is not JSON; it reports whether the POST may go on.
func (s *Server) postAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.opts.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mlprov"`)
			writeError(w, http.StatusUnauthorized, errors.New("this server wants Authorization: Bearer TOKEN"))
			return false
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q: want application/json", r.Header.Get("Content-Type")))
		return false
	}
	return true
}

// postLineage keeps one posted OpenLineage event and answers 201 once it is durable.
func (s *Server) postLineage(w http.ResponseWriter, r *http.Request) {
	if !s.postAllowed(w, r) {
		return
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, maxBody))
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("gzip body: %w", err))
			return
		}
		defer gz.Close()
		body = io.LimitReader(gz, maxBody+1)
	default:
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q: want gzip or none", enc))
		return
	}
	data, err := io.ReadAll(body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || len(data) > maxBody:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("an event of more than %d bytes", maxBody))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	p, err := openlineage.ReadPosted("event", data)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	switch err := s.writer.submit(p); {
	case errors.Is(err, errStopped):
		writeError(w, http.StatusServiceUnavailable, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	default:
		writeJSON(w, http.StatusCreated, map[string]string{"digest": p.Digest()})
	}
}

// rowsJSON reads rows whole as a JSON array of objects keyed by column, as mlprov
// query --format json prints them.
func rowsJSON(rows *sql.Rows) (json.RawMessage, int, error) {
	defer rows.Close()
	res, err := render.Read(rows)
	if err != nil {
		return nil, 0, err
	}
	var b bytes.Buffer
	if err := render.Write(&b, "json", res); err != nil {
		return nil, 0, err
	}
	return b.Bytes(), len(res.Rows), nil
}

// pathID reads the path's {id} as a number, answering 400 when it is not one.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("id %q is not a number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func (s *Server) pipelines(w http.ResponseWriter, r *http.Request) {
	rows, err := s.eng.Pipelines(r.Context(), nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	list, _, err := rowsJSON(rows)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// pipeline answers one pipeline's row (as in the list) and its graphlets.
func (s *Server) pipeline(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	rows, err := s.eng.Pipelines(r.Context(), &id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	one, n, err := rowsJSON(rows)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("no pipeline %d (GET /api/v1/pipelines lists them)", id))
		return
	}
	var pipe []json.RawMessage
	if err := json.Unmarshal(one, &pipe); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	rows, err = s.eng.PipelineGraphlets(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	gs, _, err := rowsJSON(rows)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Pipeline  json.RawMessage `json:"pipeline"`
		Graphlets json.RawMessage `json:"graphlets"`
	}{pipe[0], gs})
}

// graphlet answers what mlprov graphlet ID --format json prints.
func (s *Server) graphlet(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	g, err := s.eng.Graphlet(r.Context(), id)
	switch {
	case errors.Is(err, engine.ErrNoGraphlet):
		writeError(w, http.StatusNotFound, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	default:
		writeJSON(w, http.StatusOK, g)
	}
}

// lineage answers the walk mlprov lineage NODE --depth N makes: the nodes it reached, as
// --format json prints them, and the events between them.
func (s *Server) lineage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("node") == "" {
		writeError(w, http.StatusBadRequest, errors.New("node is missing: want node=a:ID for an artifact or node=e:ID for an execution"))
		return
	}
	node, err := engine.ParseNode(q.Get("node"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("node: %w", err))
		return
	}
	var opts engine.LineageOptions
	if d := q.Get("depth"); d != "" {
		if opts.Depth, err = strconv.Atoi(d); err != nil || opts.Depth < 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("depth %q: want a number of hops, 0 or more (0 for no limit)", d))
			return
		}
	}
	l, err := engine.WalkLineage(r.Context(), s.eng.DB(), node, opts)
	switch {
	case errors.Is(err, engine.ErrNoNode):
		writeError(w, http.StatusNotFound, err)
	case err != nil:
		writeError(w, http.StatusBadRequest, err)
	default:
		if l.Edges == nil {
			l.Edges = []engine.LineageEdge{}
		}
		writeJSON(w, http.StatusOK, struct {
			Nodes []engine.LineageNode `json:"nodes"`
			Edges []engine.LineageEdge `json:"edges"`
		}{l.Nodes, l.Edges})
	}
}

// analyses lists the canned analyses, as mlprov analyze does.
func (s *Server) analyses(w http.ResponseWriter, r *http.Request) {
	as, err := engine.Analyses()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	type entry struct {
		Name        string `json:"name"`
		Topic       string `json:"topic"`
		Description string `json:"description"`
	}
	list := make([]entry, 0, len(as))
	for _, a := range as {
		list = append(list, entry{a.Name, a.Topic, a.Description})
	}
	writeJSON(w, http.StatusOK, list)
}

// analysis runs one analysis and answers its rows, as mlprov analyze NAME --format json.
func (s *Server) analysis(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := engine.LookupAnalysis(name); err != nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w (GET /api/v1/analyses lists them)", err))
		return
	}
	res, err := runner.RunAnalysis(r.Context(), s.eng, name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	var b bytes.Buffer
	if err := render.Write(&b, "json", res); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(b.Bytes()))
}

// sql runs one read statement and answers its rows as a JSON array of objects. When the
// row limit cut the result, the header X-Mlprov-Rows-Cut says after how many rows.
func (s *Server) sql(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("sql")
	if strings.TrimSpace(q) == "" {
		writeError(w, http.StatusBadRequest, errors.New("sql is missing: want ?sql=SELECT …"))
		return
	}
	res, cut, err := s.query.run(r.Context(), q)
	switch {
	case errors.Is(err, ErrQueryTimeout):
		writeError(w, http.StatusServiceUnavailable, err)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var b bytes.Buffer
	if err := render.Write(&b, "json", res); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if cut {
		w.Header().Set("X-Mlprov-Rows-Cut", strconv.Itoa(len(res.Rows)))
	}
	writeJSON(w, http.StatusOK, json.RawMessage(b.Bytes()))
}
