package openlineage

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"mlprov/engine"
)

// event is one distinct event the source received: its canonical text and digest, the file
// and line it was first read from (and its place among the file's events, since a JSON array
// may hold many on one line), and what check found in it.
type event struct {
	digest string
	text   []byte // the event as canonical JSON
	file   string
	line   int
	pos    int // its index among its file's events
	ev     RunEvent
	time   time.Time // its eventTime; zero for a skipped event
	skip   string    // why the builder skips it (an event without a run), or ""
}

func (e *event) src() string { return fmt.Sprintf("%s: line %d", e.file, e.line) }

// newEvent returns the event rec read from file. Its digest is over its canonical JSON (keys
// sorted, no spaces, numbers as written), so that the same event written another way, in
// another file or in another load, is recognised.
func newEvent(file string, rec Record, pos int) (*event, error) {
	dec := json.NewDecoder(bytes.NewReader(rec.Raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", file, rec.Line, describe(err))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", file, rec.Line, err)
	}
	text := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	sum := sha256.Sum256(text)
	return &event{digest: hex.EncodeToString(sum[:]), text: text, file: file, line: rec.Line, pos: pos, ev: rec.Event}, nil
}

// readEvents returns the events earlier loads of the source kept, checked again (none when
// the source is replaced): an error names the file and line the event was read from.
func readEvents(ctx context.Context, st *engine.Stage) ([]*event, error) {
	if st.Replacing {
		return nil, nil
	}
	rows, err := st.Conn.QueryContext(ctx, `SELECT digest, file, line, position, event FROM openlineage_events WHERE source_id = ?`, st.SourceID)
	if err != nil {
		return nil, fmt.Errorf("read kept events: %w", err)
	}
	defer rows.Close()
	var out []*event
	for rows.Next() {
		e := &event{}
		var text string
		if err := rows.Scan(&e.digest, &e.file, &e.line, &e.pos, &text); err != nil {
			return nil, fmt.Errorf("read kept events: %w", err)
		}
		e.text = []byte(text)
		if err := json.Unmarshal(e.text, &e.ev); err != nil {
			return nil, fmt.Errorf("%s: kept event: %w", e.src(), describe(err))
		}
		if err := check(e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read kept events: %w", err)
	}
	return out, nil
}

// sortEvents puts events in the order the builder takes them: by time, then (events of one
// instant, such as a schedule that starts a whole pipeline at once) by file name and place
// in the file, then by digest. Where the file stands in a folder does not count, so the order is the same
// whether the files arrive one by one or together.
func sortEvents(es []*event) {
	slices.SortStableFunc(es, func(a, b *event) int {
		return cmp.Or(a.time.Compare(b.time), strings.Compare(path.Base(a.file), path.Base(b.file)),
			cmp.Compare(a.pos, b.pos), strings.Compare(a.digest, b.digest))
	})
}

// saveEvents appends events to openlineage_events for the source, in the load's transaction
// (see engine.Stage.AtCommit).
func saveEvents(ctx context.Context, st *engine.Stage, es []*event) error {
	if len(es) == 0 {
		return nil
	}
	return st.Conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("keep events: unexpected driver connection %T", dc)
		}
		a, err := duckdb.NewAppender(conn, "", "main", "openlineage_events")
		if err != nil {
			return fmt.Errorf("keep events: %w", err)
		}
		for _, e := range es {
			var run, at driver.Value
			if e.ev.Run != nil && e.ev.Run.RunID != "" {
				run = e.ev.Run.RunID
			}
			if !e.time.IsZero() {
				at = e.time
			}
			if err := a.AppendRow(st.SourceID, e.digest, run, at, e.file, int64(e.line), int64(e.pos), string(e.text)); err != nil {
				a.Close()
				return fmt.Errorf("keep events: %w", err)
			}
		}
		if err := a.CloseWithCancel(ctx); err != nil {
			return fmt.Errorf("keep events: %w", err)
		}
		return nil
	})
}
