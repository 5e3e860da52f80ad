package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// derivedFrom are the tables the derived tables are derived from: the canonical tables and
// the op_categories mapping.
var derivedFrom = []string{"pipelines", "executions", "artifacts", "events", "op_categories"}

// tableSum is the checksum of a table's rows: how many, and the XOR of their hashes, which
// no order of rows changes and which a change updates by XORing the rows it removed and added.
type tableSum struct {
	N int64  `json:"n"`
	X uint64 `json:"x"`
}

// checksums sums each table the derived tables are derived from; where, when it names a
// table, sums only the rows it selects.
func checksums(ctx context.Context, db execer, where map[string]string) (map[string]tableSum, error) {
	sums := map[string]tableSum{}
	for _, t := range derivedFrom {
		cond := "true"
		if w, ok := where[t]; ok {
			cond = w
		}
		var s tableSum
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM %s t WHERE %s`, t, cond)).Scan(&s.N, &s.X); err != nil {
			return nil, fmt.Errorf("checksum %s: %w", t, err)
		}
		sums[t] = s
	}
	return sums, nil
}

// changedRows selects the rows a load's changed_* tables name, for checksums before and
// after the load applies them.
var changedRows = map[string]string{
	"pipelines":  `pipeline_id IN (SELECT pipeline_id FROM changed_pipelines)`,
	"executions": `execution_id IN (SELECT execution_id FROM changed_executions)`,
	"artifacts":  `artifact_id IN (SELECT artifact_id FROM changed_artifacts)`,
	"events":     `execution_id IN (SELECT execution_id FROM changed_executions)`,
}

// sourceRows selects the rows of source id, for checksums before and after a load that
// adds the source: it only inserts, so the changed rows of other sources (the pipelines its
// executions join, the artifacts its events read) are the same before and after, and only its
// own rows differ. They are found by source_id, which a table's older row groups rule out by
// their bounds, where the changed rows would be looked up in every row.
func sourceRows(id int64) map[string]string {
	return map[string]string{
		"pipelines":  fmt.Sprintf("source_id = %d", id),
		"executions": fmt.Sprintf("source_id = %d", id),
		"artifacts":  fmt.Sprintf("source_id = %d", id),
		"events":     fmt.Sprintf("execution_id IN (SELECT execution_id FROM executions WHERE source_id = %d)", id),
	}
}

// recordDerivation records in mlprov_meta what the derived tables were just derived from
// (the checksums of the tables they read) and when, so that an edit made outside a load can
// be told (see Stale).
func recordDerivation(ctx context.Context, db execer) error {
	sums, err := checksums(ctx, db, nil)
	if err != nil {
		return err
	}
	return writeDerivation(ctx, db, sums)
}

// recordChange updates the recorded checksums by a change whose rows summed to before and
// after: what the derivation read, XOR what the change took away, XOR what it brought. An
// edit made outside a load before it stays visible.
func recordChange(ctx context.Context, db execer, before, after map[string]tableSum) error {
	was, err := derivation(ctx, db)
	if err != nil {
		return err
	}
	for t, s := range was {
		s.N += after[t].N - before[t].N
		s.X ^= before[t].X ^ after[t].X
		was[t] = s
	}
	return writeDerivation(ctx, db, was)
}

func writeDerivation(ctx context.Context, db execer, sums map[string]tableSum) error {
	js, err := json.Marshal(sums)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT OR REPLACE INTO mlprov_meta VALUES ('derived_from', ?), ('derived_at', ?)`,
		string(js), time.Now().UTC().Format(time.RFC3339))
	return err
}

// derivation reads the recorded checksums; none when nothing was recorded.
func derivation(ctx context.Context, db execer) (map[string]tableSum, error) {
	was := map[string]tableSum{}
	var js string
	err := db.QueryRowContext(ctx, `SELECT value FROM mlprov_meta WHERE key = 'derived_from'`).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return was, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read derivation: %w", err)
	}
	if err := json.Unmarshal([]byte(js), &was); err != nil {
		return nil, fmt.Errorf("read derivation: %w", err)
	}
	return was, nil
}

// Stale returns the tables (canonical ones, op_categories) whose content differs from what
// the derived tables were derived from: an edit made through SQL rather than a load. None
// means the derived tables are up to date.
func (e *Engine) Stale(ctx context.Context) ([]string, error) {
	return stale(ctx, e.db)
}

func stale(ctx context.Context, db execer) ([]string, error) {
	was, err := derivation(ctx, db)
	if err != nil {
		return nil, err
	}
	now, err := checksums(ctx, db, nil)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, t := range derivedFrom {
		if was[t] != now[t] {
			changed = append(changed, t)
		}
	}
	return changed, nil
}

// Rederived says what Refresh did.
type Rederived struct {
	// Stale are the tables that had changed since the last derivation.
	Stale []string `json:"stale"`
	// Recategorised is how many executions took the category op_categories now gives them.
	Recategorised int64 `json:"recategorised"`
	Refreshed
}

// Refresh brings the store in line with edits made through SQL since the derived tables were
// last derived, in one transaction: every execution takes the category op_categories gives
// its operator type (where it lists it), and the derived tables are derived again:
// incrementally when only categories changed, from scratch when the canonical tables were
// edited (what changed in them is not known). A store with no such edit is left as it is.
func (e *Engine) Refresh(ctx context.Context, progress func(string)) (Rederived, error) {
	res := Rederived{Stale: []string{}}
	err := e.inTransaction(ctx, func(conn *sql.Conn) error {
		var err error
		changed, err := stale(ctx, conn)
		if err != nil || len(changed) == 0 {
			return err
		}
		res.Stale = changed
		if err := createChanges(ctx, conn); err != nil {
			return err
		}
		for _, q := range []string{
			`INSERT INTO changed_executions SELECT x.execution_id FROM executions x JOIN op_categories c USING (op_type) WHERE x.category <> c.category`,
			`INSERT INTO changed_pipelines SELECT DISTINCT pipeline_id FROM executions WHERE execution_id IN (SELECT execution_id FROM changed_executions)`,
			`UPDATE executions SET category = c.category FROM op_categories c
				WHERE c.op_type = executions.op_type AND executions.execution_id IN (SELECT execution_id FROM changed_executions)`,
		} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("refresh: %w", err)
			}
		}
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM changed_executions`).Scan(&res.Recategorised); err != nil {
			return err
		}
		// Only op_categories changed: follow the new categories; else derive from scratch.
		full := len(changed) > 1 || changed[0] != "op_categories"
		res.Refreshed, err = followChange(ctx, conn, full, progress)
		return err
	})
	return res, err
}
