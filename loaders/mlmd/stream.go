package mlmd

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mlprov/engine"
)

// queries holds the statements that finish a load on the stage's connection, one per file.
//
//go:embed sql/*.sql
var queries embed.FS

func query(name string) string {
	b, err := queries.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(err) // embedded: a missing file is a build mistake
	}
	return string(b)
}

// pipe is one canonical pipeline being built.
type pipe struct {
	id   int64
	name string
}

// execRow is one row of Execution.
type execRow struct {
	id, typeID     int64
	state          sql.NullInt64
	name           sql.NullString
	create, update sql.NullInt64
}

// artRow is one row of Artifact.
type artRow struct {
	id, typeID     int64
	uri, name      sql.NullString
	state          sql.NullInt64
	create, update sql.NullInt64
}

// nodeKey names a node of a pipeline.
type nodeKey struct {
	pipeline int64
	node     string
}

// unfinished is an execution still unfinished when read: the events and artifacts read after
// it tell whether it runs still or was abandoned (see converter.abandon).
type unfinished struct {
	id, create, update int64
	lastSeen           int64 // its last activity: its times and its events', in ms
	node               nodeKey
	published          bool // it has an output in a published state
}

// converter streams a store's records, converted to canonical rows, into the stage: the
// executions, then the events, then the artifacts, each read once. What a record's
// conversion needs of the records read before it is kept per execution and per artifact in
// slices by position (MLMD's dense ids make that cheaper than maps), a few bytes each; the
// events are appended raw to the stage's connection and ranked there (stage_events.sql).
type converter struct {
	*reader
	ctx    context.Context
	offset int64
	out    *batcher // the executions, events and artifacts, read in turn
	roles  *batcher // the events' key steps, read beside them where the backend can

	err       error            // the first error of an id lookup (see pipeByName)
	pipes     map[string]*pipe // by name
	pipeOfCtx map[int64]*pipe  // pipeline contexts
	pipelines []engine.Pipeline

	execPos, artPos positions
	execPipe        []int64 // pipeline id by execution position
	skipped         []bool  // Kubeflow DAG executions, left out
	producer        []int32 // position+1 of an artifact's first writer, 0 for none
	consumer        []int32 // position+1 of an artifact's first reader
	newest          int64   // the store's last activity, in ms

	lastComplete map[nodeKey]int64   // the latest start of a complete execution of a node
	pending      map[int]*unfinished // by execution position
	pendingOut   map[int][]int       // by artifact position, the pending executions it is an output of

	nExecs, nArts, nSkipped int
	nEvents                 int64
}

// convert streams what the reader did not hold into the stage as canonical rows, with ids
// shifted by the source's base.
func (r *reader) convert(ctx context.Context) (*converter, error) {
	c := &converter{
		reader: r, ctx: ctx, offset: r.stage.Base,
		pipes: map[string]*pipe{}, lastComplete: map[nodeKey]int64{},
		pending: map[int]*unfinished{}, pendingOut: map[int][]int{},
	}
	// MLMD's ids become the store's, shifted into the source's range; the pipelines this
	// loader invents (records no pipeline context holds) take ids from the upper half of the
	// range, by name, so that no MLMD id, now or after the store grows, meets them.
	for id := range r.contexts {
		if err := checkID("Context", id); err != nil {
			return nil, err
		}
	}
	if err := c.readArtifactIDs(ctx); err != nil {
		return nil, err
	}
	r.stage.KeyFloor = idHalf
	c.toPipelines()
	if _, err := r.stage.Conn.ExecContext(ctx, query("mlmd_scratch")); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	err := r.stage.Write(ctx, func(w *engine.StageWriter) error {
		if err := c.stream(ctx, w); err != nil {
			return err
		}
		if c.err != nil {
			return c.err
		}
		for _, p := range c.pipelines {
			if err := w.Pipeline(p); err != nil {
				return err
			}
		}
		return c.abandon(w)
	})
	if err != nil {
		return nil, err
	}
	res, err := r.stage.Conn.ExecContext(ctx, query("stage_events"), c.offset, r.file+": Event ")
	if err != nil {
		return nil, fmt.Errorf("stage events: %w", err)
	}
	if c.nEvents, err = res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("stage events: %w", err)
	}
	if _, err := r.stage.Conn.ExecContext(ctx, query("abandon")); err != nil {
		return nil, fmt.Errorf("stage executions: %w", err)
	}
	if _, err := r.stage.Conn.ExecContext(ctx, "DROP TABLE mlmd_events; DROP TABLE mlmd_roles; DROP TABLE mlmd_abandoned"); err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	c.warn()
	return c, nil
}

func (c *converter) src(table string, id int64) string {
	return string(strconv.AppendInt([]byte(c.file+": "+table+" "), id, 10))
}

// idHalf splits a source's range of ids: MLMD's own below, invented ones above.
const idHalf = engine.IDSpan / 2

// checkID refuses an MLMD id too large for a source's range.
func checkID(table string, id int64) error {
	if id <= 0 || id >= idHalf {
		return fmt.Errorf("%s %d: id out of the range mlprov maps (1 to %d)", table, id, idHalf-1)
	}
	return nil
}

// readArtifactIDs reads the ids of Artifact, which the events, read before the artifacts,
// are checked against.
func (c *converter) readArtifactIDs(ctx context.Context) error {
	ids := make([]int64, 0, c.counts["Artifact"])
	var id int64
	err := c.scan(ctx, "Artifact", c.sel("Artifact", "id")+" ORDER BY "+c.db.quote("id"), []any{&id}, func() error {
		if err := checkID("Artifact", id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return err
	}
	c.artPos = newPositions(len(ids), func(i int) int64 { return ids[i] })
	c.producer, c.consumer = make([]int32, len(ids)), make([]int32, len(ids))
	return nil
}

// eachWithProps calls fn with every record of table in id order, and its properties from
// propTable sorted by name (see sortProps). rec receives the record's cols through dest;
// fn gets a copy of it, and the properties only for the call.
func eachWithProps[T any](ctx context.Context, r *reader, table string, cols []string, propTable, owner string,
	rec *T, dest []any, id func(*T) int64, fn func(T, props) error) error {
	var cur T
	var ps []prop
	var p propRow
	started := false
	err := r.scan(ctx, table, r.selWithProps(table, cols, propTable, owner), append(dest, p.dest()...), func() error {
		if !started || id(rec) != id(&cur) {
			if started {
				if err := fn(cur, sortProps(ps)); err != nil {
					return err
				}
			}
			cur, ps, started = *rec, ps[:0], true
			r.tick()
		}
		if !p.name.Valid {
			return nil // a record without properties
		}
		d, err := r.prop(&p, propTable, owner, id(&cur))
		ps = append(ps, d)
		return err
	})
	if err != nil || !started {
		return err
	}
	return fn(cur, sortProps(ps))
}

// addPipe makes a pipeline; the first of a name is the one pipeByName finds.
func (c *converter) addPipe(id int64, name, source string, attrs map[string]any) *pipe {
	p := &pipe{id: id, name: name}
	if _, ok := c.pipes[name]; !ok {
		c.pipes[name] = p
	}
	js, _ := json.Marshal(attrs)
	c.pipelines = append(c.pipelines, engine.Pipeline{ID: id, Name: name, Attrs: string(js), Src: source})
	return p
}

// pipeByName returns the pipeline of a name that no pipeline context holds, making it.
func (c *converter) pipeByName(name string) *pipe {
	if p, ok := c.pipes[name]; ok {
		return p
	}
	id, err := c.stage.ID(c.ctx, "pipeline "+name)
	if err != nil && c.err == nil {
		c.err = err
	}
	return c.addPipe(id, name, c.file, map[string]any{"mlmd_schema": c.version})
}

// toPipelines makes one pipeline per pipeline context, in id order.
func (c *converter) toPipelines() {
	ids := make([]int64, 0, len(c.contexts))
	for id := range c.contexts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	c.pipeOfCtx = map[int64]*pipe{}
	for _, id := range ids {
		ctx := c.contexts[id]
		if !pipelineContexts[ctx.typeName] {
			continue
		}
		orch := "tfx"
		if strings.HasPrefix(ctx.typeName, "system.") {
			orch = "kubeflow"
		}
		attrs := map[string]any{"orchestrator": orch, "mlmd_context_id": id, "mlmd_schema": c.version}
		for _, p := range c.ctxProps[id] {
			if !strings.HasPrefix(p.name, "mlprov_") {
				attrs[p.name] = p.value
			}
		}
		c.pipeOfCtx[id] = c.addPipe(c.offset+id, ctx.name, c.src("Context", id), attrs)
	}
}

// toExecutions stages every execution but Kubeflow's DAG nodes. An unfinished one is staged
// running, and noted for abandon to judge once the events and artifacts are read.
func (c *converter) toExecutions(ctx context.Context) error {
	n := c.counts["Execution"]
	ids := make([]int64, 0, n)
	c.execPipe, c.skipped = make([]int64, 0, n), make([]bool, 0, n)
	assocs := &linksOf{all: c.assoc}
	var x execRow
	cols := []string{"id", "type_id", "last_known_state", "name", "create_time_since_epoch", "last_update_time_since_epoch"}
	dest := []any{&x.id, &x.typeID, &x.state, &x.name, &x.create, &x.update}
	err := eachWithProps(ctx, c.reader, "Execution", cols, "ExecutionProperty", "execution_id", &x, dest,
		func(x *execRow) int64 { return x.id }, func(x execRow, ps props) error {
			if err := checkID("Execution", x.id); err != nil {
				return err
			}
			xi := len(ids)
			ids = append(ids, x.id)
			c.execPipe, c.skipped = append(c.execPipe, 0), append(c.skipped, false)
			create, update := x.create.Int64, x.update.Int64
			c.newest = max(c.newest, create, update)
			t := c.types[x.typeID]
			if t == nil || t.kind != KindExecution {
				return fmt.Errorf("%s: type_id %d is not an execution type in Type", c.src("Execution", x.id), x.typeID)
			}
			links := assocs.next(x.id)
			if t.name == "system.DAGExecution" {
				c.skipped[xi] = true
				c.nSkipped++
				return nil
			}
			op := lastSegment(t.name)
			switch t.name {
			case "system.ContainerExecution":
				op = cmp.Or(propString(ps, "task_name"), propString(ps, "display_name"), op)
			case "system.ImporterExecution":
				op = "Importer"
			}
			p, runID, node := c.place(ps, links, op)
			state, err := c.state(x.id, x.state, ps)
			if err != nil {
				return err
			}
			row := engine.Execution{
				ID: c.offset + x.id, PipelineID: p.id, RunID: runID, NodeID: node, OpType: op, State: state,
				Start: msTime(create), Src: c.src("Execution", x.id),
			}
			switch state {
			case "complete", "failed":
				row.End, row.Cost = finished(create, update)
			case "cached", "canceled":
				row.End = msTime(update)
				row.Cost = sql.NullFloat64{Valid: true}
			}
			if v, ok := ps.get(costProp); ok {
				// A store mlprov wrote keeps the corpus's own cost, which the duration only
				// approximates.
				if f, ok := v.(float64); ok {
					row.Cost = sql.NullFloat64{Float64: f, Valid: true}
				} else if n, ok := v.(int64); ok {
					row.Cost = sql.NullFloat64{Float64: float64(n), Valid: true}
				}
			}
			if _, known := c.categories[row.OpType]; !known {
				for _, b := range t.bases {
					if cat, ok := baseCategories[b]; ok {
						row.Category = cat
						break
					}
				}
			}
			extra := map[string]any{"mlmd_id": x.id, "mlmd_type": t.name}
			if x.name.String != "" {
				extra["mlmd_name"] = x.name.String
			}
			if row.Attrs, err = attrsJSON(ps, extra); err != nil {
				return fmt.Errorf("%s: %w", c.src("Execution", x.id), err)
			}
			c.execPipe[xi] = p.id
			key := nodeKey{p.id, node}
			switch state {
			case "complete":
				c.lastComplete[key] = max(c.lastComplete[key], create)
			case "running":
				c.pending[xi] = &unfinished{id: x.id, create: create, update: update, lastSeen: max(create, update), node: key}
			}
			c.nExecs++
			c.out.b.executions = append(c.out.b.executions, row)
			return c.out.full(ctx)
		})
	if err != nil {
		return err
	}
	c.execPos = newPositions(len(ids), func(i int) int64 { return ids[i] })
	return nil
}

// stream reads the executions, the events and the artifacts in turn, and the events' key
// steps beside them when the backend reads tables at once, converting what they read, while
// the rows go into the stage on this goroutine: reading SQLite and appending through DuckDB's
// Appender take about as long as each other.
func (c *converter) stream(ctx context.Context, w *engine.StageWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *batch, 4)
	c.out, c.roles = &batcher{ch: ch, b: &batch{}}, &batcher{ch: ch, b: &batch{}}
	chains := [][]func(context.Context) error{
		{c.toExecutions, c.toEvents, c.toArtifacts, c.out.flush},
		{c.toRoles, c.roles.flush},
	}
	if !c.db.parallel() {
		chains = [][]func(context.Context) error{slices.Concat(chains...)}
	}
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
	go func() {
		wg.Wait()
		close(ch)
	}()
	var werr error
	for b := range ch {
		if werr == nil {
			if werr = b.write(w); werr != nil {
				cancel()
			}
		}
	}
	// What failed first cancels the rest; report its error, not their "canceled".
	for _, err := range append(errs, werr) {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(append(errs, werr)...)
}

// rawEvent is one row of mlmd_events.
type rawEvent struct {
	execution, artifact int64
	direction           string
	rank, id, ms        int64
}

// rawRole is one row of mlmd_roles.
type rawRole struct {
	event, seq int64
	role       string
}

// batchRows is how many rows a batch holds before it is handed to be written.
const batchRows = 2048

// batch is rows on their way to the stage.
type batch struct {
	executions []engine.Execution
	artifacts  []engine.Artifact
	events     []rawEvent
	roles      []rawRole
}

func (b *batch) write(w *engine.StageWriter) error {
	for _, x := range b.executions {
		if err := w.Execution(x); err != nil {
			return err
		}
	}
	for _, e := range b.events {
		if err := w.Append("mlmd_events", e.execution, e.artifact, e.direction, e.rank, e.id, e.ms); err != nil {
			return err
		}
	}
	for _, r := range b.roles {
		if err := w.Append("mlmd_roles", r.event, r.seq, r.role); err != nil {
			return err
		}
	}
	for _, a := range b.artifacts {
		if err := w.Artifact(a); err != nil {
			return err
		}
	}
	return nil
}

// batcher gathers one reader's rows into batches and hands them to the writer.
type batcher struct {
	ch chan<- *batch
	b  *batch
}

// full hands the batch on once it holds batchRows rows.
func (o *batcher) full(ctx context.Context) error {
	if len(o.b.executions)+len(o.b.artifacts)+len(o.b.events)+len(o.b.roles) < batchRows {
		return nil
	}
	return o.flush(ctx)
}

// flush hands the batch on, waiting while the writer is behind.
func (o *batcher) flush(ctx context.Context) error {
	select {
	case o.ch <- o.b:
		o.b = &batch{}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finished gives the end time and the cost proxy (its duration in seconds) of an execution
// that ran to an end.
func finished(create, update int64) (time.Time, sql.NullFloat64) {
	if create > 0 && update > 0 {
		return msTime(update), sql.NullFloat64{Float64: float64(max(0, update-create)) / 1000, Valid: true}
	}
	return msTime(update), sql.NullFloat64{}
}

// place finds an execution's pipeline, run and node from its contexts, else from the
// properties legacy launchers and Kubeflow write.
func (c *converter) place(ps props, links []link, op string) (p *pipe, runID, node string) {
	var runCtx, nodeCtx, compCtx *mcontext
	for _, l := range links {
		ctx := c.contexts[l.ctx]
		switch {
		case ctx == nil:
		case pipelineContexts[ctx.typeName]:
			p = c.pipeOfCtx[l.ctx]
		case runContexts[ctx.typeName]:
			runCtx = ctx
			for _, par := range ctx.parents {
				if pp := c.pipeOfCtx[par]; pp != nil && p == nil {
					p = pp
				}
			}
		case ctx.typeName == "node":
			nodeCtx = ctx
		case ctx.typeName == "component_run":
			compCtx = ctx
		}
	}
	if p == nil {
		p = c.pipeByName(cmp.Or(propString(ps, "pipeline_name"), c.fallback))
	}
	runID = propString(ps, "run_id")
	if runCtx != nil {
		runID = runCtx.name
	}
	switch {
	case nodeCtx != nil:
		node = strings.TrimPrefix(nodeCtx.name, p.name+".")
	case propString(ps, "component_id") != "":
		node = propString(ps, "component_id")
	case compCtx != nil:
		node = strings.TrimPrefix(compCtx.name, p.name+"."+runID+".")
	default:
		node = cmp.Or(propString(ps, "task_name"), propString(ps, "display_name"), op)
	}
	return p, runID, node
}

// state maps an execution's MLMD state, or a legacy launcher's state property, to the
// canonical one. A legacy launcher writes its state property when it publishes and may leave
// the column at NEW or RUNNING, so a finished state property wins over those. What is still
// NEW, RUNNING or unknown comes back "running", for abandon to tell a live run from an
// abandoned one.
func (c *converter) state(id int64, col sql.NullInt64, ps props) (string, error) {
	code := col.Int64
	if !col.Valid {
		code = ExecUnknown
	}
	switch code {
	case ExecComplete:
		if strings.EqualFold(propString(ps, "state"), "cached") {
			return "cached", nil // legacy launchers mark a cache hit only in their state property
		}
		return "complete", nil
	case ExecFailed:
		return "failed", nil
	case ExecCached:
		return "cached", nil
	case ExecCanceled:
		return "canceled", nil
	case ExecUnknown, ExecNew, ExecRunning:
		if s := legacyStates[strings.ToLower(propString(ps, "state"))]; s != "" {
			return s, nil
		}
		return "running", nil
	}
	return "", fmt.Errorf("%s: last_known_state %d is not an MLMD state (0 to 6)", c.src("Execution", id), code)
}

// toEvents checks every event and appends those that are lineage to mlmd_events, with their
// direction and rank, for stage_events.sql to keep one per execution, artifact and
// direction; PENDING_OUTPUT, UNKNOWN and Kubeflow DAG nodes' events are left out. It notes
// each artifact's first writer and reader, and what the unfinished executions did.
func (c *converter) toEvents(ctx context.Context) error {
	var id, art, exec, typ int64
	var ms sql.NullInt64
	q := c.sel("Event", "id", "artifact_id", "execution_id", "type", "milliseconds_since_epoch")
	return c.scan(ctx, "Event", q, []any{&id, &art, &exec, &typ, &ms}, func() error {
		c.tick()
		c.newest = max(c.newest, ms.Int64)
		xi, ok := c.execPos.get(exec)
		if !ok {
			return fmt.Errorf("%s: execution_id %d is not in Execution", c.src("Event", id), exec)
		}
		ai, ok := c.artPos.get(art)
		if !ok {
			return fmt.Errorf("%s: artifact_id %d is not in Artifact", c.src("Event", id), art)
		}
		dir, rank, ok := EventDirection(typ)
		if u := c.pending[xi]; u != nil {
			u.lastSeen = max(u.lastSeen, ms.Int64)
			if dir == "out" {
				c.pendingOut[ai] = append(c.pendingOut[ai], xi)
			}
		}
		if c.skipped[xi] {
			return nil
		}
		switch {
		case !ok && (typ == EventUnknown || typ == EventPendingOutput):
			return nil
		case !ok:
			return fmt.Errorf("%s: type %d is not an MLMD event type (0 to 7)", c.src("Event", id), typ)
		}
		if dir == "out" {
			if c.producer[ai] == 0 {
				c.producer[ai] = int32(xi + 1)
			}
		} else if c.consumer[ai] == 0 {
			c.consumer[ai] = int32(xi + 1)
		}
		c.out.b.events = append(c.out.b.events, rawEvent{exec, art, dir, int64(rank), id, ms.Int64})
		return c.out.full(ctx)
	})
}

// toRoles appends each event's key steps to mlmd_roles in the order read: the first names
// the event's channel (see stage_events.sql).
func (c *converter) toRoles(ctx context.Context) error {
	var id, last, seq int64
	var key sql.NullString
	// Only key steps name a channel; filtering in the database skips the index steps' half.
	// NOT rather than = 0: PostgreSQL keeps is_index_step as a boolean, the others as a number.
	q := c.sel("EventPath", "event_id", "step_key") + " WHERE NOT " + c.db.quote("is_index_step") + " AND " + c.db.quote("step_key") + " IS NOT NULL"
	return c.scan(ctx, "EventPath", q, []any{&id, &key}, func() error {
		if seq > 0 && id == last {
			return nil // the first key step names the channel
		}
		seq++
		last = id
		c.roles.b.roles = append(c.roles.b.roles, rawRole{id, seq, key.String})
		return c.roles.full(ctx)
	})
}

// toArtifacts stages every artifact; its pipeline is its pipeline context, else its first
// producer's, else its first consumer's.
func (c *converter) toArtifacts(ctx context.Context) error {
	attribs := &linksOf{all: c.attrib}
	var a artRow
	cols := []string{"id", "type_id", "uri", "state", "name", "create_time_since_epoch", "last_update_time_since_epoch"}
	dest := []any{&a.id, &a.typeID, &a.uri, &a.state, &a.name, &a.create, &a.update}
	return eachWithProps(ctx, c.reader, "Artifact", cols, "ArtifactProperty", "artifact_id", &a, dest,
		func(a *artRow) int64 { return a.id }, func(a artRow, ps props) error {
			ai, ok := c.artPos.get(a.id)
			if !ok {
				return fmt.Errorf("%s: not among the ids read before", c.src("Artifact", a.id))
			}
			c.newest = max(c.newest, a.create.Int64, a.update.Int64)
			t := c.types[a.typeID]
			if t == nil || t.kind != KindArtifact {
				return fmt.Errorf("%s: type_id %d is not an artifact type in Type", c.src("Artifact", a.id), a.typeID)
			}
			state := artifactState(a.state, ps)
			if publishedStates[state] {
				for _, xi := range c.pendingOut[ai] {
					c.pending[xi].published = true
				}
			}
			var pid int64
			for _, l := range attribs.next(a.id) {
				if p := c.pipeOfCtx[l.ctx]; p != nil {
					pid = p.id
					break
				}
			}
			switch {
			case pid != 0:
			case c.producer[ai] > 0:
				pid = c.execPipe[c.producer[ai]-1]
			case c.consumer[ai] > 0:
				pid = c.execPipe[c.consumer[ai]-1]
			default:
				pid = c.pipeByName(c.fallback).id
			}
			extra := map[string]any{"mlmd_id": a.id}
			if a.name.String != "" {
				extra["mlmd_name"] = a.name.String
			}
			if t.name != lastSegment(t.name) {
				extra["mlmd_type"] = t.name
			}
			attrs, err := attrsJSON(ps, extra)
			if err != nil {
				return fmt.Errorf("%s: %w", c.src("Artifact", a.id), err)
			}
			c.nArts++
			c.out.b.artifacts = append(c.out.b.artifacts, engine.Artifact{
				ID: c.offset + a.id, PipelineID: pid, Type: lastSegment(t.name), URI: a.uri.String,
				Span: propInt(ps, "span"), Version: propInt(ps, "version"), State: state,
				Created: msTime(a.create.Int64), SizeBytes: propInt(ps, sizeProp), Attrs: attrs, Src: c.src("Artifact", a.id),
			})
			return c.out.full(ctx)
		})
}

// abandon appends to mlmd_abandoned the unfinished executions that were abandoned, for
// abandon.sql to mark failed. An unfinished execution that published nothing is abandoned
// once a later run of its node completed, or once the store went on for abandonedAfter
// without it.
func (c *converter) abandon(w *engine.StageWriter) error {
	for _, u := range c.pending {
		if u.published {
			continue
		}
		if done, ok := c.lastComplete[u.node]; !(ok && done >= u.lastSeen) && c.newest-u.lastSeen < abandonedAfter.Milliseconds() {
			continue
		}
		end, cost := finished(u.create, u.update)
		var endV, costV driver.Value
		if !end.IsZero() {
			endV = end
		}
		if cost.Valid {
			costV = cost.Float64
		}
		if err := w.Append("mlmd_abandoned", c.offset+u.id, endV, costV); err != nil {
			return err
		}
	}
	return nil
}

func (c *converter) warn() {
	if c.nSkipped > 0 {
		c.warnings = append(c.warnings, fmt.Sprintf("left out %d Kubeflow DAG executions (the run's own DAG nodes, not work)", c.nSkipped))
	}
}
