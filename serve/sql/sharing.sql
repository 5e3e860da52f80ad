-- name: sharing
-- description: the graphlets that share executions or artifacts with graphlet $1, those that share most first (at most 20).
-- Parameters: $1 the graphlet_id (BIGINT).
WITH mine AS (SELECT execution_id, artifact_id FROM graphlet_members WHERE graphlet_id = $1::BIGINT),
shared AS (
    SELECT o.graphlet_id FROM graphlet_members o JOIN mine USING (execution_id)
    UNION ALL
    SELECT o.graphlet_id FROM graphlet_members o JOIN mine USING (artifact_id)
)
SELECT s.graphlet_id, g.trainer_start, g.pushed, g.cost_total, count(*) AS shared_members
FROM shared s JOIN graphlets g USING (graphlet_id)
WHERE s.graphlet_id <> $1::BIGINT
GROUP BY ALL
ORDER BY shared_members DESC, s.graphlet_id
LIMIT 20
