// Package mlmd loads ML Metadata (MLMD) stores: the SQLite files that TFX (both its current IR
// orchestration and the legacy one notebooks use) and Kubeflow Pipelines v2 write, at schema
// versions 6 to 10.
//
// The file is opened strictly read-only and immutable, so the user's store is never written,
// not even a journal or a lock. How MLMD maps to the canonical tables:
//
//   - Execution types are class paths; op_type is the last segment
//     (tfx.components.trainer.component.Trainer -> Trainer). Kubeflow's system.ContainerExecution
//     takes its task_name (else display_name); system.DAGExecution rows are the run's own DAG
//     nodes, not work, and are left out with their events. Types that op_categories does not
//     know take their category from a ParentType base type (mlmd.Train -> train, mlmd.Transform
//     -> transform, mlmd.Evaluate -> validate, mlmd.Deploy -> deploy); the rest fall to other
//     and are listed in a warning.
//   - State: COMPLETE, FAILED, CACHED and CANCELED map to themselves. Legacy launchers leave
//     last_known_state unset and keep a state property (new, running, complete, cached,
//     failed). A store is a snapshot without heartbeats, and a crashed launcher leaves its
//     execution RUNNING forever: RUNNING (or NEW) with no later activity of its own, that is
//     no output recorded, counts as failed; one that has recorded outputs stays running.
//   - Cost is a proxy: last_update - create in seconds for complete and failed executions, 0
//     for cached and canceled ones (they did not run), NULL for running ones.
//   - Pipeline: the pipeline (TFX) or system.Pipeline (Kubeflow, via ParentContext of the
//     run) context, else the pipeline_name property, else the file's name. run_id: the
//     pipeline_run, run or system.PipelineRun context, else the run_id property. node_id: the
//     node context (less its "<pipeline>." prefix), else component_id, task_name or
//     display_name, else op_type.
//   - Artifacts: type is the type name's last segment; span and version from their
//     properties; every property (custom or not) lands in attrs, decoded: mlmd-struct values
//     and proto_value Anys become JSON where their type is known.
//   - Events: INPUT, DECLARED_INPUT and INTERNAL_INPUT are in, OUTPUT, DECLARED_OUTPUT and
//     INTERNAL_OUTPUT out (one row per execution, artifact and direction); PENDING_OUTPUT and
//     UNKNOWN events are not lineage yet and are skipped. role is the EventPath key step.
//     A cached execution keeps its OUTPUT events to the artifacts it re-linked: the artifact
//     then has several producers and the complete one is the original.
//   - Ids: MLMD numbers every table from 1, so each id is shifted past the largest id in the
//     store, and a second MLMD store loads beside the first.
package mlmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"mlprov/engine"
)

// Loader reads MLMD SQLite stores. Its zero value is ready to use.
type Loader struct {
	// DeployRule, when set, marks executions whose node_id or op_type it matches as
	// deployments, for Kubeflow and custom pipelines that have no TFX Pusher: they become
	// op_type Pusher, category deploy, and a complete one that wrote no PushedModel gets one
	// with attrs pushed = 1, so that graphlets see a push.
	DeployRule *regexp.Regexp
}

var _ engine.Loader = (*Loader)(nil)

var (
	// ErrNotSQLite means the file does not start with the SQLite header.
	ErrNotSQLite = errors.New("not an SQLite file")
	// ErrNotMLMD means the SQLite file has no MLMDEnv table.
	ErrNotMLMD = errors.New("not an MLMD store (no MLMDEnv table)")
	// ErrSchemaVersion means the store's schema version is outside what mlprov reads.
	ErrSchemaVersion = errors.New("unsupported MLMD schema version")
)

var sqliteHeader = []byte("SQLite format 3\x00")

// Format implements engine.Loader.
func (*Loader) Format() string { return "mlmd" }

// Detect implements engine.Loader: an SQLite file that holds an MLMDEnv table.
func (*Loader) Detect(path string) bool {
	if !hasSQLiteHeader(path) {
		return false
	}
	db, err := openReadOnly(path)
	if err != nil {
		return false
	}
	defer db.Close()
	var n int
	err = db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'MLMDEnv'").Scan(&n)
	return err == nil && n == 1
}

func hasSQLiteHeader(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return bytes.Equal(head, sqliteHeader)
}

// Fingerprint implements engine.Loader: a SHA-256 of the file.
func (*Loader) Fingerprint(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// openReadOnly opens the store so that SQLite never writes beside it: mode=ro refuses writes,
// and immutable=1 skips locking and the journal altogether (so a hot journal is not rolled
// back either: a store that a live process is writing is read as it is on disk).
func openReadOnly(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+quoteURIPath(abs)+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4) // the reader scans tables in parallel
	return db, nil
}

// Stage implements engine.Loader.
func (l *Loader) Stage(ctx context.Context, st *engine.Stage, path string) error {
	name := filepath.Base(path)
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s: is a directory: an MLMD store is one SQLite file (metadata.sqlite)", name)
	}
	if !hasSQLiteHeader(path) {
		return fmt.Errorf("%s: %w (truncated, or not an MLMD store)", name, ErrNotSQLite)
	}
	db, err := openReadOnly(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer db.Close()
	cats, err := st.Categories(ctx)
	if err != nil {
		return err
	}
	offset, err := st.MaxID(ctx)
	if err != nil {
		return err
	}
	r := &reader{db: db, file: name, categories: cats, deploy: l.DeployRule, stage: st}
	st.Step("reading %s", name)
	if err := r.read(ctx); err != nil {
		return err
	}
	st.Step("read schema %d: %d executions, %d artifacts, %d events", r.version, len(r.execs), len(r.arts), len(r.events))
	rows, err := r.convert(offset)
	if err != nil {
		return err
	}
	for _, w := range r.warnings {
		st.Step("warning: %s", w)
	}
	st.Step("staging %d executions, %d artifacts, %d events", len(rows.executions), len(rows.artifacts), len(rows.events))
	return st.Write(ctx, func(w *engine.StageWriter) error { return rows.write(ctx, w) })
}
