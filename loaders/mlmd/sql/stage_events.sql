-- name: stage_events
-- description: Stages an MLMD store's events from mlmd_events: one per execution, artifact and direction, its role the first key step of its path.
--
-- Of the events that link an execution and an artifact one way, the one of lowest rank
-- (INPUT and OUTPUT before the declared and internal kinds) is kept, then the one of lowest
-- id. Parameters: $1 the source's base, added to every MLMD id; $2 the src prefix
-- ("metadata.sqlite: Event "), to which the event's id is appended.
INSERT INTO stage_events
SELECT $1 + e.execution_id,
       $1 + e.artifact_id,
       e.direction,
       nullif(r.role, ''),
       CASE WHEN e.ms > 0 THEN epoch_ms(e.ms) END,
       $2 || e.event_id
FROM mlmd_events e
LEFT JOIN (SELECT event_id, arg_min(role, seq) AS role FROM mlmd_roles GROUP BY event_id) r
       ON r.event_id = e.event_id
QUALIFY row_number() OVER (PARTITION BY e.execution_id, e.artifact_id, e.direction ORDER BY e.rank, e.event_id) = 1
ORDER BY e.execution_id, e.artifact_id, e.direction;
