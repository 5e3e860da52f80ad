package engine

import (
	"context"
	"database/sql"
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

// Stage is a load in progress: one connection inside one transaction, holding temporary
// tables stage_pipelines, stage_executions, stage_artifacts and stage_events with the
// canonical columns plus src, which names the file (and where useful the record) each row
// came from for error messages. Pipeline source_id and a missing execution category are
// filled in by the engine.
type Stage struct {
	Conn     *sql.Conn
	SourceID int64
	// Progress, when set, receives a short line per step of a long load.
	Progress func(step string)
	// Records, when set, receives how many source records the loader has read so far and how
	// many it expects in all (0 when unknown), so that a long load can draw a progress bar.
	Records func(done, total int64)

	warnings []string
}

// Warn records something the user should know about a load that still succeeds, such as a
// table the source leaves empty; the load's result carries it.
func (st *Stage) Warn(format string, args ...any) {
	st.warnings = append(st.warnings, fmt.Sprintf(format, args...))
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
	// Replace reloads a source already in the store instead of refusing it: the one with the
	// same content, else the one loaded from the same path (a store or log that grew since).
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

// LoadResult says what a load added.
type LoadResult struct {
	SourceID   int64
	Format     string
	Replaced   bool
	Pipelines  int64
	Executions int64
	Artifacts  int64
	Events     int64
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

// Rows is the number of rows the load added over all tables.
func (r LoadResult) Rows() int64 { return r.Pipelines + r.Executions + r.Artifacts + r.Events }

// Load reads path with the loader in one transaction: either everything it holds is added
// and validated, or the store is left exactly as it was. Between the loader's staging and
// the validation, the engine applies the rules every format shares: opts.DeployRule, and a
// warning (in LoadResult.Warnings) naming the operator types no category covers. A source whose fingerprint is
// already in the store is refused with an *AlreadyLoadedError unless opts.Replace is set; with it,
// the source of the same content, else the one loaded from the same path, is replaced.
func (e *Engine) Load(ctx context.Context, l Loader, path string, opts LoadOptions) (LoadResult, error) {
	res := LoadResult{Format: l.Format()}
	if err := CheckInput(path); err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	fp, err := l.Fingerprint(ctx, path)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	err = e.inTransaction(ctx, func(conn *sql.Conn) error {
		var oldID int64
		var oldURI string
		var oldAt time.Time
		err := conn.QueryRowContext(ctx, `SELECT source_id, uri, loaded_at FROM sources WHERE fingerprint = ?`, fp).Scan(&oldID, &oldURI, &oldAt)
		if errors.Is(err, sql.ErrNoRows) && opts.Replace {
			// The source grew since it was loaded (a pipeline ran again): replace the one
			// loaded from the same file.
			oldID, oldURI, oldAt, err = sourceAt(ctx, conn, l.Format(), path)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case !opts.Replace:
			return &AlreadyLoadedError{SourceID: oldID, URI: oldURI, LoadedAt: oldAt}
		default:
			res.Replaced = true
		}
		if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(source_id), 0) + 1 FROM sources`).Scan(&res.SourceID); err != nil {
			return err
		}
		if res.Replaced {
			if err := deleteSource(ctx, conn, oldID); err != nil {
				return fmt.Errorf("replace source %d: %w", oldID, err)
			}
		}
		for _, t := range Tables {
			q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE stage_%[1]s AS SELECT *, NULL::VARCHAR AS src FROM %[1]s LIMIT 0`, t.Name)
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		st := &Stage{Conn: conn, SourceID: res.SourceID, Progress: opts.Progress, Records: opts.Records}
		st.Step("reading %s as %s", path, l.Format())
		if err := l.Stage(ctx, st, path); err != nil {
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
		if err := applyDeployRule(ctx, conn, opts.DeployRule); err != nil {
			return err
		}
		w, err := uncategorised(ctx, conn)
		if err != nil {
			return err
		}
		if w != "" {
			res.Warnings = append(res.Warnings, w)
		}
		st.Step("validating")
		if err := validateStage(ctx, conn); err != nil {
			return err
		}
		st.Step("inserting")
		if err := insertStage(ctx, conn, res.SourceID, &res); err != nil {
			return err
		}
		// The staged rows are in the store now; free them before the derived tables need memory.
		for _, t := range Tables {
			if _, err := conn.ExecContext(ctx, "DROP TABLE stage_"+t.Name); err != nil {
				return err
			}
		}
		if err := materialize(ctx, conn, st.Progress); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO sources VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?)`,
			res.SourceID, l.Format(), path, fp, res.Rows()); err != nil {
			return err
		}
		if os.Getenv("MLPROV_TEST_HOLD_COMMIT") != "" {
			// Tests of crash safety and store locking kill or race a load at this point.
			st.Step("holding before commit")
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	return res, nil
}

// AlreadyLoadedError refuses a load whose source is in the store already, loaded before
// from URI at LoadedAt as source SourceID; LoadOptions.Replace loads it again. It unwraps to
// ErrAlreadyLoaded.
type AlreadyLoadedError struct {
	SourceID int64
	URI      string
	LoadedAt time.Time
}

func (e *AlreadyLoadedError) Error() string {
	return fmt.Sprintf("%v as source %d (%s, %s)", ErrAlreadyLoaded, e.SourceID, e.URI, e.LoadedAt.Format(time.RFC3339))
}

// Unwrap returns ErrAlreadyLoaded.
func (e *AlreadyLoadedError) Unwrap() error { return ErrAlreadyLoaded }

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

// sourceAt finds the source of the format that was loaded from the file or folder at path,
// whatever its content was then; sql.ErrNoRows when there is none.
func sourceAt(ctx context.Context, conn *sql.Conn, format, path string) (id int64, uri string, at time.Time, err error) {
	here, err := os.Stat(path)
	if err != nil {
		return 0, "", time.Time{}, err
	}
	abs, _ := filepath.Abs(path)
	rows, err := conn.QueryContext(ctx, `SELECT source_id, uri, loaded_at FROM sources WHERE kind = ? ORDER BY source_id DESC`, format)
	if err != nil {
		return 0, "", time.Time{}, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&id, &uri, &at); err != nil {
			return 0, "", time.Time{}, err
		}
		if a, _ := filepath.Abs(uri); a == abs {
			return id, uri, at, nil
		}
		if fi, err := os.Stat(uri); err == nil && os.SameFile(fi, here) {
			return id, uri, at, nil
		}
	}
	if err := rows.Err(); err != nil {
		return 0, "", time.Time{}, err
	}
	return 0, "", time.Time{}, sql.ErrNoRows
}

// deleteSource removes every row a source added.
func deleteSource(ctx context.Context, conn *sql.Conn, id int64) error {
	for _, q := range []string{
		`DELETE FROM events WHERE execution_id IN (SELECT execution_id FROM executions
			WHERE pipeline_id IN (SELECT pipeline_id FROM pipelines WHERE source_id = $1))`,
		`DELETE FROM executions WHERE pipeline_id IN (SELECT pipeline_id FROM pipelines WHERE source_id = $1)`,
		`DELETE FROM artifacts WHERE pipeline_id IN (SELECT pipeline_id FROM pipelines WHERE source_id = $1)`,
		`DELETE FROM pipelines WHERE source_id = $1`,
		`DELETE FROM sources WHERE source_id = $1`,
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
			check{"duplicate " + key, fmt.Sprintf(`SELECT any_value(src), '%[2]s ' || %[2]s, count(*) || ' times' FROM stage_%[1]s GROUP BY %[2]s HAVING count(*) > 1`, t.Name, key)},
			check{key + " already in the store (another source holds it)", fmt.Sprintf(`SELECT s.src, '%[2]s ' || s.%[2]s, '' FROM stage_%[1]s s SEMI JOIN %[1]s t ON t.%[2]s = s.%[2]s`, t.Name, key)},
		)
	}
	cs = append(cs,
		check{"pipeline name is missing", `SELECT src, 'pipeline_id ' || pipeline_id, '' FROM stage_pipelines WHERE name IS NULL`},
	)
	// A source holds every row it references: an execution or artifact names a pipeline of
	// the same load, an event an execution and an artifact of the same load. So each row
	// belongs to exactly one source (through its pipeline), and --replace of one source can
	// remove exactly its rows without touching another's.
	for _, t := range []string{"executions", "artifacts"} {
		key := strings.TrimSuffix(t, "s") + "_id"
		cs = append(cs,
			check{"pipeline_id names a pipeline of another source (a source must hold the pipelines its rows name)", fmt.Sprintf(`SELECT s.src, '%[2]s ' || s.%[2]s, 'pipeline_id ' || s.pipeline_id || ' of source ' || p.source_id FROM stage_%[1]s s
			JOIN pipelines p ON p.pipeline_id = s.pipeline_id
			WHERE NOT EXISTS (SELECT 1 FROM stage_pipelines sp WHERE sp.pipeline_id = s.pipeline_id)`, t, key)},
			check{"pipeline_id names no pipeline", fmt.Sprintf(`SELECT src, '%[2]s ' || %[2]s, 'pipeline_id ' || coalesce(pipeline_id::VARCHAR, 'NULL') FROM stage_%[1]s s
			WHERE NOT EXISTS (SELECT 1 FROM stage_pipelines p WHERE p.pipeline_id = s.pipeline_id)
			  AND NOT EXISTS (SELECT 1 FROM pipelines p WHERE p.pipeline_id = s.pipeline_id)`, t, key)})
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
		check{"event names an execution of another source (a source must hold the executions its events name)",
			`SELECT s.src, ` + event + `, 'execution_id ' || s.execution_id || ' of source ' || p.source_id FROM stage_events s
			JOIN executions x ON x.execution_id = s.execution_id JOIN pipelines p ON p.pipeline_id = x.pipeline_id
			WHERE NOT EXISTS (SELECT 1 FROM stage_executions sx WHERE sx.execution_id = s.execution_id)`},
		check{"event names an artifact of another source (a source must hold the artifacts its events name)",
			`SELECT s.src, ` + event + `, 'artifact_id ' || s.artifact_id || ' of source ' || p.source_id FROM stage_events s
			JOIN artifacts a ON a.artifact_id = s.artifact_id JOIN pipelines p ON p.pipeline_id = a.pipeline_id
			WHERE NOT EXISTS (SELECT 1 FROM stage_artifacts sa WHERE sa.artifact_id = s.artifact_id)`},
		check{"event names a missing execution",
			`SELECT src, ` + event + `, 'execution_id ' || coalesce(execution_id::VARCHAR, 'NULL') FROM stage_events s
			WHERE NOT EXISTS (SELECT 1 FROM stage_executions x WHERE x.execution_id = s.execution_id)
			  AND NOT EXISTS (SELECT 1 FROM executions x WHERE x.execution_id = s.execution_id)`},
		check{"event names a missing artifact",
			`SELECT src, ` + event + `, 'artifact_id ' || coalesce(artifact_id::VARCHAR, 'NULL') FROM stage_events s
			WHERE NOT EXISTS (SELECT 1 FROM stage_artifacts a WHERE a.artifact_id = s.artifact_id)
			  AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.artifact_id = s.artifact_id)`},
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

// validateStage runs every check and returns the first one that fails.
func validateStage(ctx context.Context, conn *sql.Conn) error {
	for _, c := range checks() {
		v, err := c.run(ctx, conn)
		if err != nil {
			return fmt.Errorf("validate (%s): %w", c.problem, err)
		}
		if v.Rows > 0 {
			return v
		}
	}
	return nil
}

// run finds the staged rows that break c: how many, and up to five of them.
func (c check) run(ctx context.Context, conn *sql.Conn) (*ValidationError, error) {
	rows, err := conn.QueryContext(ctx, `SELECT src, record, detail, count(*) OVER () FROM (`+c.query+`) AS bad(src, record, detail) ORDER BY src, record LIMIT 5`)
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

// insertStage moves the staged rows into the canonical tables.
func insertStage(ctx context.Context, conn *sql.Conn, sourceID int64, res *LoadResult) error {
	steps := []struct {
		q string
		n *int64
	}{
		{`INSERT INTO pipelines SELECT pipeline_id, name, $1, attrs FROM stage_pipelines`, &res.Pipelines},
		{`INSERT INTO executions SELECT execution_id, pipeline_id, run_id, node_id, s.op_type,
			coalesce(s.category, c.category, 'other'), state, start_time, end_time, cost, attrs
			FROM stage_executions s LEFT JOIN op_categories c ON c.op_type = s.op_type`, &res.Executions},
		{`INSERT INTO artifacts SELECT * EXCLUDE (src) FROM stage_artifacts`, &res.Artifacts},
		{`INSERT INTO events SELECT * EXCLUDE (src) FROM stage_events`, &res.Events},
	}
	for i, s := range steps {
		args := []any{}
		if i == 0 {
			args = append(args, sourceID)
		}
		r, err := conn.ExecContext(ctx, s.q, args...)
		if err != nil {
			return err
		}
		if *s.n, err = r.RowsAffected(); err != nil {
			return err
		}
	}
	return nil
}
