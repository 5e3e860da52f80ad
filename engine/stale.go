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

// checksums digests the content of each table the derived tables are derived from: its row
// count and the XOR of its rows' hashes, which no order of rows changes.
func checksums(ctx context.Context, db execer) (map[string]string, error) {
	sums := map[string]string{}
	for _, t := range derivedFrom {
		var sum string
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) || ':' || coalesce(bit_xor(hash(t)), 0) FROM %s t`, t)).Scan(&sum); err != nil {
			return nil, fmt.Errorf("checksum %s: %w", t, err)
		}
		sums[t] = sum
	}
	return sums, nil
}

// recordDerivation records in mlprov_meta what the derived tables were just derived from
// (the checksums of the tables they read) and when, so that an edit made outside a load can
// be told (see Stale).
func recordDerivation(ctx context.Context, db execer) error {
	sums, err := checksums(ctx, db)
	if err != nil {
		return err
	}
	js, err := json.Marshal(sums)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT OR REPLACE INTO mlprov_meta VALUES ('derived_from', ?), ('derived_at', ?)`,
		string(js), time.Now().UTC().Format(time.RFC3339))
	return err
}

// Stale returns the tables (canonical ones, op_categories) whose content differs from what
// the derived tables were derived from: an edit made through SQL rather than a load. None
// means the derived tables are up to date.
func (e *Engine) Stale(ctx context.Context) ([]string, error) {
	return stale(ctx, e.db)
}

func stale(ctx context.Context, db execer) ([]string, error) {
	var js string
	err := db.QueryRowContext(ctx, `SELECT value FROM mlprov_meta WHERE key = 'derived_from'`).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return derivedFrom, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read derivation: %w", err)
	}
	var was map[string]string
	if err := json.Unmarshal([]byte(js), &was); err != nil {
		return nil, fmt.Errorf("read derivation: %w", err)
	}
	now, err := checksums(ctx, db)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, t := range derivedFrom {
		if now[t] != was[t] {
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
		refresh := refreshDerived
		for _, t := range changed {
			if t != "op_categories" {
				refresh = rebuildDerived
			}
		}
		if res.Refreshed, err = refresh(ctx, conn, progress); err != nil {
			return err
		}
		return dropTemp(ctx, conn, changeTables...)
	})
	return res, err
}
