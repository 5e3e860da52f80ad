-- name: lineage_edges
-- description: Producer execution -> artifact -> consumer execution, through the artifact's original producer.
SELECT p.execution_id AS producer_id, i.artifact_id, i.execution_id AS consumer_id, i.role
FROM events i
JOIN artifact_producers p USING (artifact_id)
WHERE i.direction = 'in'
