package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Loader reads one input format into the store's staging tables. Each format under loaders/
// implements it; the engine owns the transaction, the validation and the final insert.
type Loader interface {
	// Format names the input format, such as "native" or "mlmd".
	Format() string
	// Detect reports whether path looks like this format; it reads at most a few bytes.
	Detect(path string) bool
	// Fingerprint returns a digest of the input's content, so that a second load of the same
	// source is recognised whatever its path.
	Fingerprint(ctx context.Context, path string) (string, error)
	// Stage fills the stage_* tables (see Stage) from path. Errors name the file and record.
	Stage(ctx context.Context, st *Stage, path string) error
}

// Stage is a load in progress: one connection holding temporary tables stage_pipelines,
// stage_executions, stage_artifacts and stage_events with the canonical columns plus src,
// which names the file (and where useful the record) each row came from for error messages.
// Pipeline source_id and a missing execution category are filled in by the engine. A loader
// stages before the load's transaction begins: it writes temporary tables only, and what
// it writes to the store it writes through AtCommit.
type Stage struct {
	Conn     *sql.Conn
	SourceID int64
	// Progress, when set, receives a short line per step of a long load.
	Progress func(step string)
	// Records, when set, receives how many source records the loader has read so far and how
	// many it expects in all (0 when unknown), so that a long load can draw a progress bar.
	Records func(done, total int64)

	// Base is where the source's range of ids starts: a loader whose input numbers its
	// records (an MLMD store) gives record n the id Base+n, so that the record keeps its id
	// from one sync to the next; a loader whose input names them otherwise asks ID.
	Base int64
	// KeyFloor keeps the ids ID gives above Base+KeyFloor, clear of those a loader numbers
	// itself (0: ID numbers from Base+1).
	KeyFloor int64
	// Replacing says that the source is rebuilt from scratch (LoadOptions.Replace): what the
	// store keeps of its earlier loads is not read, and is gone once the load commits.
	Replacing bool

	atCommit []func(context.Context) error
	warnings []string
	keys     map[string]int64 // by key, the ids of the source's keyed records
	last     map[int64]int64  // by the floor of a part of the range, the largest id given in it
	newKeys  []string         // keys first seen in this load
}

// Warn records something the user should know about a load that still succeeds, such as a
// table the source leaves empty; the load's result carries it.
func (st *Stage) Warn(format string, args ...any) {
	st.warnings = append(st.warnings, fmt.Sprintf(format, args...))
}

// AtCommit has fn run in the load's transaction, once the staged rows are validated: a
// loader writes there what it keeps in the store beside the staged rows, through st.Conn.
func (st *Stage) AtCommit(fn func(context.Context) error) {
	st.atCommit = append(st.atCommit, fn)
}

// Step reports progress, if anyone listens.
func (st *Stage) Step(format string, args ...any) {
	if st.Progress != nil {
		st.Progress(fmt.Sprintf(format, args...))
	}
}

// Count reports records read out of total (0 when unknown), if anyone listens.
func (st *Stage) Count(done, total int64) {
	if st.Records != nil {
		st.Records(done, total)
	}
}

// LoadOptions tune a load.
type LoadOptions struct {
	// Replace rebuilds the source from scratch: every row it held, every id it gave and
	// everything it remembered of earlier loads is dropped, then the input is loaded as if
	// for the first time. Without it, loading a source that is in the store syncs it.
	Replace bool
	// Progress receives a short line per step.
	Progress func(step string)
	// Records receives the loader's count of source records read and expected (see Stage).
	Records func(done, total int64)
	// DeployRule, when set, names the executions that deploy a model, for pipelines without
	// a TFX Pusher: it is matched against each staged execution's node_id, op_type and
	// "<pipeline>.<node_id>" (an OpenLineage job's or an MLMD node's full name). A match
	// becomes op_type Pusher, category deploy, and a complete one that wrote no PushedModel
	// writes one with attrs pushed = 1, which graphlets read as a push.
	DeployRule *regexp.Regexp
}

// Identifier is implemented by a Loader whose inputs are not each a source of their own.
// Identity names the source an input belongs to: two inputs of one identity are the same
// source at two moments, and loading the second syncs the first. Without it, a source is
// identified by where it is (its absolute path).
type Identifier interface {
	Identity(path string) (string, error)
}

// Remote is implemented by a Loader whose inputs are addresses of a database server
// (mysql://USER@HOST:PORT/DB) rather than files or folders. Load does not look for such an
// input on disk, and names it in messages and in the store as Redact returns it: without
// the password the address may carry.
type Remote interface {
	Redact(path string) string
}

// Counts are rows of the canonical tables, table by table.
type Counts struct {
	Pipelines  int64 `json:"pipelines"`
	Executions int64 `json:"executions"`
	Artifacts  int64 `json:"artifacts"`
	Events     int64 `json:"events"`
}

// Rows is the number of rows over all tables.
func (c Counts) Rows() int64 { return c.Pipelines + c.Executions + c.Artifacts + c.Events }

// LoadResult says what a load did to the store.
type LoadResult struct {
	SourceID int64
	Format   string
	// New says the source was not in the store before; Replaced that it was rebuilt from
	// scratch; UpToDate that the input held nothing the store did not (nothing changed).
	New, Replaced, UpToDate bool
	// Counts are the rows the load added; Updated and Removed the rows it changed and took
	// away (a sync of a source that grew or changed).
	Counts
	Updated, Removed Counts
	// Refreshed says how the derived tables were brought up to date.
	Refreshed Refreshed
	// Warnings are what the loader, or the engine's rules, found worth saying about a load
	// that succeeded, such as operator types that no category covers.
	Warnings []string
}

// OpTypeCount is how many executions of one operator type, in one category, a load added.
type OpTypeCount struct {
	OpType     string
	Category   string
	Executions int64
}

// source is a row of the sources table.
type source struct {
	id   int64
	base sql.NullInt64
	uri  string
}

// Load brings the store up to date with the input at path, in one transaction: either all
// of it is applied and validated, or the store is left exactly as it was.
//
// A source not yet in the store is added. A source already there (the same identity: see
// Identifier) is synced: the store's rows of the source are made equal to what the input
// holds now, new rows added, changed ones updated, and rows the input no longer holds
// removed; ids stay as they were, so nothing is counted twice. An input whose content was
// loaded last time from the same place, or is what another source last loaded, changes
// nothing (LoadResult.UpToDate). opts.Replace rebuilds the source from scratch instead.
//
// Between the loader's staging and the validation, the engine applies the rules every
// format shares: opts.DeployRule, and a warning (in LoadResult.Warnings) naming the
// operator types no category covers. The derived tables are then refreshed for what changed.
func (e *Engine) Load(ctx context.Context, l Loader, path string, opts LoadOptions) (LoadResult, error) {
	res := LoadResult{Format: l.Format()}
	began := time.Now()
	// shown names the input in messages and in the store; abs is where a file input is.
	shown, abs := path, ""
	if r, ok := l.(Remote); ok {
		shown = r.Redact(path)
		abs = shown
	} else if err := CheckInput(path); err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	identity, err := identify(l, path)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", shown, err)
	}
	fp, err := l.Fingerprint(ctx, path)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", shown, err)
	}
	if abs == "" {
		if abs, err = filepath.Abs(path); err != nil {
			return res, fmt.Errorf("load %s: %w", path, err)
		}
	}
	in := input{shown: shown, abs: abs, identity: identity, fp: fp,
		stage: func(ctx context.Context, st *Stage) error { return l.Stage(ctx, st, path) }}
	return e.load(ctx, l, in, opts, began)
}

// input is what a load reads: where it is (shown as messages and the store name it, abs as
// an absolute path), the identity of the source it belongs to, its fingerprint, and how to
// stage it.
type input struct {
	shown, abs, identity, fp string
	stage                    func(ctx context.Context, st *Stage) error
}

// load applies the input in to the store in one transaction, as Load describes.
func (e *Engine) load(ctx context.Context, l Loader, in input, opts LoadOptions, began time.Time) (LoadResult, error) {
	res := LoadResult{Format: l.Format()}
	shown := in.shown
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", shown, err)
	}
	defer conn.Close()
	// The input is staged before the load's transaction begins: DuckDB scans a table filled
	// inside a transaction at about half the speed, and plans joins over it without knowing
	// its size. The stage is temporary tables only; what the load writes to the store is
	// written in the transaction. A load that fails drops its connection, and the stage with it.
	err = e.stageAndApply(ctx, conn, l, in, opts, began, &res)
	if err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return res, fmt.Errorf("load %s: %w", shown, err)
	}
	return res, nil
}

// stageAndApply stages the input in on conn, outside a transaction, then applies it to the
// store in one.
func (e *Engine) stageAndApply(ctx context.Context, conn *sql.Conn, l Loader, in input, opts LoadOptions, began time.Time, res *LoadResult) error {
	shown, abs, identity, fp := in.shown, in.abs, in.identity, in.fp
	rules, err := rulesDigest(ctx, conn, opts.DeployRule)
	if err != nil {
		return err
	}
	if !opts.Replace {
		id, err := loadedBefore(ctx, conn, abs, fp, rules)
		if err != nil {
			return err
		}
		if id != 0 {
			res.SourceID, res.UpToDate = id, true
			return nil
		}
	}
	src, err := findSource(ctx, conn, l.Format(), identity, abs)
	if err != nil {
		return err
	}
	if src.id == 0 && opts.Replace {
		// A source moved since: the one whose content this is.
		if src, err = movedSource(ctx, conn, l.Format(), abs, fp, rules); err != nil {
			return err
		}
	}
	res.New = src.id == 0
	// A source loaded before syncs existed has no range of ids: it is rebuilt.
	res.Replaced = !res.New && (opts.Replace || !src.base.Valid)
	// A new source, or a range for one that has none, is taken in the transaction: the
	// store must not have given it to another load meanwhile (see claimed).
	var taken source
	if !src.base.Valid {
		if taken.id, taken.base.Int64, err = newSource(ctx, conn); err != nil {
			return err
		}
		taken.base.Valid = true
		if res.New {
			src.id = taken.id
		}
		src.base = taken.base
	}
	res.SourceID = src.id
	if err := createChanges(ctx, conn); err != nil {
		return err
	}
	for _, t := range Tables {
		q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE stage_%[1]s AS SELECT *, NULL::VARCHAR AS src FROM %[1]s LIMIT 0`, t.Name)
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	st := &Stage{Conn: conn, SourceID: src.id, Base: src.base.Int64, Replacing: res.Replaced,
		Progress: opts.Progress, Records: opts.Records}
	st.Step("reading %s as %s", shown, l.Format())
	if err := in.stage(ctx, st); err != nil {
		return err
	}
	res.Warnings = st.warnings
	var staged int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM stage_executions`).Scan(&staged); err != nil {
		return err
	}
	if staged == 0 {
		// A source that adds no execution would be recorded for nothing.
		return ErrNothingToLoad
	}
	if err := applyDeployRule(ctx, st, opts.DeployRule); err != nil {
		return err
	}
	w, err := uncategorised(ctx, conn)
	if err != nil {
		return err
	}
	if w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	// op_categories decides the category of every operator type it lists (an edit of it
	// is applied to the store by Refresh); the input's own counts for the others.
	if _, err := conn.ExecContext(ctx, `UPDATE stage_executions s SET category = coalesce(
		(SELECT c.category FROM op_categories c WHERE c.op_type = s.op_type), s.category, 'other')`); err != nil {
		return err
	}
	return transaction(ctx, conn, func() error {
		if taken.base.Valid {
			if err := claimed(ctx, conn, taken); err != nil {
				return err
			}
		}
		if res.Replaced {
			if err := clearSource(ctx, conn, src.id); err != nil {
				return fmt.Errorf("replace source %d: %w", src.id, err)
			}
		}
		st.Step("validating")
		if err := validateStage(ctx, conn, src.id); err != nil {
			return err
		}
		for _, fn := range st.atCommit {
			if err := fn(ctx); err != nil {
				return err
			}
		}
		return e.apply(ctx, conn, st, src, l.Format(), in, rules, began, res)
	})
}

// claimed checks, in the load's transaction, that the source id and range of ids the load
// took before it began are still free.
func claimed(ctx context.Context, conn *sql.Conn, taken source) error {
	id, base, err := newSource(ctx, conn)
	if err != nil {
		return err
	}
	if id > taken.id || base > taken.base.Int64 {
		return errors.New("another load added a source to the store while this one read its input: load again")
	}
	return nil
}

// apply makes the store's rows of source src those staged, in the load's transaction, and
// derives what they change.
func (e *Engine) apply(ctx context.Context, conn *sql.Conn, st *Stage, src source, format string, in input, rules string, began time.Time, res *LoadResult) error {
	var err error
	// What changed is either derived from scratch (full: a quarter of the store or more,
	// or a change the refresh does not follow) or followed, with the checksums of the
	// changed rows before and after (see recordChange).
	var full, fresh bool
	var before map[string]tableSum
	fresh = res.New || res.Replaced
	if fresh {
		// The source holds no rows: every staged one is new, and needs no comparing.
		var staged, all int64
		if err := conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM stage_executions), (SELECT count(*) FROM executions)`).Scan(&staged, &all); err != nil {
			return err
		}
		if full = staged*4 >= staged+all; !full {
			if err := noteInserts(ctx, conn); err != nil {
				return err
			}
		}
	} else {
		st.Step("comparing with the store")
		if err := diffStage(ctx, conn, src.id, res); err != nil {
			return err
		}
		res.UpToDate = res.Rows() == 0 && res.Updated.Rows() == 0 && res.Removed.Rows() == 0
		if !res.UpToDate {
			if full, err = fullRefresh(ctx, conn); err != nil {
				return err
			}
			if err := noteDiff(ctx, conn, src.id); err != nil {
				return err
			}
		}
	}
	rows := changedRows
	if res.New {
		rows = sourceRows(src.id)
	}
	if !full && !res.UpToDate && !res.Replaced {
		if before, err = checksums(ctx, conn, rows); err != nil {
			return err
		}
	}
	// Rows go into the canonical tables in no particular order, so that DuckDB fills whole
	// row groups: the part-filled ones an ordered insert leaves, a checkpoint compacts,
	// which made the next change's commit as slow as the load. A store locked down takes
	// no setting; what a server syncs at a time is small.
	unordered := !e.locked
	if unordered {
		if _, err := conn.ExecContext(ctx, `SET preserve_insertion_order = false`); err != nil {
			return err
		}
	}
	if fresh {
		st.Step("inserting")
		if err := insertStage(ctx, conn, src.id, res); err != nil {
			return err
		}
	} else if !res.UpToDate {
		st.Step("applying")
		if err := applyDiff(ctx, conn, src.id); err != nil {
			return err
		}
	}
	if unordered {
		if _, err := conn.ExecContext(ctx, `RESET preserve_insertion_order`); err != nil {
			return err
		}
	}
	if err := st.saveKeys(ctx); err != nil {
		return err
	}
	// The staged rows are in the store now; free them before the derived tables need memory.
	if err := dropTemp(ctx, conn, "stage_pipelines", "stage_executions", "stage_artifacts", "stage_events"); err != nil {
		return err
	}
	switch {
	case res.UpToDate:
	case full:
		if res.Refreshed, err = rebuildDerived(ctx, conn, st.Progress); err != nil {
			return err
		}
	default:
		if res.Refreshed, err = refreshDerived(ctx, conn, st.Progress); err != nil {
			return err
		}
		if before == nil {
			err = recordDerivation(ctx, conn)
		} else {
			var after map[string]tableSum
			if after, err = checksums(ctx, conn, rows); err == nil {
				err = recordChange(ctx, conn, before, after)
			}
		}
		if err != nil {
			return err
		}
	}
	if err := dropTemp(ctx, conn, append(changeTables, "diff_pipelines", "diff_executions", "diff_artifacts", "diff_events")...); err != nil {
		return err
	}
	if err := recordLoad(ctx, conn, src, format, in.identity, in.shown, in.abs, in.fp, rules, *res, began); err != nil {
		return err
	}
	if os.Getenv("MLPROV_TEST_HOLD_COMMIT") != "" {
		// Tests of crash safety and store locking kill or race a load at this point.
		st.Step("holding before commit")
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// dropTemp drops the load's temporary tables: the connection goes back to the pool.
func dropTemp(ctx context.Context, conn *sql.Conn, names ...string) error {
	for _, n := range names {
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+n); err != nil {
			return err
		}
	}
	return nil
}

// identify returns the identity of the source the input at path belongs to.
func identify(l Loader, path string) (string, error) {
	if id, ok := l.(Identifier); ok {
		return id.Identity(path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs, nil
}

// rulesDigest identifies what decides a staged row's meaning beside its input: the
// op_categories mapping and the deploy rule. A load under other rules is no repeat.
func rulesDigest(ctx context.Context, conn *sql.Conn, deploy *regexp.Regexp) (string, error) {
	rule := ""
	if deploy != nil {
		rule = deploy.String()
	}
	var d string
	err := conn.QueryRowContext(ctx, `SELECT md5(coalesce(string_agg(op_type || chr(0) || category, chr(0) ORDER BY op_type), '') || chr(1) || ?) FROM op_categories`, rule).Scan(&d)
	return d, err
}

// loadedBefore returns the source whose last load from abs, or whose last load at all,
// read content of fingerprint fp under the same rules: the input holds nothing new. 0 when
// there is none.
func loadedBefore(ctx context.Context, conn *sql.Conn, abs, fp, rules string) (int64, error) {
	var id int64
	err := conn.QueryRowContext(ctx, `WITH latest AS (
			SELECT source_id, uri, fingerprint, rules, row_number() OVER (PARTITION BY source_id, uri ORDER BY load_id DESC) AS n,
			       row_number() OVER (PARTITION BY source_id ORDER BY load_id DESC) AS m
			FROM loads)
		SELECT source_id FROM latest WHERE fingerprint = ? AND rules = ? AND (m = 1 OR (n = 1 AND uri = ?))
		ORDER BY source_id LIMIT 1`, fp, rules, abs).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// findSource returns the source of the format with the identity, or a source loaded before
// sources had identities from the same file or folder as abs; a zero source when there is
// none.
func findSource(ctx context.Context, conn *sql.Conn, format, identity, abs string) (source, error) {
	rows, err := conn.QueryContext(ctx, `SELECT source_id, id_base, uri, identity IS NOT DISTINCT FROM ? FROM sources
		WHERE kind = ? AND (identity = ? OR id_base IS NULL) ORDER BY 4 DESC, source_id DESC`, identity, format, identity)
	if err != nil {
		return source{}, err
	}
	defer rows.Close()
	here, _ := os.Stat(abs)
	for rows.Next() {
		var s source
		var same bool
		if err := rows.Scan(&s.id, &s.base, &s.uri, &same); err != nil {
			return source{}, err
		}
		if same {
			return s, nil
		}
		if a, _ := filepath.Abs(s.uri); a == abs {
			return s, nil
		}
		if fi, err := os.Stat(s.uri); err == nil && here != nil && os.SameFile(fi, here) {
			return s, nil
		}
	}
	return source{}, rows.Err()
}

// movedSource returns the source of the format whose content at its last load was
// fingerprint fp, loaded then from another place than abs; a zero source when there is none.
func movedSource(ctx context.Context, conn *sql.Conn, format, abs, fp, rules string) (source, error) {
	id, err := loadedBefore(ctx, conn, abs, fp, rules)
	if err != nil || id == 0 {
		return source{}, err
	}
	var s source
	err = conn.QueryRowContext(ctx, `SELECT source_id, id_base, uri FROM sources WHERE source_id = ? AND kind = ?`, id, format).Scan(&s.id, &s.base, &s.uri)
	if errors.Is(err, sql.ErrNoRows) {
		return source{}, nil
	}
	return s, err
}

// newSource returns the next source id and the start of a range of ids that no row and no
// source uses yet.
func newSource(ctx context.Context, conn *sql.Conn) (id, base int64, err error) {
	err = conn.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(max(source_id), 0) + 1 FROM sources),
		greatest(
			(SELECT max(id_base) // $1 + 1 FROM sources),
			(SELECT max(pipeline_id) // $1 + 1 FROM pipelines),
			(SELECT max(execution_id) // $1 + 1 FROM executions),
			(SELECT max(artifact_id) // $1 + 1 FROM artifacts),
			0) * $1`, IDSpan).Scan(&id, &base)
	return id, base, err
}

// recordLoad writes the source's row and the load's.
func recordLoad(ctx context.Context, conn *sql.Conn, src source, format, identity, path, abs, fp, rules string, res LoadResult, began time.Time) error {
	if _, err := conn.ExecContext(ctx, `DELETE FROM sources WHERE source_id = ?`, src.id); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO sources (source_id, kind, uri, fingerprint, loaded_at, rows, identity, id_base)
		SELECT $1, $2, $3, $4, now()::TIMESTAMP,
			(SELECT count(*) FROM pipelines WHERE source_id = $1) + (SELECT count(*) FROM executions WHERE source_id = $1)
			+ (SELECT count(*) FROM artifacts WHERE source_id = $1)
			+ (SELECT count(*) FROM events WHERE execution_id IN (SELECT execution_id FROM executions WHERE source_id = $1)),
			$5, $6`, src.id, format, path, fp, identity, src.base.Int64); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, `INSERT INTO loads SELECT (SELECT coalesce(max(load_id), 0) + 1 FROM loads), ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?`,
		src.id, abs, fp, rules, res.Rows(), res.Updated.Rows(), res.Removed.Rows(), time.Since(began).Seconds())
	return err
}

// ErrNothingToLoad means the input holds no execution, so loading it would record a source
// that adds nothing.
var ErrNothingToLoad = errors.New("no executions in it: nothing to load")

// CheckInput refuses an input path that is neither a folder nor a regular file (a pipe,
// /dev/stdin, a device or a socket): loaders read their input at least twice, once for its
// fingerprint and once for its rows, and opening a pipe without a writer never returns.
func CheckInput(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return nil
	}
	return CheckRegular(path, fi)
}

// CheckRegular refuses a file that is not a regular file, as CheckInput does; fi is its
// os.Stat (symbolic links followed).
func CheckRegular(path string, fi os.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	kind := "special file"
	switch {
	case fi.Mode()&os.ModeNamedPipe != 0:
		kind = "pipe"
	case fi.Mode()&os.ModeSocket != 0:
		kind = "socket"
	case fi.Mode()&os.ModeDevice != 0:
		kind = "device"
	case fi.IsDir():
		kind = "folder"
	}
	return fmt.Errorf("%s: is a %s, not a regular file: save the input to a file and load that", path, kind)
}

// SourceOpTypes counts the executions a source added by operator type and category, most
// executions first, so that a caller can say which to map when a load has no training runs.
func (e *Engine) SourceOpTypes(ctx context.Context, sourceID int64) ([]OpTypeCount, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT op_type, category, count(*) FROM executions
		WHERE pipeline_id IN (SELECT pipeline_id FROM pipelines WHERE source_id = ?)
		GROUP BY ALL ORDER BY count(*) DESC, op_type, category`, sourceID)
	if err != nil {
		return nil, fmt.Errorf("count operator types: %w", err)
	}
	defer rows.Close()
	var out []OpTypeCount
	for rows.Next() {
		var o OpTypeCount
		if err := rows.Scan(&o.OpType, &o.Category, &o.Executions); err != nil {
			return nil, fmt.Errorf("count operator types: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// clearSource removes every row a source added and everything it kept of earlier loads,
// its record of them included, keeping its id: the next load rebuilds it. The removed rows
// count as changes for the derived tables' refresh.
func clearSource(ctx context.Context, conn *sql.Conn, id int64) error {
	for _, q := range []string{
		`INSERT INTO changed_executions SELECT execution_id FROM executions WHERE source_id = $1`,
		`INSERT INTO changed_artifacts SELECT artifact_id FROM artifacts WHERE source_id = $1
			UNION ALL SELECT artifact_id FROM events WHERE execution_id IN (SELECT execution_id FROM executions WHERE source_id = $1)`,
		`INSERT INTO changed_pipelines SELECT pipeline_id FROM pipelines WHERE source_id = $1
			UNION ALL SELECT pipeline_id FROM executions WHERE source_id = $1
			UNION ALL SELECT pipeline_id FROM artifacts WHERE source_id = $1`,
		`DELETE FROM events WHERE execution_id IN (SELECT execution_id FROM executions WHERE source_id = $1)`,
		`DELETE FROM executions WHERE source_id = $1`,
		`DELETE FROM artifacts WHERE source_id = $1`,
		`DELETE FROM pipelines WHERE source_id = $1`,
		`DELETE FROM source_keys WHERE source_id = $1`,
		`DELETE FROM openlineage_events WHERE source_id = $1`,
		// A load before the replace says nothing of what the source holds now: an input
		// read then is not up to date (see loadedBefore).
		`DELETE FROM loads WHERE source_id = $1`,
	} {
		if _, err := conn.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// check is one validation rule over the staged rows. Its query returns (src, record, detail)
// for each offending row.
type check struct {
	problem string
	query   string
}

func sqlList(vals []string) string {
	return "'" + strings.Join(vals, "', '") + "'"
}

func checks() []check {
	var cs []check
	for _, t := range Tables {
		if !t.Unique {
			continue
		}
		key := t.Key[0]
		cs = append(cs,
			check{key + " is missing", fmt.Sprintf(`SELECT src, 'row', '' FROM stage_%s WHERE %s IS NULL`, t.Name, key)},
			// The keys are grouped alone first: carrying each row's src through a group per key
			// took most of the check's time (1 s of executions at the paper's scale).
			check{"duplicate " + key, fmt.Sprintf(`SELECT any_value(src), '%[2]s ' || %[2]s, count(*) || ' times' FROM stage_%[1]s
			WHERE %[2]s IN (SELECT %[2]s FROM stage_%[1]s GROUP BY %[2]s HAVING count(*) > 1) GROUP BY %[2]s`, t.Name, key)},
			check{key + " already in the store (another source holds it)", fmt.Sprintf(`SELECT s.src, '%[2]s ' || s.%[2]s, 'source ' || t.source_id FROM stage_%[1]s s JOIN %[1]s t ON t.%[2]s = s.%[2]s AND t.source_id <> $1`, t.Name, key)},
		)
	}
	cs = append(cs,
		check{"pipeline name is missing", `SELECT src, 'pipeline_id ' || pipeline_id, '' FROM stage_pipelines WHERE name IS NULL`},
	)
	// A row may name a pipeline, and an event an artifact, that another source holds (the
	// native layout's ids are global, so a folder may add to what another one loaded); an
	// event belongs to its execution's source, so it names an execution of its own input.
	for _, t := range []string{"executions", "artifacts"} {
		key := strings.TrimSuffix(t, "s") + "_id"
		cs = append(cs,
			check{"pipeline_id names no pipeline", fmt.Sprintf(`SELECT src, '%[2]s ' || %[2]s, 'pipeline_id ' || coalesce(pipeline_id::VARCHAR, 'NULL') FROM stage_%[1]s s
			WHERE NOT EXISTS (SELECT 1 FROM stage_pipelines p WHERE p.pipeline_id = s.pipeline_id)
			  AND NOT EXISTS (SELECT 1 FROM pipelines p WHERE p.pipeline_id = s.pipeline_id AND p.source_id <> $1)`, t, key)})
	}
	event := `'event ' || coalesce(s.execution_id::VARCHAR, 'NULL') || '->' || coalesce(s.artifact_id::VARCHAR, 'NULL')`
	cs = append(cs,
		check{"op_type is missing", `SELECT src, 'execution_id ' || execution_id, '' FROM stage_executions WHERE op_type IS NULL`},
		check{"unknown state (want one of " + strings.Join(ExecutionStates, ", ") + ")",
			`SELECT src, 'execution_id ' || execution_id, 'state ' || coalesce('"' || state || '"', 'NULL') FROM stage_executions WHERE state IS NULL OR state NOT IN (` + sqlList(ExecutionStates) + `)`},
		// NaN and infinity pass a cast to DOUBLE but break every sum and share built on cost.
		check{"cost is not a finite number", `SELECT src, 'execution_id ' || execution_id, 'cost ' || cost FROM stage_executions WHERE isnan(cost) OR isinf(cost)`},
		check{"negative cost", `SELECT src, 'execution_id ' || execution_id, 'cost ' || cost FROM stage_executions WHERE cost < 0`},
		check{"artifact type is missing", `SELECT src, 'artifact_id ' || artifact_id, '' FROM stage_artifacts WHERE type IS NULL`},
		check{"unknown artifact state (want one of " + strings.Join(ArtifactStates, ", ") + ")",
			`SELECT src, 'artifact_id ' || artifact_id, 'state "' || state || '"' FROM stage_artifacts WHERE state NOT IN (` + sqlList(ArtifactStates) + `)`},
		check{"negative size_bytes", `SELECT src, 'artifact_id ' || artifact_id, 'size_bytes ' || size_bytes FROM stage_artifacts WHERE size_bytes < 0`},
		check{"unknown direction (want " + orList(Directions) + ")",
			`SELECT src, ` + event + `, 'direction ' || coalesce('"' || direction || '"', 'NULL') FROM stage_events s WHERE direction IS NULL OR direction NOT IN (` + sqlList(Directions) + `)`},
		check{"event names an execution of another source (an event is loaded with its execution)",
			`SELECT s.src, ` + event + `, 'execution_id ' || s.execution_id || ' of source ' || x.source_id FROM stage_events s
			JOIN executions x ON x.execution_id = s.execution_id AND x.source_id <> $1`},
		check{"event names a missing execution",
			`SELECT src, ` + event + `, 'execution_id ' || coalesce(execution_id::VARCHAR, 'NULL') FROM stage_events s
			WHERE NOT EXISTS (SELECT 1 FROM stage_executions x WHERE x.execution_id = s.execution_id)`},
		check{"event names a missing artifact",
			`SELECT src, ` + event + `, 'artifact_id ' || coalesce(artifact_id::VARCHAR, 'NULL') FROM stage_events s
			WHERE NOT EXISTS (SELECT 1 FROM stage_artifacts a WHERE a.artifact_id = s.artifact_id)
			  AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.artifact_id = s.artifact_id AND a.source_id <> $1)`},
	)
	// Times: infinity parses as a timestamp but is no instant; it breaks every duration later.
	for _, t := range []struct{ table, key, col string }{
		{"executions", "'execution_id ' || execution_id", "start_time"},
		{"executions", "'execution_id ' || execution_id", "end_time"},
		{"artifacts", "'artifact_id ' || artifact_id", "create_time"},
		{"events", strings.ReplaceAll(event, "s.", ""), "event_time"},
	} {
		cs = append(cs, check{t.col + " is not a finite time", fmt.Sprintf(`SELECT src, %s, '%s ' || %s FROM stage_%s WHERE NOT isfinite(%s)`, t.key, t.col, t.col, t.table, t.col)})
	}
	return cs
}

// ValidationError reports the rows that broke one rule of the store's contract.
type ValidationError struct {
	Problem string
	Rows    int64    // how many rows broke it
	Samples []string // up to five, each naming the file and the record
}

func (v *ValidationError) Error() string {
	more := ""
	if n := v.Rows - int64(len(v.Samples)); n > 0 {
		more = fmt.Sprintf("; and %d more", n)
	}
	return fmt.Sprintf("%s: %s%s", v.Problem, strings.Join(v.Samples, "; "), more)
}

// validateStage runs every check against the staged rows of source src and returns the
// first one that fails.
func validateStage(ctx context.Context, conn *sql.Conn, src int64) error {
	for _, c := range checks() {
		v, err := c.run(ctx, conn, src)
		if err != nil {
			return fmt.Errorf("validate (%s): %w", c.problem, err)
		}
		if v.Rows > 0 {
			return v
		}
	}
	return nil
}

// run finds the staged rows that break c: how many, and up to five of them. A query that
// names $1 is given the source being loaded.
func (c check) run(ctx context.Context, conn *sql.Conn, src int64) (*ValidationError, error) {
	var args []any
	if strings.Contains(c.query, "$1") {
		args = append(args, src)
	}
	rows, err := conn.QueryContext(ctx, `SELECT src, record, detail, count(*) OVER () FROM (`+c.query+`) AS bad(src, record, detail) ORDER BY src, record LIMIT 5`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	v := &ValidationError{Problem: c.problem}
	for rows.Next() {
		var src, record, detail sql.NullString
		if err := rows.Scan(&src, &record, &detail, &v.Rows); err != nil {
			return nil, err
		}
		s := src.String + ": " + record.String
		if detail.String != "" {
			s += " (" + detail.String + ")"
		}
		v.Samples = append(v.Samples, s)
	}
	return v, rows.Err()
}

// changeTables are the temporary tables createChanges makes.
var changeTables = []string{"changed_executions", "changed_artifacts", "changed_pipelines"}

// createChanges makes the load's empty record of what changed, which the derived tables'
// refresh reads (see refreshDerived).
func createChanges(ctx context.Context, conn *sql.Conn) error {
	for _, q := range []string{
		`CREATE OR REPLACE TEMP TABLE changed_executions (execution_id BIGINT)`,
		`CREATE OR REPLACE TEMP TABLE changed_artifacts (artifact_id BIGINT)`,
		`CREATE OR REPLACE TEMP TABLE changed_pipelines (pipeline_id BIGINT)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// keyed are the canonical tables whose rows an id names, with that id.
var keyed = []struct{ table, key string }{
	{"pipelines", "pipeline_id"}, {"executions", "execution_id"}, {"artifacts", "artifact_id"},
}

// eventColumns are the columns of an event, which no id names: an event is its whole row.
var eventColumns = "execution_id, artifact_id, direction, role, event_time"

// diffStage compares the staged rows with the store's rows of source src: into
// diff_pipelines, diff_executions and diff_artifacts go the ids of rows added, updated or
// removed (change), with the row's pipeline before and after; into diff_events the events
// added or removed. It counts them into res.
func diffStage(ctx context.Context, conn *sql.Conn, src int64, res *LoadResult) error {
	for _, k := range keyed {
		var t Table
		for _, tt := range Tables {
			if tt.Name == k.table {
				t = tt
			}
		}
		var s, o []string
		for _, c := range t.Layout() {
			s = append(s, "s."+c.Name)
			o = append(o, "o."+c.Name)
		}
		pipe := "pipeline_id"
		if k.table == "pipelines" {
			pipe = k.key
		}
		q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE diff_%[1]s AS
			SELECT coalesce(s.%[2]s, o.%[2]s) AS id,
			       CASE WHEN o.%[2]s IS NULL THEN 'added' WHEN s.%[2]s IS NULL THEN 'removed' ELSE 'updated' END AS change,
			       o.%[3]s AS old_pipeline, s.%[3]s AS new_pipeline
			FROM stage_%[1]s s
			FULL JOIN (SELECT * FROM %[1]s WHERE source_id = $1) o ON o.%[2]s = s.%[2]s
			WHERE s.%[2]s IS NULL OR o.%[2]s IS NULL OR row(%[4]s) IS DISTINCT FROM row(%[5]s)`,
			k.table, k.key, pipe, strings.Join(s, ", "), strings.Join(o, ", "))
		if _, err := conn.ExecContext(ctx, q, src); err != nil {
			return fmt.Errorf("compare %s: %w", k.table, err)
		}
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE diff_events AS
		WITH old AS (SELECT %[1]s FROM events WHERE execution_id IN (SELECT execution_id FROM executions WHERE source_id = $1)),
		     new AS (SELECT %[1]s FROM stage_events)
		SELECT 'added' AS change, * FROM (FROM new EXCEPT ALL FROM old)
		UNION ALL
		SELECT 'removed', * FROM (FROM old EXCEPT ALL FROM new)`, eventColumns), src); err != nil {
		return fmt.Errorf("compare events: %w", err)
	}
	var counts [4][3]int64
	for i, t := range []string{"pipelines", "executions", "artifacts", "events"} {
		err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FILTER (WHERE change = 'added'),
			count(*) FILTER (WHERE change = 'updated'), count(*) FILTER (WHERE change = 'removed') FROM diff_%s`, t)).
			Scan(&counts[i][0], &counts[i][1], &counts[i][2])
		if err != nil {
			return err
		}
	}
	res.Counts = Counts{counts[0][0], counts[1][0], counts[2][0], counts[3][0]}
	res.Updated = Counts{counts[0][1], counts[1][1], counts[2][1], counts[3][1]}
	res.Removed = Counts{counts[0][2], counts[1][2], counts[2][2], counts[3][2]}
	return nil
}

// insertSQL copies the staged rows of a keyed table that where selects into the store, as
// rows of the source $1.
func insertSQL(table, where string) string {
	var cols []string
	for _, t := range Tables {
		if t.Name == table {
			cols = Names(t.Columns)
		}
	}
	sel := strings.Replace(strings.Join(cols, ", "), "source_id", "$1", 1)
	return fmt.Sprintf(`INSERT INTO %[1]s SELECT %[2]s FROM stage_%[1]s WHERE %[3]s`, table, sel, where)
}

// noteInserts records the staged rows for the refresh, as changes: they are all new.
func noteInserts(ctx context.Context, conn *sql.Conn) error {
	for _, q := range []string{
		`INSERT INTO changed_executions SELECT execution_id FROM stage_executions`,
		`INSERT INTO changed_artifacts SELECT artifact_id FROM stage_artifacts UNION SELECT artifact_id FROM stage_events`,
		`INSERT INTO changed_pipelines SELECT pipeline_id FROM stage_pipelines UNION SELECT pipeline_id FROM stage_executions
			UNION SELECT pipeline_id FROM stage_artifacts`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// insertStage adds every staged row to the store as rows of source src, which holds none,
// and counts them into res.
func insertStage(ctx context.Context, conn *sql.Conn, src int64, res *LoadResult) error {
	for _, step := range []struct {
		q string
		n *int64
	}{
		{insertSQL("pipelines", "true"), &res.Pipelines},
		{insertSQL("executions", "true"), &res.Executions},
		{insertSQL("artifacts", "true"), &res.Artifacts},
		{`INSERT INTO events SELECT ` + eventColumns + ` FROM stage_events`, &res.Events},
	} {
		var args []any
		if strings.Contains(step.q, "$1") {
			args = append(args, src)
		}
		r, err := conn.ExecContext(ctx, step.q, args...)
		if err != nil {
			return err
		}
		if *step.n, err = r.RowsAffected(); err != nil {
			return err
		}
	}
	return nil
}

// fullRefresh reports whether the derived tables must be derived from scratch after the
// change diffStage found: it changes a quarter of the store or more, or an artifact's
// pipeline, type, span or creation time, which the incremental refresh takes as fixed.
func fullRefresh(ctx context.Context, conn *sql.Conn) (bool, error) {
	var full bool
	err := conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM diff_executions) * 4 >= (SELECT count(*) FROM executions)
		OR EXISTS (SELECT 1 FROM diff_artifacts d
			JOIN stage_artifacts s ON s.artifact_id = d.id JOIN artifacts o ON o.artifact_id = d.id
			WHERE d.change = 'updated'
			  AND row(s.pipeline_id, s.type, s.span, s.create_time) IS DISTINCT FROM row(o.pipeline_id, o.type, o.span, o.create_time))`).Scan(&full)
	return full, err
}

// noteDiff records what diffStage found changed for the refresh, refusing a change that
// removes a row another source's rows name.
func noteDiff(ctx context.Context, conn *sql.Conn, src int64) error {
	orphans := []check{
		{"rows of another source name a pipeline this load removes", `SELECT 'source ' || t.source_id, t.kind || ' ' || t.id, 'pipeline_id ' || t.pipeline_id FROM (
			SELECT source_id, 'execution_id' AS kind, execution_id AS id, pipeline_id FROM executions
			UNION ALL SELECT source_id, 'artifact_id', artifact_id, pipeline_id FROM artifacts) t
			JOIN diff_pipelines d ON d.id = t.pipeline_id AND d.change = 'removed' WHERE t.source_id <> $1`},
		{"events of another source name an artifact this load removes", `SELECT 'source ' || x.source_id, 'event ' || e.execution_id || '->' || e.artifact_id, '' FROM events e
			JOIN diff_artifacts d ON d.id = e.artifact_id AND d.change = 'removed'
			JOIN executions x ON x.execution_id = e.execution_id WHERE x.source_id <> $1`},
	}
	for _, c := range orphans {
		v, err := c.run(ctx, conn, src)
		if err != nil {
			return fmt.Errorf("validate (%s): %w", c.problem, err)
		}
		if v.Rows > 0 {
			return v
		}
	}
	for _, q := range []string{
		`INSERT INTO changed_executions SELECT id FROM diff_executions UNION ALL SELECT execution_id FROM diff_events`,
		`INSERT INTO changed_artifacts SELECT id FROM diff_artifacts UNION ALL SELECT artifact_id FROM diff_events`,
		`INSERT INTO changed_pipelines SELECT id FROM diff_pipelines
			UNION ALL SELECT unnest([old_pipeline, new_pipeline]) FROM diff_executions
			UNION ALL SELECT unnest([old_pipeline, new_pipeline]) FROM diff_artifacts`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// applyDiff makes the store's rows of source src those staged, as diffStage found them to
// differ.
func applyDiff(ctx context.Context, conn *sql.Conn, src int64) error {
	for _, q := range []string{
		`DELETE FROM events WHERE execution_id IN (SELECT execution_id FROM diff_events)`,
		`INSERT INTO events SELECT ` + eventColumns + ` FROM stage_events WHERE execution_id IN (SELECT execution_id FROM diff_events)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	for _, k := range keyed {
		for _, q := range []string{
			fmt.Sprintf(`DELETE FROM %s WHERE %s IN (SELECT id FROM diff_%s WHERE change <> 'added')`, k.table, k.key, k.table),
			insertSQL(k.table, fmt.Sprintf(`%s IN (SELECT id FROM diff_%s WHERE change <> 'removed')`, k.key, k.table)),
		} {
			var args []any
			if strings.Contains(q, "$1") {
				args = append(args, src)
			}
			if _, err := conn.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("apply %s: %w", k.table, err)
			}
		}
	}
	return nil
}
