-- name: pipeline_graphlets
-- description: a pipeline's graphlets in the order their Trainers started: pushed or not, size and cost.
-- Parameters: $1 the pipeline_id (BIGINT).
SELECT graphlet_id, trainer_node_id, run_id, trainer_state, trainer_start, trainer_end,
       n_executions, n_artifacts, cost_total, cost_exclusive, pushed, push_time, topology_signature
FROM graphlets
WHERE pipeline_id = $1::BIGINT
ORDER BY trainer_start NULLS LAST, graphlet_id
