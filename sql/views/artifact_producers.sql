-- name: artifact_producers
-- description: The execution that originally produced each artifact. Cache hits and Resolvers only re-link artifacts made earlier, so their out events do not count.
SELECT ev.artifact_id, ev.execution_id
FROM events ev
JOIN executions x USING (execution_id)
WHERE ev.direction = 'out' AND x.state <> 'cached' AND x.op_type <> 'Resolver'
