-- name: artifact_producers
-- description: The execution that originally produced each artifact. Cache hits and Resolvers only re-link artifacts made earlier, so their out events do not count.
WITH
-- The executions whose outputs to derive: every one here; a refresh derives only those it
-- re-derives.
derived AS (SELECT * FROM executions)
SELECT ev.artifact_id, ev.execution_id
FROM events ev
JOIN derived x USING (execution_id)
WHERE ev.direction = 'out' AND x.state <> 'cached' AND x.op_type <> 'Resolver'
