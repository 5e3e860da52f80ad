package serve

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"mlprov/loaders/openlineage"
)

// maxBatch bounds the events one commit takes, so that a burst is committed in steps.
const maxBatch = 1000

// errStopped means the server is shutting down and took no more events.
var errStopped = errors.New("the server is shutting down")

// write is one event waiting for its commit; done receives the commit's error.
type write struct {
	event *openlineage.Posted
	done  chan error
}

// writer is the store's one writer of posted events: it commits, in one transaction, every
// event that queued while its previous commit ran (group commit).
type writer struct {
	inbox    *openlineage.Inbox
	queue    chan write
	stopping chan struct{}
	stopped  chan struct{}
	kept     func() // told after each commit that kept a new event
	log      *slog.Logger
}

func newWriter(inbox *openlineage.Inbox, kept func(), log *slog.Logger) *writer {
	w := &writer{inbox: inbox, queue: make(chan write, 4*maxBatch), stopping: make(chan struct{}), stopped: make(chan struct{}), kept: kept, log: log}
	go w.run()
	return w
}

// submit queues the event and waits for its commit: nil means it is durable.
func (w *writer) submit(p *openlineage.Posted) error {
	wr := write{event: p, done: make(chan error, 1)}
	select {
	case w.queue <- wr:
	case <-w.stopping:
		return errStopped
	}
	return <-wr.done
}

// run commits what queued until stop, then what is still queued.
func (w *writer) run() {
	defer close(w.stopped)
	for {
		var first write
		select {
		case first = <-w.queue:
		case <-w.stopping:
			for {
				select {
				case first = <-w.queue:
					w.commit(w.batch(first))
				default:
					return
				}
			}
		}
		w.commit(w.batch(first))
	}
}

// batch takes first and whatever else is queued, up to maxBatch events.
func (w *writer) batch(first write) []write {
	b := []write{first}
	for len(b) < maxBatch {
		select {
		case wr := <-w.queue:
			b = append(b, wr)
		default:
			return b
		}
	}
	return b
}

// commit keeps the batch's events in one transaction and answers each of them.
func (w *writer) commit(b []write) {
	events := make([]*openlineage.Posted, len(b))
	for i, wr := range b {
		events[i] = wr.event
	}
	began := time.Now()
	// A commit under way finishes even when the server is told to stop.
	fresh, err := w.inbox.Keep(context.Background(), events, began)
	if err != nil {
		w.log.Error("keeping posted events", "events", len(b), "err", err)
	} else {
		w.log.Debug("kept posted events", "events", len(b), "new", fresh, "seconds", time.Since(began).Seconds())
	}
	if err == nil && fresh > 0 {
		// Before the answers, so that whoever hears of a 201 finds the derivation pending.
		w.kept()
	}
	for _, wr := range b {
		wr.done <- err
	}
}

// stop makes submit refuse new events and returns once every queued one is committed.
func (w *writer) stop() {
	close(w.stopping)
	<-w.stopped
}
