-- name: activity_summary
-- description: runs and trainings per pipeline per day: mean, quantiles, and the share of pipelines above 100 a day
-- topic: frequency
-- plot: none
-- order: 31
--
-- Rates are per pipeline as in the activity analysis (count over lifespan days, at least
-- one); the paper's secondary sources cite about 7 trainings per pipeline per day on average
-- and about 1% of pipelines above 100 a day.
WITH per AS (
    SELECT pipeline_id,
           count(DISTINCT coalesce(run_id, 'execution:' || execution_id)) AS runs,
           count(*) FILTER (WHERE category = 'train' AND op_type <> 'Tuner' AND state <> 'cached') AS trainings,
           greatest(epoch(max(coalesce(end_time, start_time)) - min(start_time)) / 86400, 1) AS days
    FROM executions
    GROUP BY pipeline_id
),
rates AS (
    SELECT 'runs' AS measure, runs / days AS per_day FROM per
    UNION ALL
    SELECT 'trainings', trainings / days FROM per
)
SELECT measure,
       count(*) AS pipelines,
       round(avg(per_day), 3) AS mean_per_day,
       round(quantile_cont(per_day, 0.5), 3) AS median_per_day,
       round(quantile_cont(per_day, 0.9), 3) AS p90_per_day,
       round(quantile_cont(per_day, 0.99), 3) AS p99_per_day,
       round(max(per_day), 3) AS max_per_day,
       count(*) FILTER (WHERE per_day > 100) AS pipelines_over_100,
       round(count(*) FILTER (WHERE per_day > 100) / count(*), 4) AS share_over_100
FROM rates
GROUP BY measure
ORDER BY measure;
