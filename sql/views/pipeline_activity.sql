-- name: pipeline_activity
-- description: Each pipeline's lifespan, its runs and trainings (Trainer runs that did work, not cache hits), and their rates per day of lifespan.
--
-- Rates divide by the lifespan in days, at least one, so that a pipeline seen for an hour is
-- not credited with a day's worth of runs per hour. Runs without a run_id (asynchronous
-- pipelines) count one run per execution.
WITH
-- The pipelines to derive: every one here; a refresh derives only those it re-derives.
derived AS (SELECT pipeline_id FROM pipelines),
per AS (
    SELECT x.pipeline_id,
           count(DISTINCT coalesce(x.run_id, 'execution:' || x.execution_id)) AS runs,
           count(*) FILTER (WHERE x.state <> 'cached' AND x.execution_id IN (SELECT graphlet_id FROM trainers)) AS trainings,
           min(x.start_time) AS first_start,
           max(coalesce(x.end_time, x.start_time)) AS last_end
    FROM executions x
    WHERE x.pipeline_id IN (SELECT pipeline_id FROM derived)
    GROUP BY x.pipeline_id
)
SELECT pipeline_id, runs, trainings, first_start, last_end,
       greatest(epoch(last_end - first_start) / 86400, 1) AS days,
       runs / greatest(epoch(last_end - first_start) / 86400, 1) AS runs_per_day,
       trainings / greatest(epoch(last_end - first_start) / 86400, 1) AS trainings_per_day
FROM per
