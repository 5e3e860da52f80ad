package mlmd

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Prop is one MLMD property to write. Value is an int, int64, float64, string, bool, a Struct
// (written as an mlmd-struct:: string), a *anypb.Any (written to proto_value, schema 10), or a
// RawString written as it is (for stores that carry broken values on purpose).
type Prop struct {
	Name   string
	Custom bool
	Value  any
}

// Struct is a property value that MLMD stores as a google.protobuf.Struct.
type Struct map[string]any

// RawString is a string_value written verbatim, even when it looks like an mlmd-struct.
type RawString string

// RawProto is a proto_value written verbatim (schema 10).
type RawProto string

// Writer creates an MLMD SQLite store, the way TFX and Kubeflow lay one out, in one
// transaction. It is how tests build fixtures and how a corpus is written as MLMD. Methods
// record the first error and later calls do nothing; Close returns it. Callers must Close.
type Writer struct {
	db      *sql.DB
	tx      *sql.Tx
	version int
	err     error
	types   map[[2]any]int64 // (name, kind) -> id
	stmts   map[string]*sql.Stmt
	next    map[string]int64 // table -> next id
}

// Create makes a new MLMD store at path (which must not exist) at the given schema version.
func Create(ctx context.Context, path string, version int) (*Writer, error) {
	if version < MinSchemaVersion || version > MaxSchemaVersion {
		return nil, fmt.Errorf("create %s: schema version %d: mlprov writes %d to %d", path, version, MinSchemaVersion, MaxSchemaVersion)
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("create %s: %w", path, os.ErrExist)
	}
	db, err := sql.Open("sqlite3", "file:"+quoteURIPath(path)+"?mode=rwc")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	// A fresh file that nobody reads until Close: durability buys nothing here.
	for _, q := range []string{"PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	w := &Writer{db: db, tx: tx, version: version, types: map[[2]any]int64{}, stmts: map[string]*sql.Stmt{}, next: map[string]int64{}}
	for _, q := range ddl(version) {
		w.exec(q)
	}
	w.exec("INSERT INTO `MLMDEnv` VALUES (?)", version)
	if w.err != nil {
		_ = tx.Rollback() // the error that made it roll back is the one to report
		db.Close()
		return nil, fmt.Errorf("create %s: %w", path, w.err)
	}
	return w, nil
}

// Version is the schema version the store is written at.
func (w *Writer) Version() int { return w.version }

// Err returns the first error any method met.
func (w *Writer) Err() error { return w.err }

// Close commits the store and closes it, returning the first error any method met.
func (w *Writer) Close() error {
	if w.db == nil {
		return w.err
	}
	for _, s := range w.stmts {
		s.Close()
	}
	if w.err == nil {
		w.err = w.tx.Commit()
	} else {
		_ = w.tx.Rollback() // w.err says why
	}
	if err := w.db.Close(); err != nil && w.err == nil {
		w.err = err
	}
	w.db = nil
	return w.err
}

func (w *Writer) exec(q string, args ...any) {
	if w.err != nil {
		return
	}
	s, ok := w.stmts[q]
	if !ok {
		var err error
		if s, err = w.tx.Prepare(q); err != nil {
			w.err = err
			return
		}
		w.stmts[q] = s
	}
	if _, err := s.Exec(args...); err != nil {
		w.err = fmt.Errorf("%s: %w", q, err)
	}
}

func (w *Writer) id(table string) int64 {
	w.next[table]++
	return w.next[table]
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Type returns the id of the type name of the given kind ("execution", "artifact" or
// "context"), creating it on first use; base names a system base type such as mlmd.Train
// that the type derives from (ParentType), or is empty.
func (w *Writer) Type(name, kind, base string) int64 {
	k := map[string]int{"execution": KindExecution, "artifact": KindArtifact, "context": KindContext}[kind]
	key := [2]any{name, k}
	if id, ok := w.types[key]; ok {
		return id
	}
	id := w.id("Type")
	w.types[key] = id
	w.exec("INSERT INTO `Type` (`id`, `name`, `type_kind`) VALUES (?, ?, ?)", id, name, k)
	if base != "" {
		w.exec("INSERT INTO `ParentType` VALUES (?, ?)", id, w.Type(base, kind, ""))
	}
	return id
}

// Context creates a context of the type and name and returns its id; parents are
// ParentContext links (a Kubeflow run's pipeline).
func (w *Writer) Context(typeName, name string, t time.Time, parents ...int64) int64 {
	id := w.id("Context")
	w.exec("INSERT INTO `Context` (`id`, `type_id`, `name`, `create_time_since_epoch`, `last_update_time_since_epoch`) VALUES (?, ?, ?, ?, ?)",
		id, w.Type(typeName, "context", ""), name, ms(t), ms(t))
	for _, p := range parents {
		w.exec("INSERT INTO `ParentContext` VALUES (?, ?)", id, p)
	}
	return id
}

// Execution creates an execution and returns its id. state is an MLMD state (ExecComplete...)
// or -1 for NULL, as legacy launchers leave it.
func (w *Writer) Execution(typeID int64, state int, created, updated time.Time, props ...Prop) int64 {
	id := w.id("Execution")
	var st any
	if state >= 0 {
		st = state
	}
	w.exec("INSERT INTO `Execution` (`id`, `type_id`, `last_known_state`, `create_time_since_epoch`, `last_update_time_since_epoch`) VALUES (?, ?, ?, ?, ?)",
		id, typeID, st, ms(created), ms(updated))
	w.props("ExecutionProperty", id, props)
	return id
}

// Artifact creates an artifact and returns its id.
func (w *Writer) Artifact(typeID int64, uri string, state int, created time.Time, props ...Prop) int64 {
	id := w.id("Artifact")
	w.exec("INSERT INTO `Artifact` (`id`, `type_id`, `uri`, `state`, `create_time_since_epoch`, `last_update_time_since_epoch`) VALUES (?, ?, ?, ?, ?, ?)",
		id, typeID, uri, state, ms(created), ms(created))
	w.props("ArtifactProperty", id, props)
	return id
}

// Event links an execution and an artifact (typ is EventInput, EventOutput...) with the
// channel key and index steps TFX writes, and returns its id. An empty key writes no path.
func (w *Writer) Event(exec, art int64, typ int, t time.Time, key string, index int) int64 {
	id := w.id("Event")
	w.exec("INSERT INTO `Event` (`id`, `artifact_id`, `execution_id`, `type`, `milliseconds_since_epoch`) VALUES (?, ?, ?, ?, ?)",
		id, art, exec, typ, ms(t))
	if key != "" {
		w.exec("INSERT INTO `EventPath` (`event_id`, `is_index_step`, `step_index`, `step_key`) VALUES (?, 0, NULL, ?)", id, key)
		w.exec("INSERT INTO `EventPath` (`event_id`, `is_index_step`, `step_index`, `step_key`) VALUES (?, 1, ?, NULL)", id, index)
	}
	return id
}

// Associate links an execution to a context.
func (w *Writer) Associate(ctxID, exec int64) {
	w.exec("INSERT OR IGNORE INTO `Association` (`context_id`, `execution_id`) VALUES (?, ?)", ctxID, exec)
}

// Attribute links an artifact to a context.
func (w *Writer) Attribute(ctxID, art int64) {
	w.exec("INSERT OR IGNORE INTO `Attribution` (`context_id`, `artifact_id`) VALUES (?, ?)", ctxID, art)
}

// Exec runs a statement on the store being written, for fixtures that need what the typed
// methods do not offer (a dangling id, a foreign table).
func (w *Writer) Exec(q string, args ...any) { w.exec(q, args...) }

// ContextProps sets properties on a context.
func (w *Writer) ContextProps(id int64, props ...Prop) { w.props("ContextProperty", id, props) }

func (w *Writer) props(table string, owner int64, props []Prop) {
	for _, p := range props {
		if w.err != nil {
			return
		}
		col, v, err := w.encode(p.Value)
		if err != nil {
			w.err = fmt.Errorf("%s %d %q: %w", table, owner, p.Name, err)
			return
		}
		w.exec(fmt.Sprintf("INSERT INTO `%s` VALUES (?, ?, ?, %s)", table, w.valueSlots(col)), owner, p.Name, p.Custom, v)
	}
}

// valueSlots places one value among the value columns of this schema version.
func (w *Writer) valueSlots(col string) string {
	cols := []string{"int_value", "double_value", "string_value"}
	if w.version >= 7 {
		cols = append(cols, "byte_value")
	}
	if w.version >= 10 {
		cols = append(cols, "proto_value", "bool_value")
	}
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		if c == col {
			s += "?"
		} else {
			s += "NULL"
		}
	}
	return s
}

var errNeedsV10 = errors.New("proto and bool values need schema version 10")

// encode picks the value column and the stored form of a property value.
func (w *Writer) encode(v any) (string, any, error) {
	switch v := v.(type) {
	case int:
		return "int_value", int64(v), nil
	case int64:
		return "int_value", v, nil
	case float64:
		return "double_value", v, nil
	case string:
		return "string_value", v, nil
	case RawString:
		return "string_value", string(v), nil
	case bool:
		if w.version < 10 {
			// Before bool_value existed, TFX stored flags as ints.
			if v {
				return "int_value", int64(1), nil
			}
			return "int_value", int64(0), nil
		}
		return "bool_value", v, nil
	case Struct:
		s, err := structpb.NewStruct(v)
		if err != nil {
			return "", nil, err
		}
		b, err := proto.Marshal(s)
		if err != nil {
			return "", nil, err
		}
		return "string_value", structPrefix + base64.StdEncoding.EncodeToString(b), nil
	case *anypb.Any:
		if w.version < 10 {
			return "", nil, errNeedsV10
		}
		b, err := proto.Marshal(v)
		if err != nil {
			return "", nil, err
		}
		return "proto_value", base64.StdEncoding.EncodeToString(b), nil
	case RawProto:
		if w.version < 10 {
			return "", nil, errNeedsV10
		}
		return "proto_value", string(v), nil
	}
	return "", nil, fmt.Errorf("unsupported property value %T", v)
}
