-- name: lineage_events
-- description: the events between the nodes a lineage walk reached, to draw them as a graph.
-- Parameters: $1 the artifacts' ids, $2 the executions' ids (both BIGINT lists), $3 keep
-- re-links: the out events of cache hits and Resolvers, which lineage.sql leaves out unless
-- asked.
SELECT e.execution_id, e.artifact_id, e.direction, coalesce(e.role, '') AS role,
       e.direction = 'out' AND (x.state = 'cached' OR x.op_type = 'Resolver') AS relink
FROM events e
JOIN executions x USING (execution_id)
WHERE list_contains($1::BIGINT[], e.artifact_id)
  AND list_contains($2::BIGINT[], e.execution_id)
  AND ($3::BOOLEAN OR NOT (e.direction = 'out' AND (x.state = 'cached' OR x.op_type = 'Resolver')))
ORDER BY e.execution_id, e.artifact_id, e.direction;
