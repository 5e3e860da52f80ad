package openlineage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mlprov/engine"
)

// ErrOneEvent means a posted body holds no event, or more than one.
var ErrOneEvent = errors.New("want one OpenLineage event per request")

// Posted is one event received over HTTP (posted to mlprov serve), read and checked as a
// load reads and checks an event of a log.
type Posted struct {
	e *event
}

// ReadPosted reads the one event of body, a JSON RunEvent (or JobEvent or DatasetEvent, which
// are kept and skipped as a load skips them), and checks it as a load does. Errors name the
// field at fault, after name (such as "event").
func ReadPosted(name string, body []byte) (*Posted, error) {
	recs, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("%s: %w, not %d", name, ErrOneEvent, len(recs))
	}
	e, err := newEvent(name, recs[0], 0)
	if err != nil {
		return nil, err
	}
	if err := check(e); err != nil {
		return nil, err
	}
	return &Posted{e: e}, nil
}

// Digest identifies the event: the SHA-256 of its canonical JSON, as the store keeps it.
func (p *Posted) Digest() string { return p.e.digest }

// Inbox keeps posted events in a store for its one writer (mlprov serve, which holds the
// store while it runs): it remembers the digests of the events the store keeps, so that an
// event it holds already costs no transaction and a commit reads nothing back. An Inbox is
// not safe for concurrent use.
type Inbox struct {
	eng    *engine.Engine
	source int64           // the source's id, once a Keep gave it
	seen   map[string]bool // digests of the events the store keeps
}

// OpenInbox reads the digests of the events e keeps.
func OpenInbox(ctx context.Context, e *engine.Engine) (*Inbox, error) {
	rows, err := e.DB().QueryContext(ctx, `SELECT digest FROM openlineage_events
		WHERE source_id IN (SELECT source_id FROM sources WHERE kind = ? AND identity = ?)`, engine.FormatOpenLineage, engine.FormatOpenLineage)
	if err != nil {
		return nil, fmt.Errorf("read kept events: %w", err)
	}
	defer rows.Close()
	in := &Inbox{eng: e, seen: map[string]bool{}}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("read kept events: %w", err)
		}
		in.seen[d] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read kept events: %w", err)
	}
	return in, nil
}

// Keep stores events in the store's OpenLineage source, in one transaction, and returns how
// many of them it did not hold yet: an event it holds already (posted or loaded before, or
// twice among events) is kept once. Each is recorded as read from a file named for when it
// arrived ("posted at" the time), in the order given, so that events of one instant keep
// that order. Keep returns once the events are durable; the source's rows follow at the next
// engine.Resync.
func (in *Inbox) Keep(ctx context.Context, events []*Posted, arrived time.Time) (int, error) {
	file := "posted at " + arrived.UTC().Format("2006-01-02T15:04:05.000000000Z")
	var es []*event
	fresh := map[string]bool{}
	for i, p := range events {
		if in.seen[p.e.digest] || fresh[p.e.digest] {
			continue
		}
		fresh[p.e.digest] = true
		ev := *p.e
		ev.file, ev.line, ev.pos = file, 1, i
		es = append(es, &ev)
	}
	if len(es) == 0 {
		return 0, nil
	}
	src, err := in.eng.Keep(ctx, &Loader{}, in.source, func(conn *sql.Conn, src int64) error {
		return saveEvents(ctx, &engine.Stage{Conn: conn, SourceID: src}, es)
	})
	if err != nil {
		return 0, err
	}
	in.source = src
	for d := range fresh {
		in.seen[d] = true
	}
	return len(es), nil
}

// Kept implements engine.Keeper: a digest of the events the store keeps, which changes with
// every event kept (events are only ever added, until a load replaces the source).
func (*Loader) Kept(ctx context.Context, q engine.Querier) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT count(*), coalesce(bit_xor(hash(digest)), 0) FROM openlineage_events
		WHERE source_id IN (SELECT source_id FROM sources WHERE kind = ? AND identity = ?)`, engine.FormatOpenLineage, engine.FormatOpenLineage)
	if err != nil {
		return "", fmt.Errorf("read kept events: %w", err)
	}
	defer rows.Close()
	var n int64
	var sum uint64
	for rows.Next() {
		if err := rows.Scan(&n, &sum); err != nil {
			return "", fmt.Errorf("read kept events: %w", err)
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		return "", err
	}
	return fmt.Sprintf("kept:%d:%016x", n, sum), nil
}
