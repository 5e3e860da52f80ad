package mlmd

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// reader reads one MLMD store and streams it, converted to canonical rows, into the stage
// (see converter). MLMD spreads a record over several tables (properties, contexts, event
// paths): the small ones (types and contexts, and the links of records to contexts) are held
// in memory; executions and artifacts are read in id order joined with their properties, one
// record at a time, and events go to the stage's connection raw, to be ranked and joined with
// their paths there. The queries of the MLMD tables are the same for every backend; only the
// catalog and the meaning of errors differ (see backend).
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
	assoc       []link           // Association, by execution
	attrib      []link           // Attribution, by artifact
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
// knows its own catalog, quoting and errors. The reader uses only SQL that SQLite, MySQL and
// PostgreSQL share, with every name quoted by the backend.
type backend interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	// tables lists the tables of the store.
	tables(ctx context.Context) ([]string, error)
	// columns lists the columns of one of its tables.
	columns(ctx context.Context, table string) ([]string, error)
	// quote quotes the name of a table (as MLMD names it) or of a column.
	quote(name string) string
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
	if err := r.db.QueryRowContext(ctx, "SELECT max(schema_version) FROM "+r.db.quote("MLMDEnv")).Scan(&v); err != nil {
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
		if err := r.db.QueryRowContext(ctx, "SELECT count(*) FROM "+r.db.quote(t)).Scan(&n); err != nil {
			return r.damaged("table "+t, err)
		}
		r.total.Add(n)
		r.counts[t] = n
	}
	for _, step := range []func(context.Context) error{r.readTypes, r.readContexts, r.readLinks} {
		if err := step(ctx); err != nil {
			return err
		}
	}
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
			out[i] = r.db.quote(c)
		} else {
			out[i] = "NULL"
		}
	}
	return "SELECT " + strings.Join(out, ", ") + " FROM " + r.db.quote(table)
}

// scan runs q and calls fn for every row with dest filled; errors name the table. The rows
// are read on a goroutine of their own, a batch at a time, while fn converts the ones read
// before: reading (decoding SQLite's pages, or a server's packets) and converting each take
// a core's time.
func (r *reader) scan(ctx context.Context, table, q string, dest []any, fn func() error) error {
	if r.cols[table] == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := r.db.QueryContext(ctx, q)
	if err != nil {
		return r.damaged("table "+table, err)
	}
	defer rows.Close()
	batches := make(chan []any, 2)
	var readErr error
	go func() {
		defer close(batches)
		readErr = readRows(rows, len(dest), batches)
	}()
	var fnErr error
	for b := range batches {
		for ; len(b) > 0 && fnErr == nil; b = b[len(dest):] {
			for i, v := range b[:len(dest)] {
				if err := assign(dest[i], v); err != nil {
					fnErr = r.damaged("table "+table, err)
					break
				}
			}
			if fnErr == nil {
				fnErr = fn()
			}
		}
		if fnErr != nil {
			cancel() // the reading stops; what it sends next is dropped
		}
	}
	if fnErr != nil {
		return fnErr
	}
	if readErr == nil {
		readErr = rows.Err()
	}
	if readErr != nil {
		return r.damaged("table "+table, readErr)
	}
	return nil
}

// scanBatch is how many rows scan reads before handing them over.
const scanBatch = 512

// readRows reads every row of rows, of n columns, and sends them in batches of scanBatch,
// each a flat slice of the values the driver gives; the caller checks rows.Err.
func readRows(rows *sql.Rows, n int, out chan<- []any) error {
	ptrs := make([]any, n)
	for {
		b := make([]any, 0, scanBatch*n)
		for len(b) < cap(b) && rows.Next() {
			b = b[:len(b)+n]
			for i := range ptrs {
				ptrs[i] = &b[len(b)-n+i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
		}
		if len(b) > 0 {
			out <- b
		}
		if len(b) < cap(b) {
			return nil
		}
	}
}

// assign stores src, a value read into an any (see readRows), in dest, as Scan would have:
// the common cases directly, the others through database/sql's own conversions.
func assign(dest, src any) error {
	switch d := dest.(type) {
	case *any:
		*d = src
		return nil
	case *int64:
		if v, ok := src.(int64); ok {
			*d = v
			return nil
		}
		var n sql.NullInt64
		if err := n.Scan(src); err != nil {
			return err
		}
		if !n.Valid {
			return fmt.Errorf("converting NULL to int64 is unsupported")
		}
		*d = n.Int64
		return nil
	case *string:
		switch v := src.(type) {
		case string:
			*d = v
			return nil
		case []byte:
			*d = string(v)
			return nil
		}
		var n sql.NullString
		if err := n.Scan(src); err != nil {
			return err
		}
		if !n.Valid {
			return fmt.Errorf("converting NULL to string is unsupported")
		}
		*d = n.String
		return nil
	case *sql.NullInt64:
		if v, ok := src.(int64); ok {
			*d = sql.NullInt64{Int64: v, Valid: true}
			return nil
		}
		return d.Scan(src)
	case *sql.NullString:
		if v, ok := src.(string); ok {
			*d = sql.NullString{String: v, Valid: true}
			return nil
		}
		return d.Scan(src)
	case sql.Scanner:
		return d.Scan(src)
	}
	return fmt.Errorf("cannot read into %T", dest)
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

// props are one record's properties, sorted by name, one per name: a map per record would
// cost an allocation per execution and artifact. A context's are a sub-slice of its table's;
// an execution's or an artifact's are valid only while it is converted (see eachWithProps).
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

// propCols are the columns of a property row after its owner's id.
var propCols = []string{"name", "is_custom_property", "int_value", "double_value", "string_value", "byte_value", "proto_value", "bool_value"}

// propRow receives the propCols of one property row.
type propRow struct {
	name              sql.NullString
	custom            sql.NullBool
	iv                sql.NullInt64
	dv                sql.NullFloat64
	sv, bv, pv, boolv any
}

func (p *propRow) dest() []any {
	return []any{&p.name, &p.custom, &p.iv, &p.dv, &p.sv, &p.bv, &p.pv, &p.boolv}
}

// prop decodes the row as a property of owner; errors name the table and the record.
func (r *reader) prop(p *propRow, table, ownerCol string, owner int64) (prop, error) {
	r.tick()
	var v value
	if p.iv.Valid {
		v.intV = &p.iv.Int64
	}
	if p.dv.Valid {
		v.doubleV = &p.dv.Float64
	}
	if s, ok := asString(p.sv); ok {
		v.stringV = &s
	}
	v.byteV = asBytes(p.bv)
	v.protoV = asBytes(p.pv)
	if b, ok := asBool(p.boolv); ok {
		v.boolV = &b
	}
	d, err := v.decode()
	if err != nil {
		return prop{}, fmt.Errorf("%s: %s (%s %d, %q): %w", r.file, table, ownerCol, owner, p.name.String, err)
	}
	return prop{owner: owner, name: p.name.String, custom: p.custom.Bool, value: d}, nil
}

// sortProps sorts properties by owner and name and keeps one of each (owner, name): a
// property (one the type declares) wins over a custom property of the same name.
func sortProps(ps []prop) []prop {
	slices.SortFunc(ps, func(a, b prop) int {
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
	return slices.CompactFunc(ps, func(a, b prop) bool { return a.owner == b.owner && a.name == b.name })
}

// readProps reads a property table, decoded and sorted by owner and name (see sortProps).
func (r *reader) readProps(ctx context.Context, table, owner string) ([]prop, error) {
	var out []prop
	var id int64
	var p propRow
	q := r.sel(table, append([]string{owner}, propCols...)...)
	err := r.scan(ctx, table, q, append([]any{&id}, p.dest()...), func() error {
		d, err := r.prop(&p, table, owner, id)
		out = append(out, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sortProps(out), nil
}

// selWithProps selects cols of table, each record joined with its rows of propTable (keyed by
// owner) and their propCols, in record id order: one row per property, or one with a NULL
// name for a record without any. Columns the store does not have read as NULL.
func (r *reader) selWithProps(table string, cols []string, propTable, owner string) string {
	out := make([]string, 0, len(cols)+len(propCols))
	for _, c := range cols {
		if r.cols[table][c] {
			out = append(out, "r."+r.db.quote(c))
		} else {
			out = append(out, "NULL")
		}
	}
	join := ""
	if r.cols[propTable][owner] {
		join = " LEFT JOIN " + r.db.quote(propTable) + " p ON p." + r.db.quote(owner) + " = r." + r.db.quote("id")
	}
	for _, c := range propCols {
		if join != "" && r.cols[propTable][c] {
			out = append(out, "p."+r.db.quote(c))
		} else {
			out = append(out, "NULL")
		}
	}
	return "SELECT " + strings.Join(out, ", ") + " FROM " + r.db.quote(table) + " r" + join + " ORDER BY r." + r.db.quote("id")
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
