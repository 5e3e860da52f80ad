package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"path"
	"sync"
	"time"

	"mlprov/report"
	"mlprov/report/runner"
)

// reportCache keeps the report page of one store state: the report is rendered again only
// once the store has changed.
type reportCache struct {
	mu      sync.Mutex // held while a report renders, so that requests wait for one rendering
	key     string
	files   map[string][]byte // by path in the report's folder
	renders int               // how many times it rendered, for tests
}

// reportKey identifies the store's state: its sources, what each holds and when it was
// loaded, and the last derivation from posted events.
func (s *Server) reportKey(r *http.Request) (string, error) {
	info, err := s.eng.Info(r.Context())
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintln(h, info.Fingerprint)
	for _, src := range info.Sources {
		fmt.Fprintln(h, src.ID, src.Fingerprint, src.LoadedAt.UnixNano(), src.Rows)
	}
	if last, _ := s.deriver.status(); last != nil {
		fmt.Fprintln(h, last.At.UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// reportPage answers the report that mlprov report writes, for the store as it is: /report/
// is its report.html, and /report/PATH the other files of its folder, which the page links to.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "" {
		name = "report.html"
	}
	c := &s.report
	c.mu.Lock()
	defer c.mu.Unlock()
	key, err := s.reportKey(r)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	if key != c.key || c.files == nil {
		start := time.Now()
		in, err := runner.Run(r.Context(), s.eng, runner.Options{Params: map[string]any{"served": true}})
		if err != nil {
			s.pageError(w, http.StatusInternalServerError, fmt.Errorf("report: %w", err))
			return
		}
		in.Version = s.opts.Version
		files, err := report.Files(r.Context(), *in)
		if err != nil {
			s.pageError(w, http.StatusInternalServerError, fmt.Errorf("report: %w", err))
			return
		}
		c.key, c.files = key, files
		c.renders++
		s.opts.Log.Info("rendered the report", "seconds", time.Since(start).Seconds())
	}
	b, ok := c.files[name]
	switch {
	case !ok:
		s.pageError(w, http.StatusNotFound, fmt.Errorf("the report has no file %s", name))
	case name == "report.html":
		// The report is one page: inline styles, plots as data URLs, no scripts.
		writeHTML(w, http.StatusOK, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'", b)
	default:
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		_, _ = w.Write(b) // a client that went away cannot be told so
	}
}
