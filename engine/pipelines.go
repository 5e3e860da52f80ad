package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// Pipelines returns the store's pipelines, each with its activity and a summary of its
// graphlets (sql/queries/pipelines.sql), by pipeline_id; with id set, only that pipeline's
// row, none when there is no such pipeline. Callers must close the rows.
func (e *Engine) Pipelines(ctx context.Context, id *int64) (*sql.Rows, error) {
	var arg any
	if id != nil {
		arg = *id
	}
	rows, err := e.db.QueryContext(ctx, query("pipelines"), arg)
	if err != nil {
		return nil, fmt.Errorf("list pipelines: %w", err)
	}
	return rows, nil
}

// PipelineGraphlets returns pipeline id's graphlets in the order their Trainers started
// (sql/queries/pipeline_graphlets.sql). Callers must close the rows.
func (e *Engine) PipelineGraphlets(ctx context.Context, id int64) (*sql.Rows, error) {
	rows, err := e.db.QueryContext(ctx, query("pipeline_graphlets"), id)
	if err != nil {
		return nil, fmt.Errorf("list graphlets of pipeline %d: %w", id, err)
	}
	return rows, nil
}
