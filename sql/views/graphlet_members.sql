-- name: graphlet_members
-- description: The executions and artifacts of each model graphlet, with the side they joined on (trainer, upstream, downstream, boundary).
--
-- Upstream: backwards from the Trainer through input events to the artifacts' original
-- producers, transitively, never into another Trainer: a Model made by another Trainer (a
-- warm start's base_model, an Evaluator's baseline_model) is a boundary node, included but not
-- traversed. Downstream: forwards from the Trainer to the executions that consume its outputs,
-- and transitively theirs, never into another Trainer and never through a model used as a base
-- or a baseline. UNION (not UNION ALL) keeps each (graphlet, node) pair once, so the recursion
-- ends on any input, cyclic or not.
WITH RECURSIVE
up_edges AS (
    SELECT l.producer_id, l.consumer_id
    FROM lineage_edges l
    ANTI JOIN trainers t ON t.graphlet_id = l.producer_id
),
down_edges AS (
    SELECT l.producer_id, l.consumer_id
    FROM lineage_edges l
    ANTI JOIN trainers t ON t.graphlet_id = l.consumer_id
    WHERE l.role IS NULL OR l.role NOT IN ('base_model', 'baseline_model')
),
up(graphlet_id, execution_id) AS (
    SELECT graphlet_id, graphlet_id FROM trainers
    UNION
    SELECT u.graphlet_id, e.producer_id
    FROM up u JOIN up_edges e ON e.consumer_id = u.execution_id
),
down(graphlet_id, execution_id) AS (
    SELECT graphlet_id, graphlet_id FROM trainers
    UNION
    SELECT d.graphlet_id, e.consumer_id
    FROM down d JOIN down_edges e ON e.producer_id = d.execution_id
),
executions_in AS (
    SELECT graphlet_id, execution_id,
           CASE WHEN execution_id = graphlet_id THEN 'trainer' ELSE 'upstream' END AS side
    FROM up
    UNION ALL
    SELECT graphlet_id, execution_id, 'downstream' FROM down WHERE execution_id <> graphlet_id
),
-- What each member execution read, and what it originally wrote.
touched AS (
    SELECT m.graphlet_id, io.artifact_id,
           bool_or(m.side = 'upstream' OR (m.side = 'trainer' AND io.direction = 'in')) AS on_up,
           bool_or(m.side <> 'upstream' AND io.direction = 'out') AS on_down
    FROM executions_in m
    JOIN (
        SELECT execution_id, artifact_id, 'in' AS direction FROM events WHERE direction = 'in'
        UNION ALL
        SELECT execution_id, artifact_id, 'out' FROM artifact_producers
    ) io USING (execution_id)
    GROUP BY m.graphlet_id, io.artifact_id
),
-- Artifacts made by a Trainer: in any other graphlet they are boundary nodes.
trained AS (
    SELECT p.artifact_id, p.execution_id AS trainer_id
    FROM artifact_producers p
    SEMI JOIN trainers t ON t.graphlet_id = p.execution_id
)
SELECT graphlet_id, execution_id, NULL::BIGINT AS artifact_id, side
FROM executions_in
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
