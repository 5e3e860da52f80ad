package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
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
	html    []byte
	renders int // how many times it rendered, for tests
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

// reportPage answers the report that mlprov report writes as report.html, for the store as
// it is.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	c := &s.report
	c.mu.Lock()
	defer c.mu.Unlock()
	key, err := s.reportKey(r)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err)
		return
	}
	if key != c.key || c.html == nil {
		start := time.Now()
		in, err := runner.Run(r.Context(), s.eng, runner.Options{Params: map[string]any{"served": true}})
		if err != nil {
			s.pageError(w, http.StatusInternalServerError, fmt.Errorf("report: %w", err))
			return
		}
		in.Version = s.opts.Version
		html, err := report.HTML(r.Context(), *in)
		if err != nil {
			s.pageError(w, http.StatusInternalServerError, fmt.Errorf("report: %w", err))
			return
		}
		c.key, c.html = key, html
		c.renders++
		s.opts.Log.Info("rendered the report", "seconds", time.Since(start).Seconds())
	}
	// The report is one page: inline styles, plots as data URLs, no scripts.
	writeHTML(w, http.StatusOK, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'", c.html)
}
