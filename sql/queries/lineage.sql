-- name: lineage
-- description: the artifacts and executions upstream and downstream of one node, each at its fewest hops.
-- Parameters: $1 the start node's kind ('artifact' or 'execution'), $2 its id, $3 walk
-- upstream, $4 walk downstream, $5 the most hops to walk (NULL for no limit), $6 also follow
-- re-links.
--
-- Upstream, an artifact leads to the executions that wrote it (direction out) and an
-- execution to the artifacts it read (direction in); downstream the other way round. An out
-- event of a cache hit (state cached) or of a Resolver is a re-link: it points at an artifact
-- made earlier by another execution, so, as in views/artifact_producers.sql, it is not an edge
-- of lineage unless $6 asks for re-links; then relink marks a node that only re-links reached.
--
-- The walk is breadth-first, so a node is first reached at its fewest hops: USING KEY keeps
-- one row per node and direction, and a node already in the recurring table is not added
-- again, which also ends the walk on cycles. role lists the channels of the events that
-- reached the node.
--
-- Each step joins the frontier with events itself, not with a view of edges, so that DuckDB
-- pushes the frontier's id range into the scan of events as a dynamic filter and skips the
-- row groups outside it: a step then costs milliseconds, not a scan of every event.
WITH RECURSIVE walk(dir, kind, id, hop, role, relink) USING KEY (dir, kind, id) AS (
    SELECT d.dir, $1::VARCHAR, $2::BIGINT, 0, NULL::VARCHAR, false
    FROM (VALUES ('up'), ('down')) d(dir)
    WHERE (d.dir = 'up' AND $3::BOOLEAN) OR (d.dir = 'down' AND $4::BOOLEAN)
    UNION
    SELECT s.dir, s.kind, s.id, min(s.hop) + 1, string_agg(DISTINCT s.role, ',' ORDER BY s.role), bool_and(s.relink)
    FROM (
        SELECT w.dir, 'execution' AS kind, e.execution_id AS id, w.hop, e.role,
               e.direction = 'out' AND (x.state = 'cached' OR x.op_type = 'Resolver') AS relink
        FROM walk w
        JOIN events e ON e.artifact_id = w.id
        JOIN executions x ON x.execution_id = e.execution_id
        WHERE w.kind = 'artifact' AND e.direction = CASE w.dir WHEN 'up' THEN 'out' ELSE 'in' END
        UNION ALL
        SELECT w.dir, 'artifact', e.artifact_id, w.hop, e.role,
               e.direction = 'out' AND (x.state = 'cached' OR x.op_type = 'Resolver')
        FROM walk w
        JOIN events e ON e.execution_id = w.id
        JOIN executions x ON x.execution_id = w.id
        WHERE w.kind = 'execution' AND e.direction = CASE w.dir WHEN 'up' THEN 'in' ELSE 'out' END
    ) s
    WHERE ($5::INTEGER IS NULL OR s.hop < $5::INTEGER)
      AND ($6::BOOLEAN OR NOT s.relink)
      AND NOT EXISTS (
          SELECT 1 FROM recurring.walk r
          WHERE r.dir = s.dir AND r.kind = s.kind AND r.id = s.id)
    GROUP BY s.dir, s.kind, s.id
),
nodes(dir, hop, kind, id, role, relink) AS (
    SELECT '', 0, $1::VARCHAR, $2::BIGINT, NULL::VARCHAR, false
    UNION ALL
    SELECT dir, hop, kind, id, role, relink FROM walk WHERE hop > 0
),
facts(kind, id, type, time) AS (
    SELECT 'artifact', artifact_id, type, create_time FROM artifacts
    UNION ALL
    SELECT 'execution', execution_id, op_type, start_time FROM executions
)
SELECT n.dir, n.hop, n.kind, n.id, f.type, f.time, n.role, n.relink
FROM nodes n
LEFT JOIN facts f ON f.kind = n.kind AND f.id = n.id
-- Read in the direction data flows: the farthest ancestors first, then the node, then its
-- descendants nearest first.
ORDER BY CASE n.dir WHEN 'up' THEN 0 WHEN '' THEN 1 ELSE 2 END,
         CASE WHEN n.dir = 'up' THEN -n.hop ELSE n.hop END,
         n.kind, n.id;
