package openlineage

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"mlprov/engine"
)

// run is one execution being assembled from its events.
type run struct {
	id, pipeline      int64
	runID             string
	pipelineKey       string
	pipelineRun       string
	job               Job
	node              string
	start, end, first time.Time
	terminal          string
	src               string
	nominal           string
	inputs, outputs   map[int64]time.Time // artifact id -> first listed
}

// builder accumulates a log's events into canonical rows.
type builder struct {
	// id gives the id of the record a key names, the same at every load of the source.
	id        func(key string) (int64, error)
	err       error // the first error id returned
	runs      map[string]*run
	runOrder  []*run
	pipelines map[string]*engine.Pipeline
	pipeOrder []string
	artifacts map[string]*engine.Artifact
	artOrder  []string
	// versioned holds the artifacts whose version facet names them; the others are
	// versioned per write (see versionWrites).
	versioned map[int64]bool
	parents   map[string]bool
	skipped   map[string]int
}

// newID returns the id of the record key names (see engine.Stage.ID).
func (b *builder) newID(key string) int64 {
	id, err := b.id(key)
	if err != nil && b.err == nil {
		b.err = err
	}
	return id
}

// parentFacet is the standard ParentRunFacet.
type parentFacet struct {
	Run struct {
		RunID string `json:"runId"`
	} `json:"run"`
	Job struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"job"`
}

// newBuilder returns a builder that numbers records with id (see engine.Stage.ID).
func newBuilder(id func(key string) (int64, error)) *builder {
	return &builder{id: id, runs: map[string]*run{}, pipelines: map[string]*engine.Pipeline{},
		artifacts: map[string]*engine.Artifact{}, parents: map[string]bool{}, skipped: map[string]int{}, versioned: map[int64]bool{}}
}

// check refuses an event the builder cannot use, naming its file and line, and reads its
// time; an event without a run (a JobEvent or DatasetEvent) is marked skipped. Every error
// an event can cause is found here, so that the first bad event of a file is the one reported
// whatever order the builder takes the events in.
func check(e *event) error {
	ev, src := e.ev, e.src()
	if ev.Run == nil || ev.Run.RunID == "" {
		switch {
		case ev.Job != nil && ev.Run == nil:
			e.skip = "job events (no run)"
			return nil
		case ev.Dataset != nil:
			e.skip = "dataset events (no run)"
			return nil
		}
		return fmt.Errorf("%s: run.runId is missing", src)
	}
	if ev.Job == nil || ev.Job.Name == "" {
		return fmt.Errorf("%s: run %s: job.name is missing", src, ev.Run.RunID)
	}
	if ev.EventTime == "" {
		return fmt.Errorf("%s: run %s: eventTime is missing", src, ev.Run.RunID)
	}
	t, err := ParseTime(ev.EventTime)
	if err != nil {
		return fmt.Errorf("%s: run %s: %w", src, ev.Run.RunID, err)
	}
	e.time = t
	if raw, ok := ev.Run.Facets["parent"]; ok {
		var p parentFacet
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("%s: run %s: parent facet: %w", src, ev.Run.RunID, err)
		}
	}
	for i, d := range ev.Inputs {
		if _, err := datasetVersion(d); err != nil {
			return fmt.Errorf("%s: run %s: input %d: %w", src, ev.Run.RunID, i+1, err)
		}
	}
	for i, d := range ev.Outputs {
		if _, err := datasetVersion(d); err != nil {
			return fmt.Errorf("%s: run %s: output %d: %w", src, ev.Run.RunID, i+1, err)
		}
	}
	return nil
}

// add merges an event that check accepted into its run. Events must come in order of time
// (see sortEvents): where two events disagree, the later one wins.
func (b *builder) add(e *event) {
	if e.skip != "" {
		b.skipped[e.skip]++
		return
	}
	ev, t, src := e.ev, e.time, e.src()
	r := b.runs[ev.Run.RunID]
	if r == nil {
		r = &run{runID: ev.Run.RunID, job: *ev.Job, src: src, inputs: map[int64]time.Time{}, outputs: map[int64]time.Time{}}
		b.runs[ev.Run.RunID] = r
		b.runOrder = append(b.runOrder, r)
	}
	if r.job.Facets == nil && ev.Job.Facets != nil {
		r.job.Facets = ev.Job.Facets
	}
	if raw, ok := ev.Run.Facets["parent"]; ok {
		var p parentFacet
		_ = json.Unmarshal(raw, &p) // check read it
		if p.Run.RunID != "" {
			r.pipelineRun = p.Run.RunID
			b.parents[p.Run.RunID] = true
		}
		if p.Job.Name != "" {
			r.pipelineKey = p.Job.Name
			r.node = strings.TrimPrefix(ev.Job.Name, p.Job.Name+".")
		}
	}
	if raw, ok := ev.Run.Facets["nominalTime"]; ok && r.nominal == "" {
		var n struct {
			Start string `json:"nominalStartTime"`
		}
		if json.Unmarshal(raw, &n) == nil && n.Start != "" {
			if nt, err := ParseTime(n.Start); err == nil {
				r.nominal = nt.Format(time.RFC3339)
			}
		}
	}
	if r.first.IsZero() || t.Before(r.first) {
		r.first = t
	}
	switch strings.ToUpper(ev.EventType) {
	case "START":
		if r.start.IsZero() || t.Before(r.start) {
			r.start = t
		}
	case "COMPLETE", "FAIL", "ABORT":
		if r.end.IsZero() || !t.Before(r.end) {
			r.end, r.terminal = t, strings.ToUpper(ev.EventType)
		}
	}
	for _, d := range ev.Inputs {
		a := b.dataset(d, src)
		if _, ok := r.inputs[a.ID]; !ok {
			r.inputs[a.ID] = t
		}
	}
	for _, d := range ev.Outputs {
		a := b.dataset(d, src)
		if _, ok := r.outputs[a.ID]; !ok {
			r.outputs[a.ID] = t
		}
		if a.Created.IsZero() || t.Before(a.Created) {
			a.Created = t
		}
		var stats struct {
			RowCount *int64 `json:"rowCount"`
			Size     *int64 `json:"size"`
		}
		if raw, ok := d.OutputFacets["outputStatistics"]; ok && json.Unmarshal(raw, &stats) == nil && stats.Size != nil {
			a.SizeBytes = sql.NullInt64{Int64: *stats.Size, Valid: true}
		}
	}
}

// datasetVersion returns the datasetVersion of a dataset's version facet ("" when it has
// none), or why the dataset cannot be read.
func datasetVersion(d Dataset) (string, error) {
	if d.Name == "" {
		return "", fmt.Errorf("dataset name is missing")
	}
	raw, ok := d.Facets["version"]
	if !ok {
		return "", nil
	}
	var v struct {
		DatasetVersion string `json:"datasetVersion"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("dataset %s: version facet: %w", d.Name, err)
	}
	return v.DatasetVersion, nil
}

// dataset returns the artifact of a dataset version, creating it on first sight; check has
// read the dataset.
func (b *builder) dataset(d Dataset, src string) *engine.Artifact {
	version, _ := datasetVersion(d)
	key := d.Namespace + "\x00" + d.Name + "\x00" + version
	if a, ok := b.artifacts[key]; ok {
		return a
	}
	attrs := map[string]any{"namespace": d.Namespace, "name": d.Name}
	a := &engine.Artifact{ID: b.newID("dataset " + key), Type: "Dataset", URI: datasetURI(d.Namespace, d.Name), State: "live", Src: src}
	if version != "" {
		attrs["dataset_version"] = version
		if n, err := strconv.ParseInt(version, 10, 64); err == nil {
			a.Version = sql.NullInt64{Int64: n, Valid: true}
		}
	}
	js, _ := json.Marshal(attrs)
	a.Attrs = string(js)
	b.artifacts[key] = a
	b.artOrder = append(b.artOrder, key)
	if version != "" {
		b.versioned[a.ID] = true
	}
	return a
}

// datasetURI follows OpenLineage's naming: namespace and name joined by a slash.
func datasetURI(ns, name string) string {
	if ns == "" {
		return name
	}
	return strings.TrimSuffix(ns, "/") + "/" + name
}

type rows struct {
	pipelines  []engine.Pipeline
	executions []engine.Execution
	artifacts  []engine.Artifact
	events     []engine.Event
}

func (b *builder) pipeline(name string, src string) int64 {
	p, ok := b.pipelines[name]
	if !ok {
		p = &engine.Pipeline{ID: b.newID("pipeline " + name), Name: name, Attrs: `{"orchestrator": "openlineage"}`, Src: src}
		b.pipelines[name] = p
		b.pipeOrder = append(b.pipeOrder, name)
	}
	return p.ID
}

var terminalStates = map[string]string{"COMPLETE": "complete", "FAIL": "failed", "ABORT": "canceled"}

// versionWrites gives each write of a dataset without a version facet an artifact of its
// own, and points each read at the version written last by a run that started before the
// reader. Runs are ordered by start time, then by their first event in the order the
// builder took the events (see sortEvents: logs of scheduled jobs often start a whole
// pipeline at one instant, in order); reads only follow that order, so the lineage has no
// cycle.
func (b *builder) versionWrites() {
	order := append([]*run(nil), b.runOrder...)
	startOf := func(r *run) time.Time {
		if r.start.IsZero() {
			return r.first
		}
		return r.start
	}
	sort.SliceStable(order, func(i, j int) bool { return startOf(order[i]).Before(startOf(order[j])) })
	rank := map[*run]int{}
	for i, r := range order {
		rank[r] = i
	}
	type write struct {
		rank int
		run  *run
		id   int64
	}
	writes := map[int64][]write{}
	for _, r := range order {
		for id := range r.outputs {
			if !b.versioned[id] {
				writes[id] = append(writes[id], write{rank: rank[r], run: r})
			}
		}
	}
	keys := map[int64]string{}
	for key, a := range b.artifacts {
		keys[a.ID] = key
	}
	bases := make([]int64, 0, len(writes))
	for id := range writes {
		bases = append(bases, id)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	for _, base := range bases {
		ws, key := writes[base], keys[base]
		for i, w := range ws {
			at := w.run.outputs[base]
			v := *b.artifacts[key]
			vkey := key + "\x00run\x00" + w.run.runID
			v.ID, v.Created, v.Src = b.newID("dataset "+vkey), at, w.run.src
			b.artifacts[vkey] = &v
			b.artOrder = append(b.artOrder, vkey)
			ws[i].id = v.ID
			delete(w.run.outputs, base)
			w.run.outputs[v.ID] = at
		}
		firstSeenRead := false
		for _, r := range order {
			at, ok := r.inputs[base]
			if !ok {
				continue
			}
			j := sort.Search(len(ws), func(i int) bool { return ws[i].rank >= rank[r] })
			if j == 0 {
				firstSeenRead = true
				continue
			}
			delete(r.inputs, base)
			r.inputs[ws[j-1].id] = at
		}
		if !firstSeenRead {
			delete(b.artifacts, key) // every read found a written version
		}
	}
	kept := b.artOrder[:0]
	for _, key := range b.artOrder {
		if _, ok := b.artifacts[key]; ok {
			kept = append(kept, key)
		}
	}
	b.artOrder = kept
}

func (b *builder) finish() *rows {
	b.versionWrites()
	out := &rows{}
	// Artifacts take the pipeline of the first run that writes them, else that reads them.
	writer, reader := map[int64]int64{}, map[int64]int64{}
	// A run whose event lacks the parent facet still belongs to a pipeline that other runs
	// name as parent when its job name is "<parent job>.<task>".
	parentJobs := map[string]bool{}
	for _, r := range b.runOrder {
		if r.pipelineKey != "" {
			parentJobs[r.pipelineKey] = true
		}
	}
	for _, r := range b.runOrder {
		if r.pipelineKey == "" {
			if i := strings.LastIndexByte(r.job.Name, '.'); i > 0 && parentJobs[r.job.Name[:i]] {
				r.pipelineKey, r.node = r.job.Name[:i], r.job.Name[i+1:]
			}
		}
	}
	for _, r := range b.runOrder {
		if b.parents[r.runID] && len(r.inputs) == 0 && len(r.outputs) == 0 {
			b.skipped["parent runs (pipeline runs, not work)"]++
			continue
		}
		key := r.pipelineKey
		if key == "" {
			key = cmp.Or(r.job.Namespace, "default")
		}
		r.pipeline = b.pipeline(key, r.src)
		r.id = b.newID("run " + r.runID)
		if r.node == "" {
			r.node = r.job.Name
		}
		runID := cmp.Or(r.pipelineRun, r.nominal, r.runID)
		start := r.start
		if start.IsZero() {
			start = r.first
		}
		x := engine.Execution{ID: r.id, PipelineID: r.pipeline, RunID: runID, NodeID: r.node, OpType: r.node,
			State: "running", Start: start, Src: r.src}
		if s, ok := terminalStates[r.terminal]; ok {
			x.State, x.End = s, r.end
			if !start.IsZero() && !r.end.Before(start) {
				x.Cost = sql.NullFloat64{Float64: r.end.Sub(start).Seconds(), Valid: true}
			}
		}
		attrs := map[string]any{"openlineage_run_id": r.runID, "job_namespace": r.job.Namespace, "job_name": r.job.Name}
		if r.nominal != "" {
			attrs["nominal_start_time"] = r.nominal
		}
		var jt struct {
			JobType     string `json:"jobType"`
			Integration string `json:"integration"`
		}
		if raw, ok := r.job.Facets["jobType"]; ok && json.Unmarshal(raw, &jt) == nil {
			attrs["job_type"], attrs["integration"] = jt.JobType, jt.Integration
		}
		js, _ := json.Marshal(attrs)
		x.Attrs = string(js)
		out.executions = append(out.executions, x)
		for _, dir := range []struct {
			name string
			set  map[int64]time.Time
		}{{"in", r.inputs}, {"out", r.outputs}} {
			ids := make([]int64, 0, len(dir.set))
			for id := range dir.set {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			for _, id := range ids {
				out.events = append(out.events, engine.Event{ExecutionID: r.id, ArtifactID: id, Direction: dir.name, Time: dir.set[id], Src: r.src})
				first := reader
				if dir.name == "out" {
					first = writer
				}
				if _, ok := first[id]; !ok {
					first[id] = r.pipeline
				}
			}
		}
	}
	for _, key := range b.artOrder {
		a := *b.artifacts[key]
		pid, ok := writer[a.ID]
		if !ok {
			pid, ok = reader[a.ID]
		}
		if !ok {
			// Only runs left out as parents listed it: file it under their namespace's name.
			pid = b.pipeline("default", a.Src)
		}
		a.PipelineID = pid
		out.artifacts = append(out.artifacts, a)
	}
	for _, name := range b.pipeOrder {
		out.pipelines = append(out.pipelines, *b.pipelines[name])
	}
	return out
}
