package engine

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"time"

	mlsql "mlprov/sql"
)

// Refreshed says what refreshDerived derived again.
type Refreshed struct {
	// Pipelines is how many pipelines had their topology, activity or features derived again.
	Pipelines int64 `json:"pipelines"`
	// Graphlets is how many graphlets had their graphlets row derived again (whole, or only
	// the costs they share with others).
	Graphlets int64 `json:"graphlets"`
	// Seconds is how long the refresh took.
	Seconds float64 `json:"seconds"`
	// Full is set when every derived table was derived again from scratch (materialize):
	// they were missing or built from other definitions, or the change was one the
	// incremental refresh does not follow.
	Full bool `json:"full"`
}

// scopes are the relations that say what a view derives: in a full derivation every Trainer
// (the graphlet views' roots), every pipeline (the per-pipeline views), every execution
// (artifact_producers) or every artifact produced (lineage_edges). A refresh swaps the one a
// view defines for the ids it derives again.
var scopes = []struct{ all, only string }{
	{"roots AS (SELECT graphlet_id FROM trainers)", "roots AS (SELECT graphlet_id FROM %s)"},
	{"derived AS (SELECT pipeline_id FROM pipelines)", "derived AS (SELECT pipeline_id FROM %s)"},
	{"derived AS (SELECT * FROM executions)", "derived AS (SELECT * FROM executions WHERE execution_id IN (SELECT execution_id FROM %s))"},
	{"through AS (SELECT * FROM artifact_producers)", "through AS (SELECT * FROM artifact_producers WHERE artifact_id IN (SELECT artifact_id FROM %s))"},
}

// viewSQL returns the defining SELECT of the view name; with only set, the view derives only
// the graphlets, pipelines or executions whose ids the table only holds.
func viewSQL(name, only string) string {
	for _, v := range Views() {
		if v.Name != name {
			continue
		}
		if only == "" {
			return v.SQL
		}
		for _, s := range scopes {
			if strings.Count(v.SQL, s.all) == 1 {
				return strings.Replace(v.SQL, s.all, fmt.Sprintf(s.only, only), 1)
			}
		}
		panic(fmt.Sprintf("view %s defines no scope to derive only some of it", name)) // checked by the tests
	}
	panic("no view " + name)
}

// viewWith returns the relations view name defines (its scope swapped for only, as in
// viewSQL) followed by query, which reads them in place of the view's own SELECT.
func viewWith(name, only, query string) string {
	v := viewSQL(name, only)
	i := strings.LastIndex(v, "\nSELECT ")
	if !strings.Contains(v, "\nWITH\n") || i < 0 {
		panic(fmt.Sprintf("view %s has no WITH clause and final SELECT", name)) // checked by the tests
	}
	return v[:i+1] + query
}

// refreshSQL returns the SELECT of sql/refresh/NAME.sql.
func refreshSQL(name string) string {
	text, err := fs.ReadFile(mlsql.FS, "refresh/"+name+".sql")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return string(text)
}

// Change edits the canonical tables and brings the derived tables up to date incrementally,
// in one transaction: change runs first on the transaction's connection, where it finds the
// empty temporary tables changed_executions(execution_id), changed_artifacts(artifact_id) and
// changed_pipelines(pipeline_id), edits the canonical tables and names what it changed in
// them as refreshDerived requires; then the derived tables are refreshed (see refreshDerived).
// Either all of it is committed or, on an error from change or the refresh (ErrCycle among
// them), none of it.
func (e *Engine) Change(ctx context.Context, change func(conn *sql.Conn) error, progress func(string)) (Refreshed, error) {
	var res Refreshed
	err := e.inTransaction(ctx, func(conn *sql.Conn) error {
		if err := createChanges(ctx, conn); err != nil {
			return err
		}
		if err := change(conn); err != nil {
			return err
		}
		var err error
		res, err = followChange(ctx, conn, false, progress)
		return err
	})
	return res, err
}

// followChange brings the derived tables up to date after a change the changed_* tables
// name, incrementally or (full) from scratch, records what they were derived from, and drops
// the changed_* tables.
func followChange(ctx context.Context, conn *sql.Conn, full bool, progress func(string)) (Refreshed, error) {
	refresh := refreshDerived
	if full {
		refresh = rebuildDerived
	}
	res, err := refresh(ctx, conn, progress)
	if err != nil {
		return res, err
	}
	if !res.Full {
		// materialize records what a derivation from scratch read; a refresh leaves it here.
		if err := recordDerivation(ctx, conn); err != nil {
			return res, err
		}
	}
	return res, dropTemp(ctx, conn, changeTables...)
}

// refreshDerived brings the derived tables up to date after the canonical rows named by the
// temporary tables changed_executions(execution_id BIGINT), changed_artifacts(artifact_id
// BIGINT) and changed_pipelines(pipeline_id BIGINT) were inserted, updated or deleted, inside
// the caller's transaction on db. The caller fills them (ids may repeat) with:
//
//   - changed_executions: every execution whose row was inserted, updated (any column) or
//     deleted, and every execution that gained or lost an event;
//   - changed_artifacts: every artifact whose row was inserted, updated or deleted, or that
//     gained or lost an event;
//   - changed_pipelines: the pipelines, old and new, of every changed execution and artifact.
//
// Afterwards every derived table holds exactly the rows materialize would give. An artifact's
// pipeline, type, span and creation time are taken as fixed once it is made (MLMD sets them
// at creation): an update may change its other columns, or delete it. When the derived tables
// are missing or were built from other view definitions, it runs materialize instead and
// says so in Refreshed.Full. A change that closes a provenance cycle is refused with an error
// wrapping ErrCycle that names the cycle; the caller must then roll back. Progress, when set,
// hears how long each step took. The temporary tables it makes while it works (refresh_*)
// are dropped before it returns nil.
func refreshDerived(ctx context.Context, db execer, progress func(string)) (Refreshed, error) {
	began := time.Now()
	var res Refreshed
	ok, err := derivedPresent(ctx, db)
	if err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	if ok {
		stale, err := derivedStale(ctx, db)
		if err != nil {
			return res, fmt.Errorf("refresh: %w", err)
		}
		ok = !stale
	}
	if !ok {
		return rebuildDerived(ctx, db, progress)
	}
	const (
		ce = `(SELECT execution_id FROM changed_executions)`
		ca = `(SELECT artifact_id FROM changed_artifacts)`
		cp = `(SELECT pipeline_id FROM changed_pipelines)`
	)
	// Each step is one statement; keep names the temporary tables it makes, for the count.
	type step struct{ table, query string }
	temp := func(name, q string) step {
		return step{"", "CREATE OR REPLACE TEMP TABLE " + name + " AS " + q}
	}
	refreshed := func(table, where, scope, only string) []step {
		return []step{
			{"", fmt.Sprintf("DELETE FROM main.%s WHERE %s", table, where)},
			{table, fmt.Sprintf("INSERT INTO main.%s SELECT * FROM (%s) WHERE %s", table, viewSQL(table, only), scope)},
		}
	}
	// Every such edge passes through an artifact of refresh_edge_artifacts: a changed artifact,
	// one whose producers changed, or an input of a changed execution. Naming them first lets
	// DuckDB skip the edges and events through no such artifact.
	edgesWhere := `artifact_id IN (SELECT artifact_id FROM refresh_edge_artifacts) AND (consumer_id IN ` + ce +
		` OR artifact_id IN ` + ca + ` OR artifact_id IN (SELECT artifact_id FROM refresh_produced))`
	run := func(steps ...step) error {
		for _, s := range steps {
			start := time.Now()
			if _, err := db.ExecContext(ctx, s.query); err != nil {
				return fmt.Errorf("refresh %s: %w", s.table, err)
			}
			if progress != nil && s.table != "" {
				progress(fmt.Sprintf("refreshed %s in %.2fs", s.table, time.Since(start).Seconds()))
			}
		}
		return nil
	}
	// Per event: the producers of changed executions, then the edges through a changed
	// execution or artifact, or an artifact whose producers changed.
	err = run(
		temp("refresh_produced", `SELECT artifact_id FROM main.artifact_producers WHERE execution_id IN `+ce),
		temp("refresh_trainers_old", `SELECT * FROM main.trainers WHERE graphlet_id IN `+ce),
	)
	if err == nil {
		err = run(refreshed("artifact_producers", "execution_id IN "+ce, "true", "changed_executions")...)
	}
	if err == nil {
		err = run(
			step{"", `INSERT INTO refresh_produced SELECT artifact_id FROM main.artifact_producers WHERE execution_id IN ` + ce},
			temp("refresh_edge_artifacts", `SELECT artifact_id FROM changed_artifacts UNION SELECT artifact_id FROM refresh_produced
				UNION SELECT artifact_id FROM main.events WHERE direction = 'in' AND execution_id IN `+ce),
			temp("refresh_edges_old", `SELECT * FROM main.lineage_edges WHERE `+edgesWhere),
			step{"", `DELETE FROM main.lineage_edges WHERE ` + edgesWhere},
			temp("refresh_edges_new", `SELECT * FROM (`+viewSQL("lineage_edges", "refresh_edge_artifacts")+`) WHERE `+edgesWhere),
			step{"lineage_edges", `INSERT INTO main.lineage_edges SELECT * FROM refresh_edges_new`},
			temp("refresh_edge_changes", `SELECT *, -1 AS sign FROM (FROM refresh_edges_old EXCEPT ALL FROM refresh_edges_new)
				UNION ALL SELECT *, 1 FROM (FROM refresh_edges_new EXCEPT ALL FROM refresh_edges_old)`),
		)
	}
	if err != nil {
		return res, err
	}
	// The recursion ends on cyclic input too; refuse it with the cycle named instead.
	if err := checkAcyclic(ctx, db, refreshSQL("refresh_reach")); err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	err = run(refreshed("trainers", "graphlet_id IN "+ce, "graphlet_id IN "+ce, "")...)
	if err == nil {
		// The graphlets: walks, then members, then rows, each over the graphlets it may change.
		err = run(
			temp("refresh_walk", refreshSQL("refresh_walk")),
			temp("refresh_roots", `SELECT graphlet_id FROM refresh_walk SEMI JOIN main.trainers USING (graphlet_id)`),
			temp("refresh_executions_old", `SELECT * FROM main.graphlet_executions WHERE graphlet_id IN (SELECT graphlet_id FROM refresh_walk)`),
		)
	}
	if err == nil {
		err = run(refreshed("graphlet_executions", "graphlet_id IN (SELECT graphlet_id FROM refresh_walk)", "true", "refresh_roots")...)
	}
	if err == nil {
		err = run(
			temp("refresh_members", refreshSQL("refresh_members")),
			temp("refresh_roots", `SELECT graphlet_id FROM refresh_members SEMI JOIN main.trainers USING (graphlet_id)`),
		)
	}
	if err == nil {
		err = run(refreshed("graphlet_members", "graphlet_id IN (SELECT graphlet_id FROM refresh_members)", "true", "refresh_roots")...)
	}
	if err == nil {
		err = run(
			temp("refresh_graphlets", refreshSQL("refresh_graphlets")),
			temp("refresh_graphlets_old", `SELECT * FROM main.graphlets WHERE graphlet_id IN (SELECT graphlet_id FROM refresh_graphlets)`),
			temp("refresh_roots", `SELECT graphlet_id FROM refresh_graphlets SEMI JOIN main.trainers USING (graphlet_id)`),
		)
	}
	if err == nil {
		err = run(refreshed("graphlets", "graphlet_id IN (SELECT graphlet_id FROM refresh_graphlets)", "true", "refresh_roots")...)
	}
	if err == nil {
		// The graphlets that only share an execution with those walked: their shared costs.
		err = run(
			temp("refresh_costs", refreshSQL("refresh_costs")),
			step{"graphlets (shared costs)", `UPDATE main.graphlets AS g SET cost_exclusive = c.cost_exclusive, cost_amortised = c.cost_amortised
				FROM (` + viewWith("graphlets", "refresh_costs", "SELECT graphlet_id, cost_exclusive, cost_amortised FROM costs") + `) AS c
				WHERE g.graphlet_id = c.graphlet_id`},
		)
	}
	if err == nil {
		err = run(temp("refresh_features", refreshSQL("refresh_features")))
	}
	if err == nil {
		err = run(refreshed("graphlet_features",
			"graphlet_id IN (SELECT graphlet_id FROM refresh_features) OR graphlet_id IN (SELECT graphlet_id FROM refresh_graphlets_old ANTI JOIN main.graphlets USING (graphlet_id))",
			"true", "refresh_features")...)
	}
	if err == nil {
		// Per pipeline: a pipeline's topology holds the edges its executions produce through.
		err = run(temp("refresh_topology", `SELECT pipeline_id FROM changed_pipelines
			UNION SELECT x.pipeline_id FROM main.executions x
			WHERE x.execution_id IN (SELECT producer_id FROM refresh_edges_old UNION ALL SELECT producer_id FROM refresh_edges_new)`))
	}
	if err == nil {
		// When an edge of a changed execution was there before, the execution may have
		// changed its edges' rows: those pipelines' topologies are derived again whole.
		// Otherwise the edges added and removed are counted in (refresh_topology).
		var rekeyed bool
		err = db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM refresh_edges_old WHERE producer_id IN `+ce+` OR consumer_id IN `+ce+`)`).Scan(&rekeyed)
		switch {
		case err != nil:
			err = fmt.Errorf("refresh pipeline_topology: %w", err)
		case rekeyed:
			err = run(refreshed("pipeline_topology", "pipeline_id IN (SELECT pipeline_id FROM refresh_topology)", "true", "refresh_topology")...)
		default:
			err = run(
				// The rows are counted in the first statement: its time is the step's.
				step{"pipeline_topology", "CREATE OR REPLACE TEMP TABLE refresh_topology_rows AS " + refreshSQL("refresh_topology")},
				step{"", `DELETE FROM main.pipeline_topology t USING refresh_topology_rows r WHERE t.pipeline_id = r.pipeline_id
					AND t.from_node IS NOT DISTINCT FROM r.from_node AND t.from_op IS NOT DISTINCT FROM r.from_op
					AND t.to_node IS NOT DISTINCT FROM r.to_node AND t.to_op IS NOT DISTINCT FROM r.to_op`},
				step{"", `INSERT INTO main.pipeline_topology SELECT * FROM refresh_topology_rows WHERE n_edges > 0`},
			)
		}
	}
	if err == nil {
		err = run(refreshed("pipeline_activity", "pipeline_id IN "+cp, "true", "changed_pipelines")...)
	}
	if err == nil {
		err = run(step{"topology_catalog", "CREATE OR REPLACE TABLE main.topology_catalog AS " + viewSQL("topology_catalog", "")})
	}
	if err != nil {
		return res, err
	}
	err = db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM refresh_graphlets) + (SELECT count(*) FROM refresh_costs),
		(SELECT count(*) FROM (SELECT pipeline_id FROM refresh_topology UNION SELECT pipeline_id FROM refresh_features
			UNION SELECT pipeline_id FROM changed_pipelines))`).Scan(&res.Graphlets, &res.Pipelines)
	if err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	for _, t := range []string{"produced", "edge_artifacts", "trainers_old", "edges_old", "edges_new", "edge_changes", "walk", "roots",
		"executions_old", "members", "graphlets", "costs", "graphlets_old", "features", "topology", "topology_rows"} {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS temp.refresh_"+t); err != nil {
			return res, fmt.Errorf("refresh: %w", err)
		}
	}
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}

// derivedPresent reports whether every derived table exists.
func derivedPresent(ctx context.Context, db execer) (bool, error) {
	var names []string
	for _, v := range Views() {
		names = append(names, "'"+v.Name+"'")
	}
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database()
		AND table_name IN (`+strings.Join(names, ", ")+`)`).Scan(&n)
	return n == len(names), err
}

// rebuildDerived derives every derived table again (materialize), for a change the
// incremental refresh cannot follow.
func rebuildDerived(ctx context.Context, db execer, progress func(string)) (Refreshed, error) {
	began := time.Now()
	if err := materialize(ctx, db, progress); err != nil {
		return Refreshed{}, err
	}
	return Refreshed{Full: true, Seconds: time.Since(began).Seconds()}, nil
}
