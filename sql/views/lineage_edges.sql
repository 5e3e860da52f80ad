-- name: lineage_edges
-- description: Producer execution -> artifact -> consumer execution, through the artifact's original producer.
WITH
-- The artifacts whose edges to derive: every one produced here; a refresh derives only those
-- it re-derives, so that it joins their producers to the events rather than every producer.
through AS (SELECT * FROM artifact_producers)
SELECT p.execution_id AS producer_id, i.artifact_id, i.execution_id AS consumer_id, i.role
FROM events i
JOIN through p USING (artifact_id)
WHERE i.direction = 'in'
