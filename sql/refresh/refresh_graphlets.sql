-- name: refresh_graphlets
-- description: The graphlets whose graphlets row a refresh derives again: those whose members changed, those holding an execution that gained or lost a holder, and those holding a changed artifact.
--
-- cost_exclusive and cost_amortised divide each execution's cost among the graphlets holding
-- it, so a walk that gained or lost an execution changes the costs of every other holder.
-- refresh_executions_old holds the walked graphlets' executions before the walk.
WITH
walked AS (
    SELECT graphlet_id, execution_id
    FROM graphlet_executions
    WHERE graphlet_id IN (SELECT graphlet_id FROM refresh_walk)
),
regrouped AS (
    (SELECT graphlet_id, execution_id FROM refresh_executions_old EXCEPT SELECT graphlet_id, execution_id FROM walked)
    UNION ALL
    (SELECT graphlet_id, execution_id FROM walked EXCEPT SELECT graphlet_id, execution_id FROM refresh_executions_old)
)
SELECT graphlet_id FROM refresh_members
UNION
SELECT graphlet_id FROM graphlet_executions WHERE execution_id IN (SELECT execution_id FROM regrouped)
UNION
SELECT graphlet_id FROM graphlet_members WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts)
