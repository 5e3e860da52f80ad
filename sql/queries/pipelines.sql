-- name: pipelines
-- description: every pipeline with its activity and graphlets, or (with $1 set) one of them.
-- Parameters: $1 a pipeline_id (BIGINT), or NULL for all of them.
SELECT p.pipeline_id, p.name, p.source_id,
       a.runs, a.trainings, a.first_start, a.last_end, a.days, a.runs_per_day, a.trainings_per_day,
       coalesce(g.graphlets, 0) AS graphlets, coalesce(g.pushed, 0) AS pushed,
       coalesce(g.cost_total, 0) AS graphlet_cost, coalesce(g.cost_unpushed, 0) AS unpushed_cost
FROM pipelines p
LEFT JOIN pipeline_activity a USING (pipeline_id)
LEFT JOIN (
    SELECT pipeline_id, count(*) AS graphlets, count(*) FILTER (WHERE pushed) AS pushed,
           sum(cost_total) AS cost_total, coalesce(sum(cost_total) FILTER (WHERE NOT pushed), 0) AS cost_unpushed
    FROM graphlets GROUP BY pipeline_id
) g USING (pipeline_id)
WHERE $1::BIGINT IS NULL OR p.pipeline_id = $1::BIGINT
ORDER BY p.pipeline_id
