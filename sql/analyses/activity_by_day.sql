-- name: activity_by_day
-- description: active pipelines, runs and trainings over the whole corpus, day by day
-- topic: frequency
-- plot: line x=day y=count series=measure
-- order: 32
--
-- An execution counts on the day it started (UTC). Every day of the window has its rows, 0 on
-- a day when nothing ran, so that a plot does not draw a line across days without data.
WITH x AS (
    SELECT start_time::DATE AS day,
           pipeline_id,
           coalesce(run_id, 'execution:' || execution_id) AS run,
           category = 'train' AND op_type <> 'Tuner' AND state <> 'cached' AS training
    FROM executions
    WHERE start_time IS NOT NULL
),
per_day AS (
    SELECT day,
           count(DISTINCT pipeline_id) AS pipelines,
           count(DISTINCT pipeline_id || '/' || run) AS runs,
           count(*) FILTER (WHERE training) AS trainings
    FROM x
    GROUP BY day
),
days AS (
    SELECT unnest(range(min(day), max(day) + 1, INTERVAL 1 DAY))::DATE AS day
    FROM x
    HAVING count(*) > 0
),
filled AS (
    SELECT d.day,
           coalesce(p.pipelines, 0) AS pipelines,
           coalesce(p.runs, 0) AS runs,
           coalesce(p.trainings, 0) AS trainings
    FROM days d
    LEFT JOIN per_day p USING (day)
)
SELECT day, 'active pipelines' AS measure, pipelines AS count FROM filled
UNION ALL
SELECT day, 'runs', runs FROM filled
UNION ALL
SELECT day, 'trainings', trainings FROM filled
ORDER BY day, measure;
