package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
)

// featureRow reads one graphlet's features as text, every column.
func featureRow(t testing.TB, e *engine.Engine, id int64) string {
	t.Helper()
	var s string
	if err := e.DB().QueryRow(`SELECT f::VARCHAR FROM graphlet_features f WHERE graphlet_id = ?`, id).Scan(&s); err != nil {
		t.Fatalf("features of %d: %v", id, err)
	}
	return s
}

// TestFeaturesDoNotReadTheFuture changes, for each graphlet in turn, everything that happens
// after its Trainer started, and checks that the graphlet's features stay as they were: once
// by changing later facts (drift, anomalies, outcomes, states, costs), once by deleting them.
func TestFeaturesDoNotReadTheFuture(t *testing.T) {
	ctx := context.Background()
	base := loadExample(t)
	rows, err := base.DB().Query(`SELECT graphlet_id, trainer_start::VARCHAR FROM graphlets ORDER BY graphlet_id`)
	if err != nil {
		t.Fatal(err)
	}
	type g struct {
		id    int64
		start string
	}
	var gs []g
	for rows.Next() {
		var x g
		if err := rows.Scan(&x.id, &x.start); err != nil {
			t.Fatal(err)
		}
		gs = append(gs, x)
	}
	rows.Close()

	later := `(SELECT execution_id FROM executions WHERE start_time > TIMESTAMP '%[1]s')`
	laterArts := `(SELECT artifact_id FROM artifacts WHERE create_time > TIMESTAMP '%[1]s')`
	changes := map[string][]string{
		"change": {
			`UPDATE artifacts SET attrs = json_merge_patch(attrs, '{"drift": 99, "anomaly_count": 99}') WHERE artifact_id IN ` + laterArts,
			`UPDATE artifacts SET attrs = json_merge_patch(attrs, json_object('pushed', 1 - coalesce((attrs->>'pushed')::INT, 0), 'blessed', 1 - coalesce((attrs->>'blessed')::INT, 0))) WHERE artifact_id IN ` + laterArts,
			`UPDATE executions SET state = 'failed', cost = 10 * cost + 1, attrs = json_merge_patch(attrs, '{"code_version": "zz", "model_type": "other"}') WHERE execution_id IN ` + later,
		},
		"delete": {
			`DELETE FROM events WHERE execution_id IN ` + later + ` OR artifact_id IN ` + laterArts,
			`DELETE FROM executions WHERE execution_id IN ` + later,
			`DELETE FROM artifacts WHERE artifact_id IN ` + laterArts,
		},
	}
	for name, stmts := range changes {
		for _, x := range gs {
			t.Run(fmt.Sprintf("%s/graphlet=%d", name, x.id), func(t *testing.T) {
				e := loadExample(t)
				for _, s := range stmts {
					if _, err := e.DB().ExecContext(ctx, fmt.Sprintf(s, x.start)); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.Materialize(ctx, nil); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(featureRow(t, base, x.id), featureRow(t, e, x.id)); diff != "" {
					t.Errorf("features of graphlet %d changed when later facts did (-before +after):\n%s", x.id, diff)
				}
			})
		}
	}
}
