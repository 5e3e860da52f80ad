package engine

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// The rules in this file apply to the staged rows of every load, whatever its format, after
// the loader staged them and before they are validated: loaders only translate a format.

// deployOpType is the operator type the deploy rule gives the executions it matches: TFX's
// Pusher, which op_categories maps to deploy, so that a deployment of any pipeline reads as
// one of TFX.
const deployOpType = "Pusher"

// pushedAttrs marks a PushedModel the deploy rule added: pushed = 1 is what graphlets read as
// a push, and deploy_rule tells it from one the pipeline wrote.
const pushedAttrs = `{"pushed": 1, "deploy_rule": true}`

// deployMatch reports whether the deploy rule names an execution: its node_id, its op_type,
// or its node's full name "<pipeline>.<node_id>" (an OpenLineage job's name, an MLMD node
// context's name) matches rule. An empty node_id matches only through op_type.
func deployMatch(rule *regexp.Regexp, pipeline, nodeID, opType string) bool {
	if rule.MatchString(opType) {
		return true
	}
	if nodeID == "" {
		return false
	}
	return rule.MatchString(nodeID) || rule.MatchString(pipeline+"."+nodeID)
}

// applyDeployRule makes the staged executions that rule names deployments, for pipelines that
// have no TFX Pusher: each becomes op_type Pusher, category deploy, and a complete one that
// wrote no PushedModel writes one (attrs pushed = 1, role pushed_model, at its end time), so
// that graphlets see its push; a failed or canceled deployment pushes nothing. An execution
// that already is a Pusher is left as it is. The new artifacts take ids past every id staged
// or stored, in the order of their executions' ids.
func applyDeployRule(ctx context.Context, st *Stage, rule *regexp.Regexp) error {
	conn := st.Conn
	if rule == nil {
		return nil
	}
	rows, err := conn.QueryContext(ctx, `SELECT DISTINCT coalesce(p.name, ''), coalesce(x.node_id, ''), x.op_type
		FROM stage_executions x LEFT JOIN stage_pipelines p ON p.pipeline_id = x.pipeline_id
		WHERE x.op_type <> ?`, deployOpType)
	if err != nil {
		return fmt.Errorf("deploy rule: %w", err)
	}
	defer rows.Close()
	type node struct{ pipeline, id, op string }
	var matched []node
	for rows.Next() {
		var n node
		if err := rows.Scan(&n.pipeline, &n.id, &n.op); err != nil {
			return fmt.Errorf("deploy rule: %w", err)
		}
		if deployMatch(rule, n.pipeline, n.id, n.op) {
			matched = append(matched, n)
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("deploy rule: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("deploy rule: %w", err)
	}
	if len(matched) == 0 {
		return nil
	}
	steps := []string{`CREATE OR REPLACE TEMP TABLE stage_deploy_nodes (pipeline VARCHAR, node_id VARCHAR, op_type VARCHAR)`}
	args := [][]any{nil}
	for _, n := range matched {
		steps = append(steps, `INSERT INTO stage_deploy_nodes VALUES (?, ?, ?)`)
		args = append(args, []any{n.pipeline, n.id, n.op})
	}
	steps = append(steps,
		`CREATE OR REPLACE TEMP TABLE stage_deploys AS
		SELECT x.execution_id, NULL::BIGINT AS artifact_id FROM stage_executions x
		LEFT JOIN stage_pipelines p ON p.pipeline_id = x.pipeline_id
		JOIN stage_deploy_nodes d ON d.pipeline = coalesce(p.name, '') AND d.node_id = coalesce(x.node_id, '') AND d.op_type = x.op_type`,
		`INSERT INTO stage_artifacts (artifact_id, pipeline_id, type, state, create_time, attrs, src)
		SELECT d.artifact_id, x.pipeline_id, 'PushedModel', '`+ArtifactLive+`', x.end_time, json('`+pushedAttrs+`'), x.src || ' (deploy rule)'
		FROM stage_deploys d JOIN stage_executions x ON x.execution_id = d.execution_id
		WHERE d.artifact_id IS NOT NULL ORDER BY d.artifact_id`,
		`INSERT INTO stage_events (execution_id, artifact_id, direction, role, event_time, src)
		SELECT d.execution_id, d.artifact_id, '`+DirectionOut+`', 'pushed_model', x.end_time, x.src || ' (deploy rule)'
		FROM stage_deploys d JOIN stage_executions x ON x.execution_id = d.execution_id
		WHERE d.artifact_id IS NOT NULL ORDER BY d.artifact_id`,
		`UPDATE stage_executions SET op_type = '`+deployOpType+`', category = '`+CategoryDeploy+`'
		WHERE execution_id IN (SELECT execution_id FROM stage_deploys)`,
		`DROP TABLE stage_deploys`,
		`DROP TABLE stage_deploy_nodes`,
	)
	for i, q := range steps {
		var a []any
		if i < len(args) {
			a = args[i]
		}
		if _, err := conn.ExecContext(ctx, q, a...); err != nil {
			return fmt.Errorf("deploy rule: %w", err)
		}
		if i == len(args) {
			// stage_deploys is made: give the PushedModels their ids.
			if err := pushedModelIDs(ctx, st); err != nil {
				return fmt.Errorf("deploy rule: %w", err)
			}
		}
	}
	return nil
}

// pushedModelIDs gives each complete deployment in stage_deploys that wrote no PushedModel
// the id of the one the rule adds: the same at every load of the source, so that a sync
// finds it unchanged.
func pushedModelIDs(ctx context.Context, st *Stage) error {
	execs, err := unpushedDeploys(ctx, st.Conn)
	if err != nil {
		return err
	}
	for _, x := range execs {
		id, err := st.idIn(ctx, fmt.Sprintf("pushed model of execution %d", x), engineFloor, IDSpan)
		if err != nil {
			return err
		}
		if _, err := st.Conn.ExecContext(ctx, `UPDATE stage_deploys SET artifact_id = ? WHERE execution_id = ?`, id, x); err != nil {
			return err
		}
	}
	return nil
}

// uncategorised returns a warning naming the staged operator types that have no category of
// their own and that op_categories does not list, so that they count as other; "" when there
// are none. It names ten at most.
func uncategorised(ctx context.Context, conn *sql.Conn) (string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT DISTINCT op_type FROM stage_executions
		WHERE category IS NULL AND op_type IS NOT NULL AND op_type NOT IN (SELECT op_type FROM op_categories)
		ORDER BY op_type`)
	if err != nil {
		return "", fmt.Errorf("find operator types without a category: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return "", fmt.Errorf("find operator types without a category: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("find operator types without a category: %w", err)
	}
	if len(names) == 0 {
		return "", nil
	}
	shown := names
	if len(shown) > 10 {
		shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(names)-10))
	}
	return fmt.Sprintf("%d operator types have no category and count as other: %s (add them to op_categories)", len(names), strings.Join(shown, ", ")), nil
}

// unpushedDeploys returns the complete deployments in stage_deploys that wrote no
// PushedModel, in id order.
func unpushedDeploys(ctx context.Context, conn *sql.Conn) ([]int64, error) {
	rows, err := conn.QueryContext(ctx, `SELECT x.execution_id FROM stage_executions x
		SEMI JOIN stage_deploys d ON d.execution_id = x.execution_id
		WHERE x.state = '`+StateComplete+`' AND NOT EXISTS (SELECT 1 FROM stage_events e
			JOIN stage_artifacts a ON a.artifact_id = e.artifact_id
			WHERE e.execution_id = x.execution_id AND e.direction = '`+DirectionOut+`' AND a.type = 'PushedModel')
		ORDER BY x.execution_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var execs []int64
	for rows.Next() {
		var x int64
		if err := rows.Scan(&x); err != nil {
			return nil, err
		}
		execs = append(execs, x)
	}
	return execs, rows.Err()
}
