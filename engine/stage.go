package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Pipeline is one canonical pipelines row as a loader stages it. The engine assigns source_id.
type Pipeline struct {
	ID    int64
	Name  string
	Attrs string // a JSON object, or "" for NULL
	Src   string // the file and record the row came from, for error messages
}

// Execution is one canonical executions row. Empty strings and zero times stage as NULL; an
// empty Category lets the engine take it from op_categories.
type Execution struct {
	ID         int64
	PipelineID int64
	RunID      string
	NodeID     string
	OpType     string
	Category   string
	State      string
	Start, End time.Time
	Cost       sql.NullFloat64
	Attrs      string
	Src        string
}

// Artifact is one canonical artifacts row. Empty strings and zero times stage as NULL.
type Artifact struct {
	ID         int64
	PipelineID int64
	Type       string
	URI        string
	Span       sql.NullInt64
	Version    sql.NullInt64
	State      string
	Created    time.Time
	SizeBytes  sql.NullInt64
	Attrs      string
	Src        string
}

// Event is one canonical events row: Direction is "in" or "out", Role the channel key.
type Event struct {
	ExecutionID int64
	ArtifactID  int64
	Direction   string
	Role        string
	Time        time.Time
	Src         string
}

// StageWriter appends rows to the stage tables through DuckDB's Appender, which is two
// orders of magnitude faster than row-by-row INSERTs. It is valid only inside Stage.Write.
// Each row goes in as the values of its table's Columns in order, then src.
type StageWriter struct {
	pipelines, executions, artifacts, events *duckdb.Appender

	conn  driver.Conn
	extra map[string]*duckdb.Appender // the loader's own temporary tables (see Append)
}

// Write runs fn with a StageWriter on the load's connection and flushes every row it appended
// before returning. fn must not use st.Conn: the connection is held for the appenders. fn may
// call ID, since the source's keys are read before the connection is taken.
func (st *Stage) Write(ctx context.Context, fn func(w *StageWriter) error) error {
	if st.keys == nil {
		if err := st.readKeys(ctx); err != nil {
			return err
		}
	}
	return st.Conn.Raw(func(dc any) (err error) {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("stage: unexpected driver connection %T", dc)
		}
		appenders := make(map[string]*duckdb.Appender, len(Tables))
		for _, t := range Tables {
			a, err := duckdb.NewAppender(conn, "temp", "main", "stage_"+t.Name)
			if err != nil {
				return fmt.Errorf("stage: open appender for stage_%s: %w", t.Name, err)
			}
			appenders[t.Name] = a
		}
		w := &StageWriter{pipelines: appenders["pipelines"], executions: appenders["executions"],
			artifacts: appenders["artifacts"], events: appenders["events"], conn: conn, extra: map[string]*duckdb.Appender{}}
		defer func() {
			// Close flushes: every appender must be closed, and the first error kept.
			for _, t := range Tables {
				if cerr := appenders[t.Name].CloseWithCancel(ctx); cerr != nil && err == nil {
					err = fmt.Errorf("stage: flush stage_%s: %w", t.Name, cerr)
				}
			}
			for name, a := range w.extra {
				if cerr := a.CloseWithCancel(ctx); cerr != nil && err == nil {
					err = fmt.Errorf("stage: flush %s: %w", name, cerr)
				}
			}
		}()
		return fn(w)
	})
}

// Append appends one row to table, a temporary table the loader made on st.Conn before Write
// to hold rows it finishes in SQL once they are all written (joins, ranking), so that they
// need not wait in the loader's memory. The rows are flushed when Write returns.
func (w *StageWriter) Append(table string, values ...driver.Value) error {
	a, ok := w.extra[table]
	if !ok {
		var err error
		if a, err = duckdb.NewAppender(w.conn, "temp", "main", table); err != nil {
			return fmt.Errorf("stage: open appender for %s: %w", table, err)
		}
		w.extra[table] = a
	}
	return a.AppendRow(values...)
}

func nullString(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// nullJSON passes JSON text as is: the driver marshals values for JSON columns, and a plain
// string would be stored as a JSON string literal.
func nullJSON(s string) driver.Value {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func nullTime(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func nullFloat(f sql.NullFloat64) driver.Value {
	if !f.Valid {
		return nil
	}
	return f.Float64
}

func nullInt(i sql.NullInt64) driver.Value {
	if !i.Valid {
		return nil
	}
	return i.Int64
}

// Pipeline stages one pipeline.
func (w *StageWriter) Pipeline(p Pipeline) error {
	return w.pipelines.AppendRow(p.ID, p.Name, nil, nullJSON(p.Attrs), nullString(p.Src))
}

// Execution stages one execution.
func (w *StageWriter) Execution(x Execution) error {
	return w.executions.AppendRow(x.ID, x.PipelineID, nullString(x.RunID), nullString(x.NodeID),
		x.OpType, nullString(x.Category), x.State, nullTime(x.Start), nullTime(x.End),
		nullFloat(x.Cost), nullJSON(x.Attrs), nil, nullString(x.Src))
}

// Artifact stages one artifact.
func (w *StageWriter) Artifact(a Artifact) error {
	return w.artifacts.AppendRow(a.ID, a.PipelineID, a.Type, nullString(a.URI), nullInt(a.Span),
		nullInt(a.Version), nullString(a.State), nullTime(a.Created), nullInt(a.SizeBytes),
		nullJSON(a.Attrs), nil, nullString(a.Src))
}

// Event stages one event.
func (w *StageWriter) Event(e Event) error {
	return w.events.AppendRow(e.ExecutionID, e.ArtifactID, e.Direction, nullString(e.Role),
		nullTime(e.Time), nullString(e.Src))
}

// IDSpan is how many ids each source's range holds: a source numbers its records from
// its Base, so that two sources never give the same id and a record keeps its id from one
// sync of its source to the next.
const IDSpan int64 = 1_000_000_000_000

// ID returns the id of the record that key names in the source (such as "run " and an
// OpenLineage runId), the same at every load of the source: a key seen for the first time
// gets the next id of the source's range above KeyFloor. The keys are saved with the load.
func (st *Stage) ID(ctx context.Context, key string) (int64, error) {
	return st.idIn(ctx, key, st.KeyFloor, engineFloor)
}

// engineFloor starts the part of a source's range kept for the rows the engine makes (the
// PushedModel of a deployment the deploy rule names): loaders' ids stay below it.
const engineFloor = IDSpan / 4 * 3

// idIn is ID for ids in [Base+lo, Base+hi).
func (st *Stage) idIn(ctx context.Context, key string, lo, hi int64) (int64, error) {
	if st.keys == nil {
		if err := st.readKeys(ctx); err != nil {
			return 0, err
		}
	}
	if id, ok := st.keys[key]; ok {
		return id, nil
	}
	last, ok := st.last[lo]
	if !ok {
		last = st.Base + lo
		for _, id := range st.keys {
			if id > last && id < st.Base+hi {
				last = id
			}
		}
	}
	last++
	if last >= st.Base+hi {
		return 0, fmt.Errorf("source %d has used every id of its range", st.SourceID)
	}
	st.last[lo] = last
	st.keys[key] = last
	st.newKeys = append(st.newKeys, key)
	return last, nil
}

// readKeys reads the keys earlier loads of the source saved, none when it is replaced.
func (st *Stage) readKeys(ctx context.Context) error {
	st.keys, st.last = map[string]int64{}, map[int64]int64{}
	if st.Replacing {
		return nil
	}
	rows, err := st.Conn.QueryContext(ctx, `SELECT key, id FROM source_keys WHERE source_id = ?`, st.SourceID)
	if err != nil {
		return fmt.Errorf("read source keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return fmt.Errorf("read source keys: %w", err)
		}
		st.keys[k] = id
	}
	return rows.Err()
}

// saveKeys records the keys this load gave ids to for the first time.
func (st *Stage) saveKeys(ctx context.Context) error {
	if len(st.newKeys) == 0 {
		return nil
	}
	return st.Conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("save source keys: unexpected driver connection %T", dc)
		}
		a, err := duckdb.NewAppender(conn, "", "main", "source_keys")
		if err != nil {
			return fmt.Errorf("save source keys: %w", err)
		}
		for _, k := range st.newKeys {
			if err := a.AppendRow(st.SourceID, k, st.keys[k]); err != nil {
				a.Close()
				return fmt.Errorf("save source keys: %w", err)
			}
		}
		return a.CloseWithCancel(ctx)
	})
}

// Categories returns the store's op_categories mapping, so that a loader can tell which of
// its operator types fall to the category other.
func (st *Stage) Categories(ctx context.Context) (map[string]string, error) {
	rows, err := st.Conn.QueryContext(ctx, `SELECT op_type, category FROM op_categories`)
	if err != nil {
		return nil, fmt.Errorf("read op_categories: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var op, cat string
		if err := rows.Scan(&op, &cat); err != nil {
			return nil, err
		}
		m[op] = cat
	}
	return m, rows.Err()
}
