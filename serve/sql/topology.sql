-- name: topology
-- description: a pipeline's components and the artifacts' paths between them, collapsed over its runs (pipeline_topology).
-- Parameters: $1 the pipeline_id (BIGINT).
SELECT from_node, from_op, to_node, to_op, n_runs
FROM pipeline_topology
WHERE pipeline_id = $1::BIGINT
ORDER BY ALL
