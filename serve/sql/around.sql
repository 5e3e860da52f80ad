-- name: around
-- description: the graphlets of the same pipeline whose Trainers started just before and just after graphlet $1's.
-- Parameters: $1 the graphlet_id (BIGINT). NULL where there is none.
SELECT previous, next
FROM (
    SELECT graphlet_id,
           lag(graphlet_id) OVER w AS previous,
           lead(graphlet_id) OVER w AS next
    FROM graphlets
    WHERE pipeline_id = (SELECT pipeline_id FROM graphlets WHERE graphlet_id = $1::BIGINT)
    WINDOW w AS (ORDER BY trainer_start NULLS LAST, graphlet_id)
)
WHERE graphlet_id = $1::BIGINT
