-- name: activity_summary
-- description: runs and trainings per pipeline per day: mean, quantiles, and the share of pipelines above 100 a day
-- topic: frequency
-- plot: none
-- order: 31
--
-- Rates are per pipeline as in the activity analysis (count over lifespan days, at least
-- one); the paper's secondary sources cite about 7 trainings per pipeline per day on average
-- and about 1% of pipelines above 100 a day.
WITH
rates AS (
    SELECT 'runs' AS measure, runs_per_day AS per_day FROM pipeline_activity
    UNION ALL
    SELECT 'trainings', trainings_per_day FROM pipeline_activity
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
