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

// Keep stores events in the store's OpenLineage source, in one transaction, and returns how
// many of them it did not hold yet: an event it holds already (posted or loaded before, or
// twice among events) is kept once. Each is recorded as read from a file named for when it
// arrived ("posted at" the time), in the order given, so that events of one instant keep
// that order. Keep returns once the events are durable; the source's rows follow at the next
// engine.Resync.
func Keep(ctx context.Context, e *engine.Engine, events []*Posted, arrived time.Time) (int, error) {
	file := "posted at " + arrived.UTC().Format("2006-01-02T15:04:05.000000000Z")
	fresh := 0
	err := e.Keep(ctx, &Loader{}, func(conn *sql.Conn, src int64) error {
		digests := make([]string, 0, len(events))
		for _, p := range events {
			digests = append(digests, p.e.digest)
		}
		seen, err := keptDigests(ctx, conn, src, digests)
		if err != nil {
			return err
		}
		var es []*event
		for i, p := range events {
			if seen[p.e.digest] {
				continue
			}
			seen[p.e.digest] = true
			ev := *p.e
			ev.file, ev.line, ev.pos = file, 1, i
			es = append(es, &ev)
		}
		fresh = len(es)
		return saveEvents(ctx, &engine.Stage{Conn: conn, SourceID: src}, es)
	})
	return fresh, err
}

// keptDigests returns which of digests the source src keeps already.
func keptDigests(ctx context.Context, conn *sql.Conn, src int64, digests []string) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT digest FROM openlineage_events WHERE source_id = ? AND digest IN (SELECT unnest(?::VARCHAR[]))`, src, digests)
	if err != nil {
		return nil, fmt.Errorf("read kept events: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("read kept events: %w", err)
		}
		seen[d] = true
	}
	return seen, rows.Err()
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
