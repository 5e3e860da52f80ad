package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"mlprov/prune"
)

// adviseRequest is the body of POST /api/v1/advise.
type adviseRequest struct {
	PipelineID *int64 `json:"pipeline_id"`
	// At is when the Trainer starts, in a form prune.ParseTime reads; empty means now.
	At string `json:"at"`
}

// advise answers whether a pipeline's Trainer starting at a time should train, with what
// mlprov advise --pipeline ID --at TIME --json prints.
func (s *Server) advise(w http.ResponseWriter, r *http.Request) {
	if !s.postAllowed(w, r) {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	var req adviseRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf(`body: %w (want {"pipeline_id": ID, "at": TIME})`, err))
		return
	}
	if req.PipelineID == nil {
		writeError(w, http.StatusBadRequest, errors.New(`pipeline_id is missing: want {"pipeline_id": ID, "at": TIME}`))
		return
	}
	at := time.Now().UTC()
	if req.At != "" {
		if at, err = prune.ParseTime(req.At); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("at %q: %w", req.At, err))
			return
		}
	}
	a, status, err := s.adviseAt(r, *req.PipelineID, at)
	if err != nil {
		writeError(w, status, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// adviseAt runs prune.Advise for pipeline at at with the store's newest model. On failure it
// returns the HTTP status that fits: 404 for no such pipeline, 409 for no model yet.
func (s *Server) adviseAt(r *http.Request, pipeline int64, at time.Time) (*prune.Advice, int, error) {
	ctx := r.Context()
	var n int
	if err := s.eng.DB().QueryRowContext(ctx, `SELECT count(*) FROM pipelines WHERE pipeline_id = ?`, pipeline).Scan(&n); err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("find pipeline %d: %w", pipeline, err)
	}
	if n == 0 {
		return nil, http.StatusNotFound, fmt.Errorf("no pipeline %d (GET /api/v1/pipelines lists them)", pipeline)
	}
	m, err := prune.Latest(ctx, s.eng.DB())
	if errors.Is(err, prune.ErrNoModel) {
		return nil, http.StatusConflict, fmt.Errorf("%w; run mlprov prune on the store", prune.NoModelError(ctx, s.eng.DB()))
	}
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	a, err := prune.Advise(ctx, s.eng.DB(), m, pipeline, at)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return a, http.StatusOK, nil
}
