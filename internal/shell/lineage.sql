-- name: lineage
-- description: the artifacts and executions upstream and downstream of one node, each at its fewest hops.
-- Parameters: $1 the start node's kind ('artifact' or 'execution'), $2 its id, $3 walk
-- upstream, $4 walk downstream, $5 the most hops to walk (NULL for no limit).
--
-- Upstream, an artifact leads to the executions that wrote it (direction out) and an
-- execution to the artifacts it read (direction in); downstream the other way round. The walk
-- is breadth-first, so a node is first reached at its fewest hops: USING KEY keeps one row per
-- node and direction, and a node already in the recurring table is not added again, which
-- also ends the walk on cycles. role lists the channels of the events that reached the node.
WITH RECURSIVE
edges(dir, from_kind, from_id, to_kind, to_id, role) AS (
    SELECT 'up', 'artifact', artifact_id, 'execution', execution_id, role FROM events WHERE direction = 'out'
    UNION ALL
    SELECT 'up', 'execution', execution_id, 'artifact', artifact_id, role FROM events WHERE direction = 'in'
    UNION ALL
    SELECT 'down', 'artifact', artifact_id, 'execution', execution_id, role FROM events WHERE direction = 'in'
    UNION ALL
    SELECT 'down', 'execution', execution_id, 'artifact', artifact_id, role FROM events WHERE direction = 'out'
),
walk(dir, kind, id, hop, role) USING KEY (dir, kind, id) AS (
    SELECT d.dir, $1::VARCHAR, $2::BIGINT, 0, NULL::VARCHAR
    FROM (VALUES ('up'), ('down')) d(dir)
    WHERE (d.dir = 'up' AND $3::BOOLEAN) OR (d.dir = 'down' AND $4::BOOLEAN)
    UNION
    SELECT e.dir, e.to_kind, e.to_id, min(w.hop) + 1, string_agg(DISTINCT e.role, ',' ORDER BY e.role)
    FROM walk w
    JOIN edges e ON e.dir = w.dir AND e.from_kind = w.kind AND e.from_id = w.id
    WHERE ($5::INTEGER IS NULL OR w.hop < $5::INTEGER)
      AND NOT EXISTS (
          SELECT 1 FROM recurring.walk r
          WHERE r.dir = e.dir AND r.kind = e.to_kind AND r.id = e.to_id)
    GROUP BY e.dir, e.to_kind, e.to_id
),
nodes(dir, hop, kind, id, role) AS (
    SELECT '', 0, $1::VARCHAR, $2::BIGINT, NULL::VARCHAR
    UNION ALL
    SELECT dir, hop, kind, id, role FROM walk WHERE hop > 0
)
SELECT n.dir, n.hop, n.kind, n.id, coalesce(a.type, x.op_type) AS type, n.role
FROM nodes n
LEFT JOIN artifacts a ON n.kind = 'artifact' AND a.artifact_id = n.id
LEFT JOIN executions x ON n.kind = 'execution' AND x.execution_id = n.id
-- Read in the direction data flows: the farthest ancestors first, then the node, then its
-- descendants nearest first.
ORDER BY CASE n.dir WHEN 'up' THEN 0 WHEN '' THEN 1 ELSE 2 END,
         CASE WHEN n.dir = 'up' THEN -n.hop ELSE n.hop END,
         n.kind, n.id;
