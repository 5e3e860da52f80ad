package mlmd

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"mlprov/engine"
)

// Custom properties that carry the canonical columns MLMD has no place for, so that a corpus
// written by WriteCorpus loads back unchanged. Real stores do not have them; the loader
// takes them when present and keeps them out of attrs.
const (
	costProp = "mlprov_cost"
	sizeProp = "mlprov_size_bytes"
	// nameProp is a context's name when MLMD's unique (type, name) made WriteCorpus write
	// another: two pipelines of one name, or one run id in two pipelines.
	nameProp = "mlprov_name"
)

// Corpus is a set of canonical rows, as a generator or a store holds them.
type Corpus struct {
	Pipelines  []engine.Pipeline
	Executions []engine.Execution
	Artifacts  []engine.Artifact
	Events     []engine.Event
}

// categoryBases gives custom operators the MLMD base type their category stands for, so that
// the loader can categorise them without op_categories.
var categoryBases = map[string]string{
	"train": "mlmd.Train", "transform": "mlmd.Transform", "validate": "mlmd.Evaluate", "deploy": "mlmd.Deploy",
}

// classPath is the type name TFX gives an operator: its component class path.
func classPath(op string) string {
	return fmt.Sprintf("tfx.components.%s.component.%s", strings.ToLower(op), op)
}

var mlmdStates = map[string]int{
	"complete": ExecComplete, "failed": ExecFailed, "cached": ExecCached, "canceled": ExecCanceled, "running": ExecRunning,
}

var mlmdArtifactStates = func() map[string]int {
	m := map[string]int{}
	for i, s := range artifactStates {
		m[s] = i
	}
	return m
}()

// WriteCorpus writes c as a new MLMD store at path (schema 10, TFX's IR dialect): pipeline
// contexts with the pipeline's attrs as custom properties, pipeline_run and node contexts, class-path execution types, span and version as artifact
// properties, every attrs key as a custom property, and events with their channel key.
// MLMD has no cost or size column: they travel as the custom properties mlprov_cost and
// mlprov_size_bytes, which the loader reads back. A running execution comes back running
// unless the package doc's rule for abandoned runs calls it failed, as any MLMD store's would.
func WriteCorpus(ctx context.Context, path string, c *Corpus) (err error) {
	w, err := Create(ctx, path, MaxSchemaVersion)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
	}()
	// MLMD names contexts uniquely per type, while a corpus may hold several pipelines of
	// one name (from several sources) and one run id in several pipelines: a context whose
	// name is taken gets the pipeline id added, and keeps its own in nameProp.
	taken := map[[2]string]bool{}
	context := func(typ, name string, pipeline int64, t time.Time, parents ...int64) int64 {
		unique := name
		for i := 1; taken[[2]string{typ, unique}]; i++ {
			unique = fmt.Sprintf("%s (pipeline %d)", name, pipeline)
			if i > 1 {
				unique = fmt.Sprintf("%s (pipeline %d, %d)", name, pipeline, i)
			}
		}
		taken[[2]string{typ, unique}] = true
		id := w.Context(typ, unique, t, parents...)
		if unique != name {
			w.ContextProps(id, Prop{Name: nameProp, Custom: true, Value: name})
		}
		return id
	}
	pipeCtx := map[int64]int64{}
	pipeName := map[int64]string{}
	for _, p := range c.Pipelines {
		props, err := customProps(p.Attrs)
		if err != nil {
			return fmt.Errorf("write %s: pipeline %d: %w", path, p.ID, err)
		}
		pipeCtx[p.ID] = context("pipeline", p.Name, p.ID, time.Time{})
		w.ContextProps(pipeCtx[p.ID], props...)
		pipeName[p.ID] = p.Name
	}
	runCtx := map[string]int64{}
	nodeCtx := map[string]int64{}
	execID := map[int64]int64{}
	for i, x := range c.Executions {
		if i&0xfff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		pc, ok := pipeCtx[x.PipelineID]
		if !ok {
			return fmt.Errorf("write %s: execution %d: pipeline %d is not in the corpus", path, x.ID, x.PipelineID)
		}
		typ := w.Type(classPath(x.OpType), "execution", categoryBases[x.Category])
		state, ok := mlmdStates[x.State]
		if !ok {
			return fmt.Errorf("write %s: execution %d: unknown state %q", path, x.ID, x.State)
		}
		props, err := customProps(x.Attrs)
		if err != nil {
			return fmt.Errorf("write %s: execution %d: %w", path, x.ID, err)
		}
		if x.Cost.Valid {
			props = append(props, Prop{Name: costProp, Custom: true, Value: x.Cost.Float64})
		}
		id := w.Execution(typ, state, x.Start, x.End, props...)
		execID[x.ID] = id
		w.Associate(pc, id)
		if x.RunID != "" {
			k := fmt.Sprint(x.PipelineID, "\x00", x.RunID)
			rc, ok := runCtx[k]
			if !ok {
				rc = context("pipeline_run", x.RunID, x.PipelineID, x.Start, pc)
				runCtx[k] = rc
			}
			w.Associate(rc, id)
		}
		if x.NodeID != "" {
			k := fmt.Sprint(x.PipelineID, "\x00", x.NodeID)
			nc, ok := nodeCtx[k]
			if !ok {
				nc = context("node", pipeName[x.PipelineID]+"."+x.NodeID, x.PipelineID, x.Start, pc)
				nodeCtx[k] = nc
			}
			w.Associate(nc, id)
		}
	}
	artID := map[int64]int64{}
	for i, a := range c.Artifacts {
		if i&0xfff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		pc, ok := pipeCtx[a.PipelineID]
		if !ok {
			return fmt.Errorf("write %s: artifact %d: pipeline %d is not in the corpus", path, a.ID, a.PipelineID)
		}
		props, err := customProps(a.Attrs)
		if err != nil {
			return fmt.Errorf("write %s: artifact %d: %w", path, a.ID, err)
		}
		// span and version are properties the TFX types declare; the rest are custom.
		kept := props[:0]
		for _, p := range props {
			if p.Name != "span" && p.Name != "version" {
				kept = append(kept, p)
			}
		}
		if a.Span.Valid {
			kept = append(kept, Prop{Name: "span", Value: a.Span.Int64})
		}
		if a.Version.Valid {
			kept = append(kept, Prop{Name: "version", Value: a.Version.Int64})
		}
		if a.SizeBytes.Valid {
			kept = append(kept, Prop{Name: sizeProp, Custom: true, Value: a.SizeBytes.Int64})
		}
		state := ArtLive
		if s, ok := mlmdArtifactStates[a.State]; ok {
			state = s
		}
		id := w.Artifact(w.Type(a.Type, "artifact", ""), a.URI, state, a.Created, kept...)
		artID[a.ID] = id
		w.Attribute(pc, id)
	}
	index := map[string]int{} // TFX numbers the artifacts of one channel of one execution
	for i, e := range c.Events {
		if i&0xfff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		x, ok := execID[e.ExecutionID]
		a, ok2 := artID[e.ArtifactID]
		if !ok || !ok2 {
			return fmt.Errorf("write %s: event %d->%d names a missing execution or artifact", path, e.ExecutionID, e.ArtifactID)
		}
		typ := EventInput
		if e.Direction == "out" {
			typ = EventOutput
		}
		k := fmt.Sprint(x, "\x00", typ, "\x00", e.Role)
		w.Event(x, a, typ, e.Time, e.Role, index[k])
		index[k]++
	}
	return w.Err()
}

// customProps turns an attrs JSON object into custom properties: integers stay ints, other
// numbers doubles, strings strings, booleans bools, objects Structs and lists ListValues
// (schema 10).
func customProps(attrs string) ([]Prop, error) {
	if attrs == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(attrs))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("attrs: %w", err)
	}
	props := make([]Prop, 0, len(m))
	for _, k := range sortedKeys(m) {
		var v any
		switch t := m[k].(type) {
		case json.Number:
			if n, err := t.Int64(); err == nil {
				v = n
			} else {
				f, _ := t.Float64()
				v = f
			}
		case string, bool:
			v = t
		case nil:
			continue
		case map[string]any:
			v = Struct(plain(t).(map[string]any))
		default:
			// A Struct holds only objects: a list travels as a ListValue in proto_value,
			// which the loader decodes back to the list.
			l, err := structpb.NewList(plain(t).([]any))
			if err != nil {
				return nil, fmt.Errorf("attrs %q: %w", k, err)
			}
			if v, err = anypb.New(l); err != nil {
				return nil, fmt.Errorf("attrs %q: %w", k, err)
			}
		}
		props = append(props, Prop{Name: k, Custom: true, Value: v})
	}
	return props, nil
}

// plain turns json.Numbers back into float64 for structpb.
func plain(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = plain(x)
		}
	case []any:
		for i, x := range t {
			t[i] = plain(x)
		}
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ReadCorpus reads the canonical tables of a store (an mlprov store's DB) into a Corpus, in
// id order, so that a store or a generated corpus can be written as MLMD.
func ReadCorpus(ctx context.Context, db *sql.DB) (*Corpus, error) {
	c := &Corpus{}
	scan := func(q string, fn func(rows *sql.Rows) error) error {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var attrs, run, node, cat, uri, state sql.NullString
	var start, end, created sql.NullTime
	err := scan(`SELECT pipeline_id, name, attrs::VARCHAR FROM pipelines ORDER BY pipeline_id`, func(rows *sql.Rows) error {
		var p engine.Pipeline
		err := rows.Scan(&p.ID, &p.Name, &attrs)
		p.Attrs = attrs.String
		c.Pipelines = append(c.Pipelines, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read pipelines: %w", err)
	}
	err = scan(`SELECT execution_id, pipeline_id, run_id, node_id, op_type, category, state, start_time, end_time, cost, attrs::VARCHAR
		FROM executions ORDER BY execution_id`, func(rows *sql.Rows) error {
		var x engine.Execution
		err := rows.Scan(&x.ID, &x.PipelineID, &run, &node, &x.OpType, &cat, &x.State, &start, &end, &x.Cost, &attrs)
		x.RunID, x.NodeID, x.Category, x.Attrs = run.String, node.String, cat.String, attrs.String
		x.Start, x.End = start.Time, end.Time
		c.Executions = append(c.Executions, x)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read executions: %w", err)
	}
	err = scan(`SELECT artifact_id, pipeline_id, type, uri, span, version, state, create_time, size_bytes, attrs::VARCHAR
		FROM artifacts ORDER BY artifact_id`, func(rows *sql.Rows) error {
		var a engine.Artifact
		err := rows.Scan(&a.ID, &a.PipelineID, &a.Type, &uri, &a.Span, &a.Version, &state, &created, &a.SizeBytes, &attrs)
		a.URI, a.State, a.Created, a.Attrs = uri.String, state.String, created.Time, attrs.String
		c.Artifacts = append(c.Artifacts, a)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read artifacts: %w", err)
	}
	var role sql.NullString
	var at sql.NullTime
	err = scan(`SELECT execution_id, artifact_id, direction, role, event_time FROM events ORDER BY execution_id, direction, artifact_id`, func(rows *sql.Rows) error {
		var e engine.Event
		err := rows.Scan(&e.ExecutionID, &e.ArtifactID, &e.Direction, &role, &at)
		e.Role, e.Time = role.String, at.Time
		c.Events = append(c.Events, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return c, nil
}
