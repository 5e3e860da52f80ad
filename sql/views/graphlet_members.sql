-- name: graphlet_members
-- description: The executions and artifacts of each model graphlet, with the side they joined on (trainer, upstream, downstream, boundary).
--
-- Executions come from graphlet_executions. Artifacts are what member executions read and
-- originally wrote: a Model made by another Trainer is a boundary node (included, not
-- traversed), as is any other input of a downstream execution that is not otherwise a member.
WITH
-- The graphlets to derive: every Trainer here; a refresh derives only those it re-derives.
roots AS (SELECT graphlet_id FROM trainers),
-- What each member execution read, and what it originally wrote. The members are written
-- second, the side a hash join builds on when DuckDB cannot tell the sizes (in the load's
-- transaction): they are fewer than the events.
touched AS (
    SELECT m.graphlet_id, io.artifact_id,
           bool_or(m.side = 'upstream' OR (m.side = 'trainer' AND io.direction = 'in')) AS on_up,
           bool_or(m.side <> 'upstream' AND io.direction = 'out') AS on_down
    FROM (
        SELECT execution_id, artifact_id, 'in' AS direction FROM events WHERE direction = 'in'
        UNION ALL
        SELECT execution_id, artifact_id, 'out' FROM artifact_producers
    ) io
    JOIN (SELECT * FROM graphlet_executions SEMI JOIN roots USING (graphlet_id)) m USING (execution_id)
    GROUP BY m.graphlet_id, io.artifact_id
),
-- Artifacts made by a Trainer: in any other graphlet they are boundary nodes.
trained AS (
    SELECT p.artifact_id, p.execution_id AS trainer_id
    FROM artifact_producers p
    SEMI JOIN trainers t ON t.graphlet_id = p.execution_id
)
SELECT graphlet_id, execution_id, NULL::BIGINT AS artifact_id, side
FROM graphlet_executions
SEMI JOIN roots USING (graphlet_id)
UNION ALL
SELECT t.graphlet_id, NULL, t.artifact_id,
       CASE
           WHEN tr.trainer_id IS NOT NULL AND tr.trainer_id <> t.graphlet_id THEN 'boundary'
           WHEN t.on_up THEN 'upstream'
           WHEN t.on_down THEN 'downstream'
           ELSE 'boundary'
       END
FROM touched t
LEFT JOIN trained tr USING (artifact_id)
