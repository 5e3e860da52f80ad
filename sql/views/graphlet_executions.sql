-- name: graphlet_executions
-- description: The executions of each model graphlet and the side they joined on (trainer, upstream, downstream): the recursive part of graphlet_members.
--
-- Upstream: backwards from the Trainer through input events to the artifacts' original
-- producers, transitively, never into another Trainer: a Model made by another Trainer (a
-- warm start's base_model, an Evaluator's baseline_model) is a boundary, not traversed.
-- Downstream: forwards from the Trainer to the executions that consume its outputs, and
-- transitively theirs, never into another Trainer and never through a model used as a base
-- or a baseline. UNION (not UNION ALL) keeps each (graphlet, execution) pair once, so the
-- recursion ends on any input, cyclic or not (cycles are refused before it runs).
WITH RECURSIVE
-- The graphlets to walk: every Trainer here; a refresh walks only those it re-derives.
roots AS (SELECT graphlet_id FROM trainers),
-- Each step joins the walk's frontier to lineage_edges first, then drops the steps into a
-- Trainer: the frontier is small when a refresh walks a few graphlets, so every step costs a
-- probe of the edges, not a pass over all of them with the Trainers taken out. The frontier
-- is written second, the side a hash join builds on when DuckDB cannot tell the sizes (in the
-- load's transaction, which has not committed the edges): building on the edges instead
-- costs a pass over all of them at every step.
up(graphlet_id, execution_id) AS (
    SELECT graphlet_id, graphlet_id FROM roots
    UNION
    SELECT u.graphlet_id, l.producer_id
    FROM lineage_edges l
    JOIN up u ON l.consumer_id = u.execution_id
    ANTI JOIN trainers t ON t.graphlet_id = l.producer_id
),
down(graphlet_id, execution_id) AS (
    SELECT graphlet_id, graphlet_id FROM roots
    UNION
    SELECT d.graphlet_id, l.consumer_id
    FROM lineage_edges l
    JOIN down d ON l.producer_id = d.execution_id
    ANTI JOIN trainers t ON t.graphlet_id = l.consumer_id
    -- The role is checked on the edges the frontier reached, after the join, not on every
    -- edge at every step: the condition reads the frontier too, so it stays above the join.
    WHERE l.role IS NULL OR l.role NOT IN ('base_model', 'baseline_model') OR d.graphlet_id IS NULL
)
SELECT graphlet_id, execution_id,
       CASE WHEN execution_id = graphlet_id THEN 'trainer' ELSE 'upstream' END AS side
FROM up
UNION ALL
SELECT graphlet_id, execution_id, 'downstream' FROM down WHERE execution_id <> graphlet_id
