-- name: abandon
-- description: Marks failed the staged MLMD executions that mlmd_abandoned lists: unfinished, and abandoned by the rule of the loader's package doc.
--
-- Such an execution ends at its last update and, unless the store gave it a cost, costs
-- its duration.
UPDATE stage_executions s
SET state = 'failed', end_time = a.end_time, cost = coalesce(s.cost, a.cost)
FROM mlmd_abandoned a
WHERE s.execution_id = a.execution_id;
