-- name: refresh_topology
-- description: The pipeline_topology rows a refresh changes, with their new counts, from the lineage edges it added and removed: for a change in which no edge of a changed execution was there before.
--
-- A topology row counts the edges between two nodes of a pipeline (n_edges) and the runs of
-- their consumers (n_runs). When no edge the refresh kept or removed has a changed execution
-- at an end, no execution's node, operator type, pipeline or run changed under an edge, so
-- every edge keeps its row and the edges refresh_edge_changes adds (sign 1) and removes
-- (sign -1) add to n_edges. A run counts for a row while it has an edge there: its edges
-- there now, less those added, plus those removed, were there before.
WITH
changes AS (
    SELECT px.pipeline_id, px.node_id AS from_node, px.op_type AS from_op,
           cx.node_id AS to_node, cx.op_type AS to_op, cx.run_id, sum(c.sign) AS n
    FROM refresh_edge_changes c
    JOIN executions px ON px.execution_id = c.producer_id
    JOIN executions cx ON cx.execution_id = c.consumer_id
    WHERE c.role IS NULL OR c.role NOT IN ('base_model', 'baseline_model')
    GROUP BY ALL
),
-- The edges of each run with a change, by row, now. The edges are probed for the runs'
-- executions (a semi join builds on those), not the other way round, and their role is
-- checked after that (the condition reads the consumer's row too, so it stays above the join).
held AS (
    SELECT px.pipeline_id, px.node_id AS from_node, px.op_type AS from_op,
           cx.node_id AS to_node, cx.op_type AS to_op, cx.run_id, count(*) AS n
    FROM lineage_edges l
    JOIN executions cx ON cx.execution_id = l.consumer_id
    JOIN executions px ON px.execution_id = l.producer_id
    WHERE l.consumer_id IN (SELECT execution_id FROM executions WHERE run_id IN (SELECT run_id FROM changes))
      AND (l.role IS NULL OR l.role NOT IN ('base_model', 'baseline_model') OR cx.execution_id IS NULL)
    GROUP BY ALL
),
counted AS (
    SELECT c.pipeline_id, c.from_node, c.from_op, c.to_node, c.to_op,
           sum(c.n) AS n_edges,
           sum(CASE WHEN c.run_id IS NULL THEN 0
                    ELSE (coalesce(h.n, 0) > 0)::INTEGER - (coalesce(h.n, 0) - c.n > 0)::INTEGER END) AS n_runs
    FROM changes c
    LEFT JOIN held h ON h.pipeline_id = c.pipeline_id AND h.run_id = c.run_id
        AND h.from_node IS NOT DISTINCT FROM c.from_node AND h.from_op IS NOT DISTINCT FROM c.from_op
        AND h.to_node IS NOT DISTINCT FROM c.to_node AND h.to_op IS NOT DISTINCT FROM c.to_op
    GROUP BY ALL
)
SELECT c.pipeline_id, c.from_node, c.from_op, c.to_node, c.to_op,
       (coalesce(t.n_edges, 0) + c.n_edges)::BIGINT AS n_edges,
       (coalesce(t.n_runs, 0) + c.n_runs)::BIGINT AS n_runs
FROM counted c
LEFT JOIN pipeline_topology t ON t.pipeline_id = c.pipeline_id
    AND t.from_node IS NOT DISTINCT FROM c.from_node AND t.from_op IS NOT DISTINCT FROM c.from_op
    AND t.to_node IS NOT DISTINCT FROM c.to_node AND t.to_op IS NOT DISTINCT FROM c.to_op
