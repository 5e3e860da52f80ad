// Package openlineage loads OpenLineage event logs (spec 2-0-x): a file of RunEvents as a
// JSON array, JSON lines or pretty-printed events, or a folder of such files.
//
// Every log loaded into a store is part of one source (Loader.Identity), and the store keeps
// each distinct event it received in openlineage_events (the same event in two files, or
// loaded twice, counts once: events are compared by a digest of their canonical JSON). Each
// load builds the source's rows from all of its events, sorted by eventTime (events of one
// instant by file name and line), and syncs the store to them: a run whose START is in one
// day's log and whose COMPLETE is in the next is one execution, updated by the second load,
// whichever log comes first; a namespace is one pipeline however many logs feed it. Errors
// name the file and line an event was read from, in this load or an earlier one. A load with
// --replace (engine.LoadOptions.Replace) forgets the events of earlier loads: the source then
// holds only what the input holds, so replace with the folder of every log.
//
// How OpenLineage maps to the canonical tables:
//
//   - A run (runId) is an execution. Its state comes from its latest terminal event (COMPLETE
//     -> complete, FAIL -> failed, ABORT -> canceled; none yet, only START and RUNNING ->
//     running); start_time is its START (else its first event), end_time the terminal event,
//     and cost the duration in seconds between them (OpenLineage has no compute figure).
//   - The job is the execution's node: node_id is the job name (less a "<parent job>."
//     prefix), op_type the same name, so op_categories decides the category.
//   - The parent run facet is the pipeline run: pipeline is the parent job's name and run_id
//     the parent runId. A run without the facet whose job is named "<parent job>.<task>"
//     after a parent that other runs name joins that pipeline. Otherwise the pipeline is the
//     job namespace and run_id the run's nominalStartTime (runs scheduled together form one
//     pipeline run), else its runId.
//     A run that is only the parent of others (an Airflow DAG run, say) and touches no
//     dataset is a pipeline run, not work: it is left out.
//   - A dataset (namespace, name, and the version facet's datasetVersion when present) is an
//     artifact of type Dataset; inputs and outputs of a run are its in and out events.
//     Provenance artifacts never change, so a dataset without a version facet gets one
//     artifact per run that writes it, and a run reads the version written last by a run
//     that started before it (the dataset as first seen when none did): a job that reads and
//     writes one table, or jobs that feed each other day after day, make a chain, not a cycle.
//   - JobEvents and DatasetEvents (static metadata, no run) are counted and skipped.
//   - Deployment: no standard facet says "model deployed". The engine's deploy rule
//     (engine.LoadOptions.DeployRule) names the jobs that deploy, by their full name
//     ("<parent job>.<task>", which is the pipeline and node_id) or their node_id.
package openlineage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"mlprov/engine"
)

// Loader reads OpenLineage logs. Its zero value is ready to use.
type Loader struct{}

var (
	_ engine.Loader     = (*Loader)(nil)
	_ engine.Identifier = (*Loader)(nil)
	_ engine.Keeper     = (*Loader)(nil)
)

// Format implements engine.Loader.
func (*Loader) Format() string { return engine.FormatOpenLineage }

// Identity implements engine.Identifier: every OpenLineage log loaded into a store is part of
// one source, so that a run whose events are spread over several logs is one execution.
func (*Loader) Identity(string) (string, error) { return engine.FormatOpenLineage, nil }

// Stage implements engine.Loader. It stages the rows of every event the source has received:
// those earlier loads kept in openlineage_events and the new ones of the input, which it
// keeps in turn.
func (*Loader) Stage(ctx context.Context, st *engine.Stage, path string) error {
	fs, err := files(path)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		return fmt.Errorf("%s: no .json, .jsonl or .ndjson files", filepath.Base(path))
	}
	kept, err := readEvents(ctx, st)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(kept))
	for _, e := range kept {
		seen[e.digest] = true
	}
	var fresh []*event
	for i, f := range fs {
		name := filepath.Base(f)
		if len(fs) > 1 {
			name = filepath.Base(path) + "/" + name
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		recs, err := Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		again := 0
		for i, r := range recs {
			e, err := newEvent(name, r, i)
			if err != nil {
				return err
			}
			if seen[e.digest] {
				again++
				continue
			}
			seen[e.digest] = true
			if err := check(e); err != nil {
				return err
			}
			fresh = append(fresh, e)
		}
		if again > 0 {
			st.Step("read %s: %d events, %d of them read before", name, len(recs), again)
		} else {
			st.Step("read %s: %d events", name, len(recs))
		}
		st.Count(int64(i+1), int64(len(fs)))
	}
	if len(kept) > 0 {
		st.Step("kept from earlier loads: %d events", len(kept))
	}
	if err := stageEvents(ctx, st, append(kept, fresh...)); err != nil {
		return err
	}
	st.AtCommit(func(ctx context.Context) error { return saveEvents(ctx, st, fresh) })
	return nil
}

// Restage implements engine.Keeper: it stages the rows of the events the store keeps of the
// source, those of earlier loads and those posted to mlprov serve.
func (*Loader) Restage(ctx context.Context, st *engine.Stage) error {
	kept, err := readEvents(ctx, st)
	if err != nil {
		return err
	}
	st.Step("kept: %d events", len(kept))
	return stageEvents(ctx, st, kept)
}

// stageEvents builds the source's rows from all of its events and stages them.
func stageEvents(ctx context.Context, st *engine.Stage, all []*event) error {
	sortEvents(all)
	b := newBuilder(func(key string) (int64, error) { return st.ID(ctx, key) })
	for _, e := range all {
		b.add(e)
	}
	rows := b.finish()
	if b.err != nil {
		return b.err
	}
	kinds := make([]string, 0, len(b.skipped))
	for k := range b.skipped {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		st.Step("skipped %d %s", b.skipped[k], k)
	}
	st.Step("staging %d executions, %d artifacts, %d events", len(rows.executions), len(rows.artifacts), len(rows.events))
	return st.Write(ctx, func(w *engine.StageWriter) error {
		for _, p := range rows.pipelines {
			if err := w.Pipeline(p); err != nil {
				return err
			}
		}
		for _, x := range rows.executions {
			if err := w.Execution(x); err != nil {
				return err
			}
		}
		for _, a := range rows.artifacts {
			if err := w.Artifact(a); err != nil {
				return err
			}
		}
		for _, e := range rows.events {
			if err := w.Event(e); err != nil {
				return err
			}
		}
		return nil
	})
}
