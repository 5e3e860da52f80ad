-- name: refresh_costs
-- description: The graphlets whose shared costs alone a refresh derives again: those holding an execution that gained or lost a holder, and not derived again whole.
--
-- cost_exclusive and cost_amortised divide each execution's cost among the graphlets holding
-- it, so a walk that gained or lost an execution changes the costs of every other holder (a
-- new Trainer reading old spans changes the costs of the graphlets that hold them).
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
SELECT graphlet_id FROM graphlet_executions WHERE execution_id IN (SELECT execution_id FROM regrouped)
EXCEPT
SELECT graphlet_id FROM refresh_graphlets
