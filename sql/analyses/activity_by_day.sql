-- name: activity_by_day
-- description: active pipelines, runs and trainings over the whole corpus, day by day
-- topic: frequency
-- plot: line x=day y=count series=measure
-- order: 32
--
-- An execution counts on the day it started (UTC).
WITH x AS (
    SELECT start_time::DATE AS day,
           pipeline_id,
           coalesce(run_id, 'execution:' || execution_id) AS run,
           category = 'train' AND op_type <> 'Tuner' AND state <> 'cached' AS training
    FROM executions
    WHERE start_time IS NOT NULL
)
SELECT day, 'active pipelines' AS measure, count(DISTINCT pipeline_id) AS count FROM x GROUP BY day
UNION ALL
SELECT day, 'runs', count(DISTINCT pipeline_id || '/' || run) FROM x GROUP BY day
UNION ALL
SELECT day, 'trainings', count(*) FILTER (WHERE training) FROM x GROUP BY day
ORDER BY day, measure;
