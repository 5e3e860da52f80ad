-- name: activity
-- description: runs and trainings per pipeline per day of its lifespan, and whether it trains more than 100 times a day
-- topic: frequency
-- plot: cdf x=trainings_per_day
-- order: 30
--
-- A pipeline's rate divides by its lifespan in days, at least one day, so that a pipeline
-- seen for an hour is not credited with a day's worth of runs per hour. A training is a
-- Trainer execution that did work (not a Tuner, not a cache hit).
WITH per AS (
    SELECT pipeline_id,
           count(DISTINCT coalesce(run_id, 'execution:' || execution_id)) AS runs,
           count(*) FILTER (WHERE category = 'train' AND op_type <> 'Tuner' AND state <> 'cached') AS trainings,
           greatest(epoch(max(coalesce(end_time, start_time)) - min(start_time)) / 86400, 1) AS days
    FROM executions
    GROUP BY pipeline_id
)
SELECT p.pipeline_id,
       p.name,
       per.runs,
       per.trainings,
       round(per.days, 3) AS days,
       round(per.runs / per.days, 3) AS runs_per_day,
       round(per.trainings / per.days, 3) AS trainings_per_day,
       per.trainings / per.days > 100 AS over_100_per_day
FROM pipelines p
JOIN per USING (pipeline_id)
ORDER BY trainings_per_day, runs_per_day, p.pipeline_id;
