package mlmd

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"mlprov/engine"
)

// Context type names of TFX (IR and legacy) and Kubeflow Pipelines v2.
var (
	pipelineContexts = map[string]bool{"pipeline": true, "system.Pipeline": true}
	runContexts      = map[string]bool{"pipeline_run": true, "run": true, "system.PipelineRun": true}
)

// baseCategories maps MLMD's system base execution types to the paper's categories.
var baseCategories = map[string]string{
	"mlmd.Train": "train", "mlmd.Transform": "transform", "mlmd.Evaluate": "validate", "mlmd.Deploy": "deploy",
}

var artifactStates = []string{"unknown", "pending", "live", "marked_for_deletion", "deleted", "abandoned", "reference"}

// legacyArtifactStates maps the state property that TFX's legacy orchestration keeps on an
// artifact (it left the state column unset): "published" is live.
var legacyArtifactStates = map[string]string{
	"pending": "pending", "published": "live", "missing": "unknown", "marked_for_deletion": "marked_for_deletion",
	"deleted": "deleted", "abandoned": "abandoned", "reference": "reference",
}

// publishedStates are the artifact states of an output its execution published: live, or
// later in a live artifact's life.
var publishedStates = map[string]bool{"live": true, "marked_for_deletion": true, "deleted": true}

// abandonedAfter is how long a store must have gone on past an unfinished execution's last
// activity before the execution counts as abandoned (see the package doc).
const abandonedAfter = 24 * time.Hour

// artifactState maps an artifact's state column, else the legacy state property, to the
// canonical state; "" when neither says.
func artifactState(a mart) string {
	if a.state.Valid && a.state.Int64 != ArtUnknown {
		if a.state.Int64 > 0 && int(a.state.Int64) < len(artifactStates) {
			return artifactStates[a.state.Int64]
		}
		return "unknown"
	}
	if s, ok := legacyArtifactStates[strings.ToLower(propString(a.props, "state"))]; ok {
		return s
	}
	if a.state.Valid {
		return "unknown"
	}
	return ""
}

func lastSegment(name string) string {
	return name[strings.LastIndexByte(name, '.')+1:]
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func propString(ps props, name string) string {
	v, _ := ps.get(name)
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func propInt(ps props, name string) sql.NullInt64 {
	v, _ := ps.get(name)
	switch v := v.(type) {
	case int64:
		return sql.NullInt64{Int64: v, Valid: true}
	case float64:
		return sql.NullInt64{Int64: int64(v), Valid: true}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return sql.NullInt64{Int64: n, Valid: true}
		}
	}
	return sql.NullInt64{}
}

// attrsJSON writes props (less mlprov's own, see costProp), plus the extra keys props does
// not have, as a JSON object with sorted keys: what json.Marshal writes for the merged map,
// without building one, since this runs once per execution and artifact.
func attrsJSON(ps props, extra map[string]any) (string, error) {
	keys := make([]string, 0, len(ps)+len(extra))
	for _, p := range ps {
		if !strings.HasPrefix(p.name, "mlprov_") {
			keys = append(keys, p.name)
		}
	}
	for k := range extra {
		if _, ok := ps.get(k); !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b := make([]byte, 0, 32*len(keys)+2)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		v, ok := ps.get(k)
		if !ok {
			v = extra[k]
		}
		var err error
		if b, err = appendJSONValue(b, v); err != nil {
			return "", fmt.Errorf("property %q: %w", k, err)
		}
	}
	return string(append(b, '}')), nil
}

func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case string:
		return appendJSONString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case nil:
		return append(b, "null"...), nil
	}
	js, err := json.Marshal(v)
	return append(b, js...), err
}

// appendJSONString quotes s as json.Marshal does, taking the short way when nothing in s
// needs escaping.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			js, _ := json.Marshal(s)
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// legacyStates maps the state property of legacy TFX launchers.
var legacyStates = map[string]string{
	"complete": "complete", "completed": "complete", "cached": "cached", "failed": "failed",
	"canceled": "canceled", "cancelled": "canceled", "new": "", "running": "",
}

// pipe is one canonical pipeline being built.
type pipe struct {
	id   int64
	name string
}

// converter turns what a reader read into canonical rows. Per-execution and per-artifact
// facts live in slices by position: a load touches them once per event, and MLMD's dense
// ids make that cheaper than maps.
type converter struct {
	*reader
	ctx    context.Context
	offset int64
	out    *staged

	err       error            // the first error of an id lookup (see pipeByName)
	pipes     map[string]*pipe // by name
	pipeOfCtx map[int64]*pipe  // pipeline contexts

	execPos, artPos positions
	execPipe        []int64  // pipeline id by execution position
	skipped         []bool   // Kubeflow DAG executions, left out
	artState        []string // canonical state by artifact position
	published       []bool   // executions with an output in a published state
	lastSeen        []int64  // an execution's last activity: its times and its events', in ms
	newest          int64    // the store's last activity, in ms
	producer        []int32  // position+1 of an artifact's first writer, 0 for none
	consumer        []int32  // position+1 of an artifact's first reader
	nSkipped        int
}

// convert turns what was read into canonical rows with ids shifted by the source's base.
func (r *reader) convert(ctx context.Context) (*staged, error) {
	c := &converter{
		reader: r, offset: r.stage.Base,
		out:     &staged{executions: make([]engine.Execution, 0, len(r.execs)), artifacts: make([]engine.Artifact, 0, len(r.arts))},
		pipes:   map[string]*pipe{},
		execPos: newPositions(len(r.execs), func(i int) int64 { return r.execs[i].id }),
		artPos:  newPositions(len(r.arts), func(i int) int64 { return r.arts[i].id }),
	}
	n := len(r.execs)
	c.execPipe, c.skipped, c.published = make([]int64, n), make([]bool, n), make([]bool, n)
	c.lastSeen = make([]int64, n)
	c.artState = make([]string, len(r.arts))
	c.producer, c.consumer = make([]int32, len(r.arts)), make([]int32, len(r.arts))
	// MLMD's ids become the store's, shifted into the source's range; the pipelines this
	// loader invents (records no pipeline context holds) take ids from the upper half of the
	// range, by name, so that no MLMD id, now or after the store grows, meets them.
	for id := range r.contexts {
		if err := checkID("Context", id); err != nil {
			return nil, err
		}
	}
	for _, x := range r.execs {
		if err := checkID("Execution", x.id); err != nil {
			return nil, err
		}
	}
	for _, a := range r.arts {
		if err := checkID("Artifact", a.id); err != nil {
			return nil, err
		}
	}
	r.stage.KeyFloor = idHalf
	c.ctx = ctx

	c.toPipelines()
	for _, step := range []func() error{c.toExecutions, c.toEvents, c.toArtifacts} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	c.warn()
	return c.out, nil
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

// addPipe makes a pipeline; the first of a name is the one pipeByName finds.
func (c *converter) addPipe(id int64, name, source string, attrs map[string]any) *pipe {
	p := &pipe{id: id, name: name}
	if _, ok := c.pipes[name]; !ok {
		c.pipes[name] = p
	}
	js, _ := json.Marshal(attrs)
	c.out.pipelines = append(c.out.pipelines, engine.Pipeline{ID: id, Name: name, Attrs: string(js), Src: source})
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

// toExecutions converts every execution but Kubeflow's DAG nodes.
func (c *converter) toExecutions() error {
	for ai, a := range c.arts {
		c.artState[ai] = artifactState(a)
		c.newest = max(c.newest, a.create, a.update)
	}
	for xi, x := range c.execs {
		c.lastSeen[xi] = max(x.create, x.update)
		c.newest = max(c.newest, c.lastSeen[xi])
	}
	for _, e := range c.reader.events {
		c.newest = max(c.newest, e.ms)
		xi, ok := c.execPos.get(e.execution)
		if !ok {
			continue // toEvents reports it
		}
		c.lastSeen[xi] = max(c.lastSeen[xi], e.ms)
		if dir, _, _ := EventDirection(e.typ); dir == "out" {
			if ai, ok := c.artPos.get(e.artifact); ok && publishedStates[c.artState[ai]] {
				c.published[xi] = true
			}
		}
	}
	type nodeKey struct {
		pipeline int64
		node     string
	}
	lastComplete := map[nodeKey]int64{} // the latest start of a complete execution of a node
	type unfinished struct {
		row, xi int
		node    nodeKey
	}
	var pending []unfinished
	assocs := &linksOf{all: c.assoc}
	for xi, x := range c.execs {
		t := c.types[x.typeID]
		if t == nil || t.kind != KindExecution {
			return fmt.Errorf("%s: type_id %d is not an execution type in Type", c.src("Execution", x.id), x.typeID)
		}
		links := assocs.next(x.id)
		if t.name == "system.DAGExecution" {
			c.skipped[xi] = true
			c.nSkipped++
			continue
		}
		op := lastSegment(t.name)
		switch t.name {
		case "system.ContainerExecution":
			op = cmp.Or(propString(x.props, "task_name"), propString(x.props, "display_name"), op)
		case "system.ImporterExecution":
			op = "Importer"
		}
		p, runID, node := c.place(x, links, op)
		state, err := c.state(x)
		if err != nil {
			return err
		}
		row := engine.Execution{
			ID: c.offset + x.id, PipelineID: p.id, RunID: runID, NodeID: node, OpType: op, State: state,
			Start: msTime(x.create), Src: c.src("Execution", x.id),
		}
		switch state {
		case "complete", "failed":
			row.End, row.Cost = finished(x)
		case "cached", "canceled":
			row.End = msTime(x.update)
			row.Cost = sql.NullFloat64{Valid: true}
		}
		if v, ok := x.props.get(costProp); ok {
			// A store mlprov wrote keeps the corpus's own cost, which the duration only
			// approximates.
			if f, ok := v.(float64); ok {
				row.Cost = sql.NullFloat64{Float64: f, Valid: true}
			} else if n, ok := v.(int64); ok {
				row.Cost = sql.NullFloat64{Float64: float64(n), Valid: true}
			}
		}
		if _, known := c.categories[row.OpType]; row.Category == "" && !known {
			for _, b := range t.bases {
				if cat, ok := baseCategories[b]; ok {
					row.Category = cat
					break
				}
			}
		}
		extra := map[string]any{"mlmd_id": x.id, "mlmd_type": t.name}
		if x.name != "" {
			extra["mlmd_name"] = x.name
		}
		if row.Attrs, err = attrsJSON(x.props, extra); err != nil {
			return fmt.Errorf("%s: %w", c.src("Execution", x.id), err)
		}
		c.execPipe[xi] = p.id
		key := nodeKey{p.id, node}
		switch state {
		case "complete":
			lastComplete[key] = max(lastComplete[key], x.create)
		case "running":
			pending = append(pending, unfinished{len(c.out.executions), xi, key})
		}
		c.out.executions = append(c.out.executions, row)
	}
	// An unfinished execution that published nothing is abandoned once a later run of its
	// node completed, or once the store went on for abandonedAfter without it.
	for _, u := range pending {
		seen := c.lastSeen[u.xi]
		if c.published[u.xi] {
			continue
		}
		if done, ok := lastComplete[u.node]; !(ok && done >= seen) && c.newest-seen < abandonedAfter.Milliseconds() {
			continue
		}
		row := &c.out.executions[u.row]
		row.State = "failed"
		end, cost := finished(c.execs[u.xi])
		row.End = end
		if !row.Cost.Valid {
			row.Cost = cost
		}
	}
	return nil
}

// finished gives the end time and the cost proxy (its duration in seconds) of an execution
// that ran to an end.
func finished(x mexec) (time.Time, sql.NullFloat64) {
	if x.create > 0 && x.update > 0 {
		return msTime(x.update), sql.NullFloat64{Float64: float64(max(0, x.update-x.create)) / 1000, Valid: true}
	}
	return msTime(x.update), sql.NullFloat64{}
}

// place finds an execution's pipeline, run and node from its contexts, else from the
// properties legacy launchers and Kubeflow write.
func (c *converter) place(x mexec, links []link, op string) (p *pipe, runID, node string) {
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
		p = c.pipeByName(cmp.Or(propString(x.props, "pipeline_name"), c.fallback))
	}
	runID = propString(x.props, "run_id")
	if runCtx != nil {
		runID = runCtx.name
	}
	switch {
	case nodeCtx != nil:
		node = strings.TrimPrefix(nodeCtx.name, p.name+".")
	case propString(x.props, "component_id") != "":
		node = propString(x.props, "component_id")
	case compCtx != nil:
		node = strings.TrimPrefix(compCtx.name, p.name+"."+runID+".")
	default:
		node = cmp.Or(propString(x.props, "task_name"), propString(x.props, "display_name"), op)
	}
	return p, runID, node
}

// state maps an execution's MLMD state, or a legacy launcher's state property, to the
// canonical one. A legacy launcher writes its state property when it publishes and may leave
// the column at NEW or RUNNING, so a finished state property wins over those. What is still
// NEW, RUNNING or unknown comes back "running", for toExecutions to tell a live run from an
// abandoned one.
func (c *converter) state(x mexec) (string, error) {
	code := x.state.Int64
	if !x.state.Valid {
		code = ExecUnknown
	}
	switch code {
	case ExecComplete:
		if strings.EqualFold(propString(x.props, "state"), "cached") {
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
		if s := legacyStates[strings.ToLower(propString(x.props, "state"))]; s != "" {
			return s, nil
		}
		return "running", nil
	}
	return "", fmt.Errorf("%s: last_known_state %d is not an MLMD state (0 to 6)", c.src("Execution", x.id), code)
}

// toEvents resolves directions, drops what is not lineage (PENDING_OUTPUT, UNKNOWN, Kubeflow
// DAG nodes' events) and keeps one row per execution, artifact and direction, preferring
// INPUT and OUTPUT over declared and internal events.
func (c *converter) toEvents() error {
	type ev struct {
		mevent
		dir  string
		rank int
	}
	evs := make([]ev, 0, len(c.reader.events))
	for _, e := range c.reader.events {
		xi, ok := c.execPos.get(e.execution)
		if !ok {
			return fmt.Errorf("%s: execution_id %d is not in Execution", c.src("Event", e.id), e.execution)
		}
		ai, ok := c.artPos.get(e.artifact)
		if !ok {
			return fmt.Errorf("%s: artifact_id %d is not in Artifact", c.src("Event", e.id), e.artifact)
		}
		if c.skipped[xi] {
			continue
		}
		dir, rank, ok := EventDirection(e.typ)
		switch {
		case !ok && (e.typ == EventUnknown || e.typ == EventPendingOutput):
			continue
		case !ok:
			return fmt.Errorf("%s: type %d is not an MLMD event type (0 to 7)", c.src("Event", e.id), e.typ)
		}
		if dir == "out" {
			if c.producer[ai] == 0 {
				c.producer[ai] = int32(xi + 1)
			}
		} else if c.consumer[ai] == 0 {
			c.consumer[ai] = int32(xi + 1)
		}
		evs = append(evs, ev{e, dir, rank})
	}
	slices.SortFunc(evs, func(a, b ev) int {
		return cmp.Or(cmp.Compare(a.execution, b.execution), cmp.Compare(a.artifact, b.artifact),
			strings.Compare(a.dir, b.dir), cmp.Compare(a.rank, b.rank), cmp.Compare(a.id, b.id))
	})
	c.out.events = make([]engine.Event, 0, len(evs))
	for i, e := range evs {
		if i > 0 && evs[i-1].execution == e.execution && evs[i-1].artifact == e.artifact && evs[i-1].dir == e.dir {
			continue
		}
		c.out.events = append(c.out.events, engine.Event{
			ExecutionID: c.offset + e.execution, ArtifactID: c.offset + e.artifact, Direction: e.dir,
			Role: c.roles[e.id], Time: msTime(e.ms), Src: c.src("Event", e.id),
		})
	}
	return nil
}

// toArtifacts converts every artifact; its pipeline is its pipeline context, else its first
// producer's, else its first consumer's.
func (c *converter) toArtifacts() error {
	attribs := &linksOf{all: c.attrib}
	for ai, a := range c.arts {
		t := c.types[a.typeID]
		if t == nil || t.kind != KindArtifact {
			return fmt.Errorf("%s: type_id %d is not an artifact type in Type", c.src("Artifact", a.id), a.typeID)
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
		state := c.artState[ai]
		extra := map[string]any{"mlmd_id": a.id}
		if a.name != "" {
			extra["mlmd_name"] = a.name
		}
		if t.name != lastSegment(t.name) {
			extra["mlmd_type"] = t.name
		}
		attrs, err := attrsJSON(a.props, extra)
		if err != nil {
			return fmt.Errorf("%s: %w", c.src("Artifact", a.id), err)
		}
		c.out.artifacts = append(c.out.artifacts, engine.Artifact{
			ID: c.offset + a.id, PipelineID: pid, Type: lastSegment(t.name), URI: a.uri,
			Span: propInt(a.props, "span"), Version: propInt(a.props, "version"), State: state,
			Created: msTime(a.create), SizeBytes: propInt(a.props, sizeProp), Attrs: attrs, Src: c.src("Artifact", a.id),
		})
	}
	return nil
}

func (c *converter) warn() {
	if c.nSkipped > 0 {
		c.warnings = append(c.warnings, fmt.Sprintf("left out %d Kubeflow DAG executions (the run's own DAG nodes, not work)", c.nSkipped))
	}
}
