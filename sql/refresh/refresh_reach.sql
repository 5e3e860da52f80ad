-- name: refresh_reach
-- description: The lineage a refresh checks for cycles: the producer -> consumer pairs among the executions reachable from the consumer of an added edge.
--
-- The store was acyclic before, so a new cycle passes through an added edge, and every
-- execution on it is reachable from that edge's consumer. refresh_edges_old and
-- refresh_edges_new hold the lineage edges the refresh replaced and their replacements.
WITH RECURSIVE
added AS (
    SELECT producer_id, consumer_id FROM refresh_edges_new
    EXCEPT ALL
    SELECT producer_id, consumer_id FROM refresh_edges_old
),
reach(execution_id) AS (
    SELECT consumer_id FROM added
    UNION
    SELECT l.consumer_id
    FROM reach r
    JOIN lineage_edges l ON l.producer_id = r.execution_id
)
SELECT DISTINCT producer_id, consumer_id
FROM lineage_edges
WHERE producer_id IN (SELECT execution_id FROM reach) AND consumer_id IN (SELECT execution_id FROM reach)
