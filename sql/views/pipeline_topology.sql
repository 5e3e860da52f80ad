-- name: pipeline_topology
-- description: Each pipeline's DAG of components (node -> node through artifacts), collapsed over its runs.
--
-- A model read as a warm start's base or an Evaluator's baseline comes from an earlier run:
-- that feedback is history, not structure, so it is left out.
WITH
-- The pipelines to derive: every one here; a refresh derives only those it re-derives.
derived AS (SELECT pipeline_id FROM pipelines)
SELECT px.pipeline_id,
       px.node_id AS from_node, px.op_type AS from_op,
       cx.node_id AS to_node, cx.op_type AS to_op,
       count(*) AS n_edges,
       count(DISTINCT cx.run_id) AS n_runs
FROM lineage_edges l
JOIN executions px ON px.execution_id = l.producer_id
JOIN executions cx ON cx.execution_id = l.consumer_id
WHERE px.pipeline_id IN (SELECT pipeline_id FROM derived)
  AND (l.role IS NULL OR l.role NOT IN ('base_model', 'baseline_model'))
GROUP BY ALL
