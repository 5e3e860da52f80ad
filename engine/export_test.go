package engine

import (
	"context"
	"database/sql"
)

// Refresh runs refreshDerived in one transaction, after change has edited the canonical
// tables and filled changed_executions, changed_artifacts and changed_pipelines on conn.
func (e *Engine) Refresh(ctx context.Context, change func(conn *sql.Conn) error, progress func(string)) (Refreshed, error) {
	var res Refreshed
	err := e.inTransaction(ctx, func(conn *sql.Conn) error {
		for _, t := range []string{"changed_executions(execution_id BIGINT)", "changed_artifacts(artifact_id BIGINT)", "changed_pipelines(pipeline_id BIGINT)"} {
			if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+t); err != nil {
				return err
			}
		}
		if err := change(conn); err != nil {
			return err
		}
		var err error
		res, err = refreshDerived(ctx, conn, progress)
		return err
	})
	return res, err
}
