package serve

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"mlprov/engine"
	"mlprov/loaders/openlineage"
)

// Derivation is what the last derivation did, as GET /api/v1/health shows it.
type Derivation struct {
	// At is when it finished; Seconds how long it took; Lag how long the oldest event it
	// took in had been kept by then (the delay between a 201 and the derived tables).
	At      time.Time `json:"at"`
	Seconds float64   `json:"seconds"`
	Lag     float64   `json:"lag_seconds"`
	// Executions, Updated and Removed count the executions it added, changed and removed.
	Executions int64 `json:"executions"`
	Updated    int64 `json:"updated"`
	Removed    int64 `json:"removed"`
	// Error is why it failed, if it did; the derived tables are then as before it.
	Error string `json:"error,omitempty"`
}

// deriver syncs the OpenLineage source from the kept events after events are kept, once
// they stop arriving for quiet, or at the latest maxLag after the first of them.
type deriver struct {
	eng           *engine.Engine
	quiet, maxLag time.Duration
	log           *slog.Logger
	kicks         chan struct{}
	stopping      chan struct{}
	stopped       chan struct{}

	mu      sync.Mutex
	pending time.Time // when the oldest event not yet derived was kept; zero when none
	running bool      // a derivation is under way
	last    *Derivation
}

func newDeriver(eng *engine.Engine, quiet, maxLag time.Duration, log *slog.Logger) *deriver {
	d := &deriver{eng: eng, quiet: quiet, maxLag: maxLag, log: log, kicks: make(chan struct{}, 1),
		stopping: make(chan struct{}), stopped: make(chan struct{})}
	go d.run()
	return d
}

// kick says that events were kept.
func (d *deriver) kick() {
	d.mu.Lock()
	if d.pending.IsZero() {
		d.pending = time.Now()
	}
	d.mu.Unlock()
	select {
	case d.kicks <- struct{}{}:
	default:
	}
}

func (d *deriver) run() {
	defer close(d.stopped)
	for {
		select {
		case <-d.kicks:
		case <-d.stopping:
			return
		}
		first := time.Now()
		t := time.NewTimer(d.quiet)
	wait:
		for {
			select {
			case <-d.kicks:
				if left := d.maxLag - time.Since(first); left < d.quiet {
					t.Reset(max(left, 0))
				} else {
					t.Reset(d.quiet)
				}
			case <-t.C:
				break wait
			case <-d.stopping:
				t.Stop()
				return // stop derives what is left
			}
		}
		d.derive()
	}
}

// derive syncs the source from the kept events and records how it went.
func (d *deriver) derive() {
	d.mu.Lock()
	since := d.pending
	d.pending, d.running = time.Time{}, true
	d.mu.Unlock()
	began := time.Now()
	// Not cancelled by a shutdown: a derivation under way is finished, not thrown away.
	res, err := d.eng.Resync(context.Background(), &openlineage.Loader{}, engine.LoadOptions{})
	now := time.Now()
	r := &Derivation{At: now.UTC(), Seconds: now.Sub(began).Seconds(), Executions: res.Executions,
		Updated: res.Updated.Executions, Removed: res.Removed.Executions}
	if !since.IsZero() {
		r.Lag = now.Sub(since).Seconds()
	}
	switch {
	case errors.Is(err, engine.ErrNothingToLoad):
		// Events of parent runs only, say: no run to derive yet.
		d.log.Info("derived: the kept events hold no run yet")
	case err != nil:
		r.Error = err.Error()
		d.log.Error("deriving from the kept events", "err", err)
	default:
		d.log.Info("derived", "executions", r.Executions, "updated", r.Updated, "removed", r.Removed,
			"seconds", r.Seconds, "lag_seconds", r.Lag)
	}
	d.mu.Lock()
	d.last, d.running = r, false
	d.mu.Unlock()
}

// status returns the last derivation (nil before the first) and whether kept events wait
// for a derivation, the one under way or the next.
func (d *deriver) status() (*Derivation, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.running || !d.pending.IsZero()
}

// stop ends the loop and derives once more if events wait, so that the derived tables hold
// every kept event when the store closes.
func (d *deriver) stop() error {
	close(d.stopping)
	<-d.stopped
	if _, pending := d.status(); !pending {
		return nil
	}
	d.derive()
	if last, _ := d.status(); last != nil && last.Error != "" {
		return errors.New("derive: " + last.Error)
	}
	return nil
}
