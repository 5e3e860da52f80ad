// Package mlmd loads ML Metadata (MLMD) stores: the SQLite files that TFX (both its current IR
// orchestration and the legacy one notebooks use) and Kubeflow Pipelines v2 write, at schema
// versions 6 to 10 (Loader), and the same tables in a MySQL, MariaDB or PostgreSQL database (Server).
//
// The user's store is never written, not even a journal, a lock or a shared-memory file: a
// store with nothing beside it is opened read-only and immutable in place; one with a WAL or
// a rollback journal beside it (a pipeline writing it, or one that crashed mid-write) is
// copied with them into a private temporary folder, where SQLite replays the WAL's committed
// transactions or rolls the unfinished one back, so the load sees what was committed. A file
// whose size disagrees with its SQLite header, or that SQLite finds malformed, is refused as
// truncated or damaged (ErrDamaged). How MLMD maps to the canonical tables:
//
//   - Execution types are class paths; op_type is the last segment
//     (tfx.components.trainer.component.Trainer -> Trainer). Kubeflow's system.ContainerExecution
//     takes its task_name (else display_name); system.DAGExecution rows are the run's own DAG
//     nodes, not work, and are left out with their events. Types that op_categories does not
//     know take their category from a ParentType base type (mlmd.Train -> train, mlmd.Transform
//     -> transform, mlmd.Evaluate -> validate, mlmd.Deploy -> deploy); the rest fall to other
//     and are listed in a warning.
//   - State: COMPLETE, FAILED, CACHED and CANCELED map to themselves. Legacy launchers leave
//     last_known_state unset (or NEW or RUNNING) and keep a state property (new, running,
//     complete, cached, failed), which wins when it says the execution finished.
//   - Abandoned runs: a store is a snapshot without heartbeats, and a launcher that crashed,
//     or a notebook kernel that was restarted, leaves its execution RUNNING (or NEW) forever.
//     Older TFX (InteractiveContext and the legacy orchestrator) even registers a run's output
//     artifacts before the run and marks them LIVE (state property "published") only when it
//     publishes them, so an OUTPUT event proves nothing. An unfinished execution that
//     published an output (one that is live, or later marked for deletion or deleted) is
//     running. One that published none is abandoned, and counts as failed, when a later
//     execution of the same node (pipeline and node_id) started at or after its last
//     activity and completed, or when the store's last activity (the latest time on any
//     execution, artifact or event) is 24 hours or more past its own (its create and update
//     times and those of its events); otherwise it is still plausibly running. A day is
//     longer than TFX and Kubeflow components run between two writes to the store, and
//     pipelines that run daily write again within it; a run that truly takes longer reads
//     as failed until it publishes. The rule only reads the store, so a load is the same
//     whenever it runs, and loading the grown store again (mlprov load --replace PATH)
//     corrects what a snapshot could not yet tell: the run later published comes back
//     complete.
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
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"mlprov/engine"
)

// Loader reads MLMD SQLite stores. Its zero value is ready to use.
type Loader struct{}

// StoreFile is the name TFX gives a local MLMD store in its pipeline root.
const StoreFile = "metadata.sqlite"

// StoreIn returns where a folder's MLMD store would be (StoreFile in it; "" when dir is not a
// folder), and whether it is there.
func StoreIn(dir string) (string, bool) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", false
	}
	path := filepath.Join(dir, StoreFile)
	fi, err := os.Stat(path)
	return path, err == nil && fi.Mode().IsRegular()
}

var _ engine.Loader = (*Loader)(nil)

var (
	// ErrNotSQLite means the file does not start with the SQLite header.
	ErrNotSQLite = errors.New("not an SQLite file")
	// ErrDamaged means the file starts with the SQLite header but SQLite cannot read it whole:
	// it was cut short (copied while being written, a partial download) or overwritten.
	ErrDamaged = errors.New("is an SQLite file but truncated or damaged")
	// ErrNotMLMD means the file or database has no MLMDEnv table, or lacks a table of MLMD
	// that mlprov needs.
	ErrNotMLMD = errors.New("not an MLMD store")
	// ErrSchemaVersion means the store's schema version is outside what mlprov reads.
	ErrSchemaVersion = errors.New("unsupported MLMD schema version")
)

var sqliteHeader = []byte("SQLite format 3\x00")

// Format implements engine.Loader.
func (*Loader) Format() string { return engine.FormatMLMD }

// Detect implements engine.Loader: a file that starts with the SQLite header (or with a cut
// piece of it), or an empty file named like a SQLite store. It claims every SQLite file, not
// only those holding an MLMDEnv table, so that a damaged or foreign one gets Stage's error
// saying what is wrong with it rather than "format not recognised".
func (*Loader) Detect(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, _ := io.ReadFull(f, head)
	if n == 0 {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".sqlite", ".sqlite3", ".db":
			fi, err := f.Stat()
			return err == nil && fi.Mode().IsRegular()
		}
		return false
	}
	return bytes.Equal(head[:n], sqliteHeader[:n])
}

// checkHeader reads the SQLite header of path and refuses a file that is not SQLite, or whose
// size disagrees with the database size its header records: a store cut short fails here with
// ErrDamaged, before SQLite reads a page past the end. When a WAL or a rollback journal lies
// beside the file, the file alone may legitimately disagree with its header, and SQLite
// itself judges the copy (see openReadOnly).
func checkHeader(path string, sideFiles bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 {
		return fmt.Errorf("%w: the file is empty (0 bytes), as SQLite leaves a store that was opened but never written", ErrNotSQLite)
	}
	head := make([]byte, 100)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if k := min(n, len(sqliteHeader)); !bytes.Equal(head[:k], sqliteHeader[:k]) {
		return ErrNotSQLite
	}
	if n < 100 {
		return fmt.Errorf("%w: %d bytes, shorter than the 100-byte SQLite header", ErrDamaged, size)
	}
	pageSize := int64(binary.BigEndian.Uint16(head[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("%w: the header gives page size %d, which SQLite never writes", ErrDamaged, pageSize)
	}
	if sideFiles {
		return nil
	}
	if size%pageSize != 0 {
		return fmt.Errorf("%w: %d bytes is not a whole number of %d-byte pages (the file was cut mid-page)", ErrDamaged, size, pageSize)
	}
	// The header's page count is valid when its change counter matches version-valid-for.
	pages := int64(binary.BigEndian.Uint32(head[28:32]))
	if bytes.Equal(head[24:28], head[92:96]) && pages > 0 && size < pages*pageSize {
		return fmt.Errorf("%w: %d bytes, but its header says %d (%d pages of %d bytes)", ErrDamaged, size, pages*pageSize, pages, pageSize)
	}
	return nil
}

// Fingerprint implements engine.Loader: a SHA-256 of the file and, when one lies beside it,
// of its WAL, whose committed transactions are part of the store.
func (*Loader) Fingerprint(ctx context.Context, path string) (string, error) {
	h := sha256.New()
	for _, p := range []string{path, path + "-wal"} {
		f, err := os.Open(p)
		if p != path && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// sideFiles lists the WAL and rollback journal that lie beside path and hold bytes.
func sideFiles(path string) []string {
	var out []string
	for _, suffix := range []string{"-wal", "-journal"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			out = append(out, suffix)
		}
	}
	return out
}

// openReadOnly opens the store so that nothing is ever written beside the user's file, and
// returns a function that releases it. A store with no WAL or rollback journal beside it is
// opened in place with mode=ro&immutable=1, which skips locking and journals altogether.
// Immutable would ignore committed transactions still in a WAL (and leave a half-written
// transaction that a hot journal would roll back), so a store with either beside it is
// copied, with them, into a private temporary folder, and SQLite opens the copy, replaying
// the WAL or rolling the journal back there. The copy is retried when the files change
// while being copied, since a live writer may checkpoint in between.
func openReadOnly(path string) (*sql.DB, func(), error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	side := sideFiles(abs)
	if len(side) == 0 {
		db, err := open("file:" + quoteURIPath(abs) + "?mode=ro&immutable=1")
		return db, func() { db.Close() }, err
	}
	dir, err := os.MkdirTemp("", "mlprov-mlmd-")
	if err != nil {
		return nil, nil, fmt.Errorf("copy the store and its %s: %w", strings.Join(side, ", "), err)
	}
	release := func() { os.RemoveAll(dir) }
	copyPath := filepath.Join(dir, StoreFile)
	for attempt := 1; ; attempt++ {
		changed, err := copyStore(abs, copyPath, side)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("copy the store and its %s: %w", strings.Join(side, ", "), err)
		}
		if !changed {
			break
		}
		if attempt == 3 {
			release()
			return nil, nil, fmt.Errorf("the store and its %s changed while being copied, three times: load it once the pipeline is idle", strings.Join(side, ", "))
		}
	}
	db, err := open("file:" + quoteURIPath(copyPath) + "?mode=rw")
	if err != nil {
		release()
		return nil, nil, err
	}
	return db, func() { db.Close(); release() }, nil
}

// readCache is the page cache of each connection that reads a store, as SQLite's cache_size
// (negative: KiB). The reader joins every record with its properties through their primary
// key; 64 MiB (SQLite's default is 2 MiB) keeps those index pages, which reads a scale-0.1
// store in 13 s instead of 17.
const readCache = "-65536"

// open opens a store for reading. database/sql hands a connection to one goroutine at a time,
// so SQLite's own locking of each connection (_mutex=no) would be paid for on every column
// read, for nothing.
func open(dsn string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", dsn+"&_cache_size="+readCache+"&_mutex=no")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2) // the reader scans two tables at once (see converter.stream)
	return db, nil
}

// copyStore copies the store at src and its side files to dst, and reports whether any of
// them changed (size or modification time) while being copied.
func copyStore(src, dst string, side []string) (changed bool, err error) {
	stamp := func() (string, error) {
		var b strings.Builder
		for _, s := range append([]string{""}, side...) {
			fi, err := os.Stat(src + s)
			if errors.Is(err, fs.ErrNotExist) {
				b.WriteString("-;")
				continue
			}
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "%d %d;", fi.Size(), fi.ModTime().UnixNano())
		}
		return b.String(), nil
	}
	before, err := stamp()
	if err != nil {
		return false, err
	}
	for _, s := range append([]string{""}, side...) {
		if err := copyFile(src+s, dst+s); err != nil && !(s != "" && errors.Is(err, fs.ErrNotExist)) {
			return false, err
		}
	}
	after, err := stamp()
	return before != after, err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Stage implements engine.Loader.
func (*Loader) Stage(ctx context.Context, st *engine.Stage, path string) error {
	name := filepath.Base(path)
	side := sideFiles(path)
	if err := checkHeader(path, len(side) > 0); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	db, release, err := openReadOnly(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer release()
	return stageStore(ctx, st, &reader{db: sqliteDB{db}, file: name, fallback: strings.TrimSuffix(name, ".sqlite")})
}

// stageStore reads the store r holds and streams its canonical rows into the stage.
func stageStore(ctx context.Context, st *engine.Stage, r *reader) error {
	cats, err := st.Categories(ctx)
	if err != nil {
		return err
	}
	r.categories, r.stage = cats, st
	st.Step("reading %s", r.file)
	if err := r.read(ctx); err != nil {
		return err
	}
	st.Step("staging schema %d: %d executions, %d artifacts, %d events", r.version, r.counts["Execution"], r.counts["Artifact"], r.counts["Event"])
	c, err := r.convert(ctx)
	if err != nil {
		return err
	}
	st.Count(r.total.Load(), r.total.Load())
	for _, w := range r.warnings {
		st.Step("warning: %s", w)
	}
	st.Step("staged %d executions, %d artifacts, %d events", c.nExecs, c.nArts, c.nEvents)
	return nil
}
