package mlmd

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"mlprov/engine"
)

// mtype is one row of Type with the names of its ParentType base types.
type mtype struct {
	name  string
	kind  int64
	bases []string
}

// mcontext is one row of Context.
type mcontext struct {
	typeName string
	name     string
	parents  []int64
}

// mexec is one row of Execution with its decoded properties.
type mexec struct {
	id, typeID     int64
	state          sql.NullInt64
	name           string
	create, update int64
	props          props
}

// mart is one row of Artifact with its decoded properties.
type mart struct {
	id, typeID     int64
	uri, name      string
	state          sql.NullInt64
	create, update int64
	props          props
}

// mevent is one row of Event.
type mevent struct {
	id, artifact, execution int64
	typ                     int64
	ms                      int64
}

// reader reads one MLMD store into memory and converts it to canonical rows. MLMD spreads a
// record over several tables (properties, contexts, event paths); reading each table once
// and joining in Go keeps the database's side to full scans, whatever indexes the store
// has. The queries of the MLMD tables are the same for every backend; only the catalog and
// the meaning of errors differ (see backend).
type reader struct {
	db         backend
	file       string // the store's name in errors: its file's name, or its database's
	fallback   string // the pipeline of records nothing else places (see converter)
	categories map[string]string
	stage      *engine.Stage

	version     int
	cols        map[string]map[string]bool
	types       map[int64]*mtype
	contexts    map[int64]*mcontext
	ctxProps    map[int64]props
	assoc       []link // Association, by execution
	attrib      []link // Attribution, by artifact
	execs       []mexec
	arts        []mart
	events      []mevent
	roles       map[int64]string // event id -> channel key
	counts      map[string]int64 // rows per table, to size what is read
	warnings    []string
	done, total atomic.Int64
}

// tables MLMD stores at schema 6 and later; Type, Execution, Artifact and Event are needed,
// the others are read when present.
var (
	requiredTables = []string{"Type", "Execution", "Artifact", "Event"}
	optionalTables = []string{"ParentType", "Context", "ParentContext", "ContextProperty", "ExecutionProperty",
		"ArtifactProperty", "EventPath", "Association", "Attribution"}
)

// backend is one kind of database that holds MLMD stores: it runs the reader's queries and
// knows its own catalog and errors. The reader quotes names with backticks and uses only
// SQL that SQLite and MySQL share.
type backend interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	// tables lists the tables of the store.
	tables(ctx context.Context) ([]string, error)
	// columns lists the columns of one of its tables.
	columns(ctx context.Context, table string) ([]string, error)
	// explain wraps an error of the database met reading what, with what it most likely
	// means for the store.
	explain(what string, err error) error
	// parallel reports whether tables may be read at once, each on its own connection; a
	// backend that reads one snapshot on one connection says no.
	parallel() bool
}

// damaged wraps an error of the database met reading what, naming the store.
func (r *reader) damaged(what string, err error) error {
	return fmt.Errorf("%s: %w", r.file, r.db.explain(what, err))
}

func (r *reader) read(ctx context.Context) error {
	names, err := r.db.tables(ctx)
	if err != nil {
		return r.damaged("read schema", err)
	}
	tables := map[string]bool{}
	for _, n := range names {
		tables[n] = true
	}
	if !tables["MLMDEnv"] {
		return fmt.Errorf("%s: %w (no MLMDEnv table)", r.file, ErrNotMLMD)
	}
	var v sql.NullInt64
	if err := r.db.QueryRowContext(ctx, "SELECT max(schema_version) FROM MLMDEnv").Scan(&v); err != nil {
		return r.damaged("MLMDEnv", err)
	}
	r.version = int(v.Int64)
	if !v.Valid || r.version < MinSchemaVersion || r.version > MaxSchemaVersion {
		shown, hint := "none", "the table is empty"
		switch {
		case !v.Valid:
		case r.version > MaxSchemaVersion:
			shown, hint = strconv.Itoa(r.version), "a newer MLMD wrote this store"
		default:
			shown, hint = strconv.Itoa(r.version), "open the store once with a newer MLMD, which upgrades it"
		}
		return fmt.Errorf("%s: MLMDEnv: %w %s (mlprov reads %d to %d; %s)", r.file, ErrSchemaVersion, shown, MinSchemaVersion, MaxSchemaVersion, hint)
	}
	r.cols = map[string]map[string]bool{}
	for _, t := range requiredTables {
		if !tables[t] {
			return fmt.Errorf("%s: %w: table %s is missing", r.file, ErrNotMLMD, t)
		}
	}
	for _, t := range append(slices.Clone(requiredTables), optionalTables...) {
		if !tables[t] {
			continue
		}
		cols, err := r.columns(ctx, t)
		if err != nil {
			return err
		}
		r.cols[t] = cols
	}
	r.counts = map[string]int64{}
	for _, t := range []string{"Execution", "Artifact", "Event", "ExecutionProperty", "ArtifactProperty"} {
		if r.cols[t] == nil {
			continue
		}
		var n int64
		if err := r.db.QueryRowContext(ctx, "SELECT count(*) FROM `"+t+"`").Scan(&n); err != nil {
			return r.damaged("table "+t, err)
		}
		r.total.Add(n)
		r.counts[t] = n
	}
	// The tables are independent until convert: read them on separate connections at once,
	// since reading through the pure-Go driver is most of a load's time.
	chains := [][]func(context.Context) error{
		{r.readTypes, r.readContexts, r.readLinks},
		{r.readExecutions},
		{r.readArtifacts},
		{r.readEventPaths},
		{r.readEvents},
	}
	if !r.db.parallel() {
		chains = [][]func(context.Context) error{slices.Concat(chains...)}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(chains))
	var wg sync.WaitGroup
	for i, chain := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, step := range chain {
				if err := step(ctx); err != nil {
					errs[i] = err
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	// A chain that failed first cancels the others; report its error, not their "canceled".
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.stage.Count(r.total.Load(), r.total.Load())
	return nil
}

func (r *reader) columns(ctx context.Context, table string) (map[string]bool, error) {
	names, err := r.db.columns(ctx, table)
	if err != nil {
		return nil, r.damaged("table "+table, err)
	}
	cols := map[string]bool{}
	for _, n := range names {
		cols[n] = true
	}
	return cols, nil
}

// sel selects columns from table, with NULL in place of columns this store does not have.
func (r *reader) sel(table string, cols ...string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if r.cols[table][c] {
			out[i] = "`" + c + "`"
		} else {
			out[i] = "NULL"
		}
	}
	return "SELECT " + strings.Join(out, ", ") + " FROM `" + table + "`"
}

// scan runs q and calls fn for every row with dest filled; errors name the table.
func (r *reader) scan(ctx context.Context, table, q string, dest []any, fn func() error) error {
	if r.cols[table] == nil {
		return nil
	}
	rows, err := r.db.QueryContext(ctx, q)
	if err != nil {
		return r.damaged("table "+table, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return r.damaged("table "+table, err)
		}
		if err := fn(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return r.damaged("table "+table, err)
	}
	return nil
}

// tick counts a record read and reports progress every so often.
func (r *reader) tick() {
	if n := r.done.Add(1); n&0xffff == 0 {
		r.stage.Count(n, r.total.Load())
	}
}

func (r *reader) readTypes(ctx context.Context) error {
	r.types = map[int64]*mtype{}
	var id, kind int64
	var name string
	err := r.scan(ctx, "Type", r.sel("Type", "id", "name", "type_kind"), []any{&id, &name, &kind}, func() error {
		r.types[id] = &mtype{name: name, kind: kind}
		return nil
	})
	if err != nil {
		return err
	}
	var child, parent int64
	return r.scan(ctx, "ParentType", r.sel("ParentType", "type_id", "parent_type_id"), []any{&child, &parent}, func() error {
		if t, p := r.types[child], r.types[parent]; t != nil && p != nil {
			t.bases = append(t.bases, p.name)
		}
		return nil
	})
}

func (r *reader) readContexts(ctx context.Context) error {
	r.contexts = map[int64]*mcontext{}
	var id, typeID int64
	var name string
	err := r.scan(ctx, "Context", r.sel("Context", "id", "type_id", "name"), []any{&id, &typeID, &name}, func() error {
		t := r.types[typeID]
		if t == nil {
			return fmt.Errorf("%s: Context %d: type_id %d is not in Type", r.file, id, typeID)
		}
		r.contexts[id] = &mcontext{typeName: t.name, name: name}
		return nil
	})
	if err != nil {
		return err
	}
	var child, parent int64
	err = r.scan(ctx, "ParentContext", r.sel("ParentContext", "context_id", "parent_context_id"), []any{&child, &parent}, func() error {
		if c := r.contexts[child]; c != nil {
			c.parents = append(c.parents, parent)
		}
		return nil
	})
	if err != nil {
		return err
	}
	all, err := r.readProps(ctx, "ContextProperty", "context_id")
	r.ctxProps = map[int64]props{}
	for len(all) > 0 {
		j := 1
		for j < len(all) && all[j].owner == all[0].owner {
			j++
		}
		r.ctxProps[all[0].owner] = all[:j:j]
		all = all[j:]
	}
	for id, ps := range r.ctxProps {
		if name := propString(ps, nameProp); name != "" && r.contexts[id] != nil {
			r.contexts[id].name = name // the name WriteCorpus had to change (see nameProp)
		}
	}
	return err
}

// link is one Association or Attribution row: a record and a context it belongs to.
type link struct{ owner, ctx int64 }

// readLinks reads Association and Attribution into flat lists sorted by record, which
// convert walks alongside the records in id order.
func (r *reader) readLinks(ctx context.Context) error {
	var l link
	err := r.scan(ctx, "Association", r.sel("Association", "execution_id", "context_id"), []any{&l.owner, &l.ctx}, func() error {
		r.assoc = append(r.assoc, l)
		return nil
	})
	if err != nil {
		return err
	}
	err = r.scan(ctx, "Attribution", r.sel("Attribution", "artifact_id", "context_id"), []any{&l.owner, &l.ctx}, func() error {
		r.attrib = append(r.attrib, l)
		return nil
	})
	byOwner := func(a, b link) int {
		if c := cmp.Compare(a.owner, b.owner); c != 0 {
			return c
		}
		return cmp.Compare(a.ctx, b.ctx)
	}
	slices.SortFunc(r.assoc, byOwner)
	slices.SortFunc(r.attrib, byOwner)
	return err
}

// linksOf walks sorted links alongside records read in id order.
type linksOf struct {
	all []link
	i   int
}

// next returns the contexts of id; ids must come in increasing order.
func (w *linksOf) next(id int64) []link {
	for w.i < len(w.all) && w.all[w.i].owner < id {
		w.i++
	}
	j := w.i
	for j < len(w.all) && w.all[j].owner == id {
		j++
	}
	ls := w.all[w.i:j]
	w.i = j
	return ls
}

// prop is one decoded property of a record.
type prop struct {
	owner  int64
	name   string
	custom bool
	value  any
}

// props are one record's properties, sorted by name, one per name. They are sub-slices of
// one table-wide slice: a map per record would cost an allocation per execution and artifact.
type props []prop

// get returns the value of the property name.
func (ps props) get(name string) (any, bool) {
	for i := range ps {
		if ps[i].name == name {
			return ps[i].value, true
		}
	}
	return nil, false
}

// readProps reads a property table, decoded and sorted by owner and name. A property (one
// the type declares) wins over a custom property of the same name.
func (r *reader) readProps(ctx context.Context, table, owner string) ([]prop, error) {
	var out []prop
	var id int64
	var name string
	var custom sql.NullBool
	var iv sql.NullInt64
	var dv sql.NullFloat64
	var sv, bv, pv, boolv any
	q := r.sel(table, owner, "name", "is_custom_property", "int_value", "double_value", "string_value", "byte_value", "proto_value", "bool_value")
	err := r.scan(ctx, table, q, []any{&id, &name, &custom, &iv, &dv, &sv, &bv, &pv, &boolv}, func() error {
		r.tick()
		var v value
		if iv.Valid {
			v.intV = &iv.Int64
		}
		if dv.Valid {
			v.doubleV = &dv.Float64
		}
		if s, ok := asString(sv); ok {
			v.stringV = &s
		}
		v.byteV = asBytes(bv)
		v.protoV = asBytes(pv)
		if b, ok := asBool(boolv); ok {
			v.boolV = &b
		}
		d, err := v.decode()
		if err != nil {
			return fmt.Errorf("%s: %s (%s %d, %q): %w", r.file, table, owner, id, name, err)
		}
		out = append(out, prop{owner: id, name: name, custom: custom.Bool, value: d})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b prop) int {
		if c := cmp.Compare(a.owner, b.owner); c != 0 {
			return c
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.custom != b.custom {
			if a.custom {
				return 1
			}
			return -1
		}
		return 0
	})
	// Keep the first of each (owner, name): the declared property when both exist.
	return slices.CompactFunc(out, func(a, b prop) bool { return a.owner == b.owner && a.name == b.name }), nil
}

// propsOf walks a table's sorted properties alongside its records read in id order.
type propsOf struct {
	all []prop
	i   int
}

// next returns the properties of id; ids must come in increasing order.
func (w *propsOf) next(id int64) props {
	for w.i < len(w.all) && w.all[w.i].owner < id {
		w.i++
	}
	j := w.i
	for j < len(w.all) && w.all[j].owner == id {
		j++
	}
	ps := props(w.all[w.i:j:j])
	w.i = j
	return ps
}

func asString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

func asBytes(v any) []byte {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case []byte:
		return slices.Clone(v)
	}
	return nil
}

func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case int64:
		return v != 0, true
	}
	return false, false
}

func (r *reader) readExecutions(ctx context.Context) error {
	all, err := r.readProps(ctx, "ExecutionProperty", "execution_id")
	if err != nil {
		return err
	}
	props := &propsOf{all: all}
	r.execs = make([]mexec, 0, r.counts["Execution"])
	var x mexec
	var name sql.NullString
	var create, update sql.NullInt64
	q := r.sel("Execution", "id", "type_id", "last_known_state", "name", "create_time_since_epoch", "last_update_time_since_epoch") + " ORDER BY id"
	return r.scan(ctx, "Execution", q, []any{&x.id, &x.typeID, &x.state, &name, &create, &update}, func() error {
		r.tick()
		x.name, x.create, x.update = name.String, create.Int64, update.Int64
		x.props = props.next(x.id)
		r.execs = append(r.execs, x)
		return nil
	})
}

func (r *reader) readArtifacts(ctx context.Context) error {
	all, err := r.readProps(ctx, "ArtifactProperty", "artifact_id")
	if err != nil {
		return err
	}
	props := &propsOf{all: all}
	r.arts = make([]mart, 0, r.counts["Artifact"])
	var a mart
	var uri, name sql.NullString
	var create, update sql.NullInt64
	q := r.sel("Artifact", "id", "type_id", "uri", "state", "name", "create_time_since_epoch", "last_update_time_since_epoch") + " ORDER BY id"
	return r.scan(ctx, "Artifact", q, []any{&a.id, &a.typeID, &uri, &a.state, &name, &create, &update}, func() error {
		r.tick()
		a.uri, a.name, a.create, a.update = uri.String, name.String, create.Int64, update.Int64
		a.props = props.next(a.id)
		r.arts = append(r.arts, a)
		return nil
	})
}

// readEventPaths reads each event's channel key: its first key step. Scanning EventPath on
// its own connection, beside Event on another, beats joining them in SQLite (1.6 s + 0.8 s
// in parallel against 2.9 s for a correlated subquery at 1M events), and needs no index.
func (r *reader) readEventPaths(ctx context.Context) error {
	r.roles = make(map[int64]string, r.counts["Event"])
	intern := map[string]string{}
	var id int64
	var key sql.NullString
	// Only key steps name a channel; filtering in SQLite skips the index steps' half.
	q := r.sel("EventPath", "event_id", "step_key") + " WHERE `is_index_step` = 0 AND `step_key` IS NOT NULL"
	return r.scan(ctx, "EventPath", q, []any{&id, &key}, func() error {
		if _, ok := r.roles[id]; ok {
			return nil // the first key step names the channel
		}
		k, ok := intern[key.String]
		if !ok {
			k = key.String
			intern[k] = k
		}
		r.roles[id] = k
		return nil
	})
}

func (r *reader) readEvents(ctx context.Context) error {
	r.events = make([]mevent, 0, r.counts["Event"])
	var e mevent
	var t sql.NullInt64
	q := r.sel("Event", "id", "artifact_id", "execution_id", "type", "milliseconds_since_epoch")
	return r.scan(ctx, "Event", q, []any{&e.id, &e.artifact, &e.execution, &e.typ, &t}, func() error {
		r.tick()
		e.ms = t.Int64
		r.events = append(r.events, e)
		return nil
	})
}

// positions maps MLMD ids to positions in a table read in id order. MLMD numbers rows
// densely from 1, so a slice serves; a store with sparse ids falls back to a map.
type positions struct {
	dense  []int32 // id -> position+1
	sparse map[int64]int32
}

func newPositions(n int, id func(i int) int64) positions {
	var top int64
	for i := range n {
		top = max(top, id(i))
	}
	var p positions
	if top <= int64(2*n+1024) {
		p.dense = make([]int32, top+1)
		for i := range n {
			if v := id(i); v >= 0 {
				p.dense[v] = int32(i + 1)
			}
		}
		return p
	}
	p.sparse = make(map[int64]int32, n)
	for i := range n {
		p.sparse[id(i)] = int32(i + 1)
	}
	return p
}

// get returns the position of id.
func (p positions) get(id int64) (int, bool) {
	var v int32
	if p.dense != nil {
		if id >= 0 && id < int64(len(p.dense)) {
			v = p.dense[id]
		}
	} else {
		v = p.sparse[id]
	}
	return int(v) - 1, v > 0
}

// staged holds the canonical rows of one store, ready to append.
type staged struct {
	pipelines  []engine.Pipeline
	executions []engine.Execution
	artifacts  []engine.Artifact
	events     []engine.Event
}

func (s *staged) write(ctx context.Context, w *engine.StageWriter) error {
	for _, p := range s.pipelines {
		if err := w.Pipeline(p); err != nil {
			return err
		}
	}
	for i, x := range s.executions {
		if i&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := w.Execution(x); err != nil {
			return err
		}
	}
	for i, a := range s.artifacts {
		if i&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := w.Artifact(a); err != nil {
			return err
		}
	}
	for i, e := range s.events {
		if i&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := w.Event(e); err != nil {
			return err
		}
	}
	return nil
}
