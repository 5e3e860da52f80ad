package engine

import (
	"context"
	"time"
)

// Refreshed says how a load brought the derived tables up to date.
type Refreshed struct {
	Pipelines int64   `json:"pipelines"` // pipelines whose derived rows were derived again
	Graphlets int64   `json:"graphlets"` // graphlets derived again
	Seconds   float64 `json:"seconds"`
	Full      bool    `json:"full"` // every derived table was rebuilt`
}

// refreshDerived brings the derived tables up to date after the changes recorded in
// changed_executions, changed_artifacts and changed_pipelines.
func refreshDerived(ctx context.Context, db execer, progress func(string)) (Refreshed, error) {
	began := time.Now()
	err := materialize(ctx, db, progress)
	return Refreshed{Full: true, Seconds: time.Since(began).Seconds()}, err
}
