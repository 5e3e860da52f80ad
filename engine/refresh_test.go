package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
	"mlprov/synth"
)

// generatedStore loads a small generated corpus into a new in-memory store.
func generatedStore(t testing.TB, pipelines, days int) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "corpus")
	cfg := synth.DefaultConfig(pipelines)
	cfg.Days = days
	cfg.Seed = 7
	if _, err := synth.Generate(ctx, cfg, dir, synth.Options{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	e := open(t, ":memory:", engine.Options{Threads: 2})
	if _, err := e.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

func exec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
}

// assertMaterialized checks that every derived table holds, as a multiset, what a full
// materialize of the same canonical tables gives.
func assertMaterialized(t testing.TB, e *engine.Engine) {
	t.Helper()
	db := e.DB()
	for _, v := range engine.Views() {
		exec(t, db, "CREATE OR REPLACE TABLE refreshed_"+v.Name+" AS FROM main."+v.Name)
	}
	if err := e.Materialize(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range engine.Views() {
		var extra, missing int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM (FROM refreshed_%[1]s EXCEPT ALL FROM main.%[1]s)),
			(SELECT count(*) FROM (FROM main.%[1]s EXCEPT ALL FROM refreshed_%[1]s))`, v.Name)
		if err := db.QueryRow(q).Scan(&extra, &missing); err != nil {
			t.Fatal(err)
		}
		if extra+missing > 0 {
			t.Errorf("refreshed %s has %d rows a full materialize does not, and lacks %d of its rows", v.Name, extra, missing)
		}
		exec(t, db, "DROP TABLE refreshed_"+v.Name)
	}
}

// TestRefreshTimeSlices cuts a generated corpus's history at times T1 < T2 < ...: the store
// holds what happened up to T1, materialized in full, and each refresh adds what happened up
// to the next cut. After each, every derived table must be what a full materialize gives.
func TestRefreshTimeSlices(t *testing.T) {
	ctx := context.Background()
	e := generatedStore(t, 6, 40)
	db := e.DB()
	exec(t, db,
		`CREATE TABLE all_executions AS FROM executions`,
		`CREATE TABLE all_artifacts AS FROM artifacts`,
		`CREATE TABLE all_events AS FROM events`)
	for _, slices := range []int{2, 3, 10} {
		t.Run(fmt.Sprintf("slices=%d", slices), func(t *testing.T) {
			// The cuts: quantiles of the executions' start times.
			var cuts []string
			for k := 1; k < slices; k++ {
				var cut string
				q := fmt.Sprintf(`SELECT quantile_disc(start_time, %f)::VARCHAR FROM all_executions`, float64(k)/float64(slices))
				if err := db.QueryRow(q).Scan(&cut); err != nil {
					t.Fatal(err)
				}
				cuts = append(cuts, cut)
			}
			cuts = append(cuts, "infinity")
			// at(T) keeps what had started (executions) or was made (artifacts) by T, and the
			// events between them.
			at := func(cut string) {
				exec(t, db,
					`DELETE FROM executions`, `DELETE FROM artifacts`, `DELETE FROM events`,
					fmt.Sprintf(`INSERT INTO executions FROM all_executions WHERE start_time IS NULL OR start_time <= '%s'`, cut),
					fmt.Sprintf(`INSERT INTO artifacts FROM all_artifacts WHERE create_time IS NULL OR create_time <= '%s'`, cut),
					`INSERT INTO events FROM all_events WHERE execution_id IN (SELECT execution_id FROM executions)
						AND artifact_id IN (SELECT artifact_id FROM artifacts)`)
			}
			at(cuts[0])
			if err := e.Materialize(ctx, nil); err != nil {
				t.Fatal(err)
			}
			for _, cut := range cuts[1:] {
				res, err := e.Change(ctx, func(conn *sql.Conn) error {
					for _, q := range []string{
						fmt.Sprintf(`INSERT INTO changed_executions SELECT execution_id FROM all_executions
							WHERE start_time > (SELECT max(start_time) FROM executions) AND start_time <= '%s'`, cut),
						fmt.Sprintf(`INSERT INTO changed_artifacts SELECT artifact_id FROM all_artifacts
							WHERE artifact_id NOT IN (SELECT artifact_id FROM artifacts) AND create_time <= '%s'`, cut),
						`INSERT INTO executions FROM all_executions WHERE execution_id IN (SELECT execution_id FROM changed_executions)`,
						`INSERT INTO artifacts FROM all_artifacts WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts)`,
						`CREATE TEMP TABLE added AS FROM all_events
							WHERE execution_id IN (SELECT execution_id FROM executions) AND artifact_id IN (SELECT artifact_id FROM artifacts)
							EXCEPT ALL FROM events`,
						`INSERT INTO events FROM added`,
						`INSERT INTO changed_executions SELECT execution_id FROM added`,
						`INSERT INTO changed_artifacts SELECT artifact_id FROM added`,
						`INSERT INTO changed_pipelines SELECT pipeline_id FROM executions WHERE execution_id IN (SELECT execution_id FROM changed_executions)
							UNION ALL SELECT pipeline_id FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts)`,
						`DROP TABLE added`,
					} {
						if _, err := conn.ExecContext(ctx, q); err != nil {
							return fmt.Errorf("%w\n%s", err, q)
						}
					}
					return nil
				}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Full || res.Graphlets == 0 {
					t.Errorf("refresh up to %s: %+v, want an incremental one that re-derived graphlets", cut, res)
				}
				assertMaterialized(t, e)
			}
			var n int64
			if err := db.QueryRow(`SELECT count(*) FROM (FROM all_events EXCEPT ALL FROM events)`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d events missing after the last slice (%v)", n, err)
			}
		})
	}
}

// change edits the canonical tables with qs, then names the executions and artifacts it
// changed (SELECTs of ids) and their pipelines.
func change(executions, artifacts string, qs ...string) func(*sql.Conn) error {
	return func(conn *sql.Conn) error {
		ctx := context.Background()
		pre := []string{
			`INSERT INTO changed_executions ` + executions,
			`INSERT INTO changed_artifacts ` + artifacts,
			// Old pipelines, before the edit.
			`INSERT INTO changed_pipelines SELECT pipeline_id FROM executions WHERE execution_id IN (SELECT execution_id FROM changed_executions)
				UNION ALL SELECT pipeline_id FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts)`,
		}
		post := []string{
			`INSERT INTO changed_pipelines SELECT pipeline_id FROM executions WHERE execution_id IN (SELECT execution_id FROM changed_executions)
				UNION ALL SELECT pipeline_id FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts)`,
		}
		for _, q := range append(append(pre, qs...), post...) {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%w\n%s", err, q)
			}
		}
		return nil
	}
}

const none = `SELECT NULL::BIGINT WHERE false`

// TestRefreshUpdates applies edits a sync makes to rows already in the store, one at a time,
// and checks each refresh against a full materialize.
func TestRefreshUpdates(t *testing.T) {
	ctx := context.Background()
	e := generatedStore(t, 4, 30)
	// The Trainer picked: a pushed one half-way through the history, with later graphlets.
	var trainer, pusher, pushed int64
	err := e.DB().QueryRow(`SELECT g.graphlet_id, p.execution_id, p.artifact_id
		FROM graphlets g
		JOIN graphlet_members m ON m.graphlet_id = g.graphlet_id
		JOIN artifact_producers p ON p.execution_id = m.execution_id
		JOIN artifacts a ON a.artifact_id = p.artifact_id AND a.type = 'PushedModel'
		WHERE g.pushed
		ORDER BY g.trainer_start LIMIT 1 OFFSET (SELECT count(*) / 2 FROM graphlets WHERE pushed)`).Scan(&trainer, &pusher, &pushed)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		before []string // applied and materialized in full first
		change func(*sql.Conn) error
	}{
		{"running Trainer completes",
			[]string{fmt.Sprintf(`UPDATE executions SET state = 'running', cost = NULL, end_time = NULL WHERE execution_id = %d`, trainer)},
			change(fmt.Sprintf(`VALUES (%d)`, trainer), none,
				fmt.Sprintf(`UPDATE executions SET state = 'complete', cost = 1234.5, end_time = start_time + INTERVAL 3 HOUR WHERE execution_id = %d`, trainer))},
		{"category of an operator type changes",
			nil,
			change(`SELECT execution_id FROM executions WHERE op_type = 'Transform'`, none,
				`UPDATE executions SET category = 'analyze' WHERE op_type = 'Transform'`)},
		{"Trainers become an other category",
			nil,
			change(fmt.Sprintf(`SELECT execution_id FROM executions WHERE op_type = 'Trainer' AND pipeline_id = (SELECT pipeline_id FROM executions WHERE execution_id = %d)`, trainer), none,
				fmt.Sprintf(`UPDATE executions SET category = 'other' WHERE op_type = 'Trainer' AND pipeline_id = (SELECT pipeline_id FROM executions WHERE execution_id = %d)`, trainer))},
		{"PushedModel not pushed after all",
			nil,
			change(none, fmt.Sprintf(`VALUES (%d)`, pushed),
				fmt.Sprintf(`UPDATE artifacts SET attrs = '{"pushed": 0}' WHERE artifact_id = %d`, pushed))},
		{"Pusher deleted with its events",
			nil,
			change(fmt.Sprintf(`VALUES (%d)`, pusher), fmt.Sprintf(`SELECT artifact_id FROM events WHERE execution_id = %d`, pusher),
				fmt.Sprintf(`DELETE FROM events WHERE execution_id = %d`, pusher),
				fmt.Sprintf(`DELETE FROM executions WHERE execution_id = %d`, pusher))},
		{"Trainer deleted with its events and outputs",
			nil,
			change(fmt.Sprintf(`VALUES (%d)`, trainer), fmt.Sprintf(`SELECT artifact_id FROM events WHERE execution_id = %d`, trainer),
				fmt.Sprintf(`DELETE FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM events WHERE execution_id = %d AND direction = 'out')`, trainer),
				fmt.Sprintf(`DELETE FROM events WHERE execution_id = %d`, trainer),
				fmt.Sprintf(`DELETE FROM executions WHERE execution_id = %d`, trainer))},
		{"run becomes a cache hit",
			nil,
			change(fmt.Sprintf(`SELECT execution_id FROM executions WHERE run_id = (SELECT run_id FROM executions WHERE execution_id = %d) AND op_type <> 'Trainer'`, trainer), none,
				fmt.Sprintf(`UPDATE executions SET state = 'cached', cost = 0 WHERE run_id = (SELECT run_id FROM executions WHERE execution_id = %d) AND op_type <> 'Trainer'`, trainer))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec(t, e.DB(), `BEGIN TRANSACTION`,
				`CREATE OR REPLACE TABLE saved_executions AS FROM executions`,
				`CREATE OR REPLACE TABLE saved_artifacts AS FROM artifacts`,
				`CREATE OR REPLACE TABLE saved_events AS FROM events`, `COMMIT`)
			defer exec(t, e.DB(), `BEGIN TRANSACTION`, `DELETE FROM executions`, `INSERT INTO executions FROM saved_executions`,
				`DELETE FROM artifacts`, `INSERT INTO artifacts FROM saved_artifacts`,
				`DELETE FROM events`, `INSERT INTO events FROM saved_events`, `COMMIT`)
			exec(t, e.DB(), tt.before...)
			if err := e.Materialize(ctx, nil); err != nil {
				t.Fatal(err)
			}
			res, err := e.Change(ctx, tt.change, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Full {
				t.Errorf("refresh fell back to a full materialize: %+v", res)
			}
			assertMaterialized(t, e)
		})
	}
}

// TestRefreshRefusesCycle adds an event by which the example's first Transform reads the
// model its Trainer made: the refresh names the cycle, and nothing is changed.
func TestRefreshRefusesCycle(t *testing.T) {
	ctx := context.Background()
	e := loadExample(t)
	var before int64
	if err := e.DB().QueryRow(`SELECT count(*) FROM lineage_edges`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	_, err := e.Change(ctx, change(`VALUES (105)`, `VALUES (1007)`,
		`INSERT INTO events VALUES (105, 1007, 'in', 'model', NULL)`), nil)
	want := "execution 105 (Transform) -> execution 106 (Trainer) -> execution 105 (Transform)"
	if !errors.Is(err, engine.ErrCycle) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want a cycle naming %s", err, want)
	}
	var after, events int64
	if err := e.DB().QueryRow(`SELECT (SELECT count(*) FROM lineage_edges), (SELECT count(*) FROM events WHERE execution_id = 105 AND artifact_id = 1007)`).Scan(&after, &events); err != nil {
		t.Fatal(err)
	}
	if after != before || events != 0 {
		t.Errorf("a refused refresh left %d lineage edges (was %d) and %d of its events", after, before, events)
	}
}

// TestRefreshFallsBack checks that a refresh of a store whose derived tables were built from
// other definitions, or are missing, rebuilds them all.
func TestRefreshFallsBack(t *testing.T) {
	ctx := context.Background()
	for _, spoil := range []string{
		`UPDATE mlprov_meta SET value = 'other' WHERE key = 'views_fingerprint'`,
		`DROP TABLE graphlet_features`,
	} {
		t.Run(spoil, func(t *testing.T) {
			e := loadExample(t)
			exec(t, e.DB(), spoil, `DELETE FROM graphlets WHERE graphlet_id = 106`)
			res, err := e.Change(ctx, change(`VALUES (108)`, none, `UPDATE executions SET cost = 11 WHERE execution_id = 108`), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Full {
				t.Errorf("refresh did not fall back to a full materialize: %+v", res)
			}
			assertMaterialized(t, e)
		})
	}
}
