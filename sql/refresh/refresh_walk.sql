-- name: refresh_walk
-- description: The graphlets a refresh walks again: those of changed Trainers, and those whose walk reached an edge that changed or an execution that became or stopped being a Trainer.
--
-- An upstream walk follows an edge from its consumer, a downstream walk from its producer, so
-- an edge that changed matters only to the graphlets holding its consumer on their upstream
-- side or its producer on their downstream side (the Trainer is on both). A walk stops at
-- another Trainer, so when an execution flips between Trainer and not, every edge it is an
-- end of may now be taken differently. Reads changed_executions, refresh_trainers_old (the
-- trainers rows of the changed executions before the refresh) and refresh_edge_changes.
WITH
flipped AS (
    (SELECT graphlet_id FROM refresh_trainers_old
     EXCEPT
     SELECT graphlet_id FROM trainers WHERE graphlet_id IN (SELECT execution_id FROM changed_executions))
    UNION ALL
    (SELECT graphlet_id FROM trainers WHERE graphlet_id IN (SELECT execution_id FROM changed_executions)
     EXCEPT
     SELECT graphlet_id FROM refresh_trainers_old)
),
steps AS (
    SELECT producer_id, consumer_id FROM refresh_edge_changes
    UNION ALL
    SELECT producer_id, consumer_id
    FROM lineage_edges
    WHERE producer_id IN (SELECT graphlet_id FROM flipped) OR consumer_id IN (SELECT graphlet_id FROM flipped)
)
SELECT graphlet_id FROM refresh_trainers_old
UNION
SELECT graphlet_id FROM trainers WHERE graphlet_id IN (SELECT execution_id FROM changed_executions)
UNION
SELECT graphlet_id
FROM graphlet_executions
WHERE side <> 'downstream' AND execution_id IN (SELECT consumer_id FROM steps)
UNION
SELECT graphlet_id
FROM graphlet_executions
WHERE side <> 'upstream' AND execution_id IN (SELECT producer_id FROM steps)
