-- name: activity
-- description: runs and trainings per pipeline per day of its lifespan, and whether it trains more than 100 times a day
-- topic: frequency
-- plot: cdf x=trainings_per_day
-- order: 30
--
-- Rates are pipeline_activity's: per day of the pipeline's lifespan (at least one day).
SELECT p.pipeline_id,
       p.name,
       a.runs,
       a.trainings,
       round(a.days, 3) AS days,
       round(a.runs_per_day, 3) AS runs_per_day,
       round(a.trainings_per_day, 3) AS trainings_per_day,
       a.trainings_per_day > 100 AS over_100_per_day
FROM pipelines p
JOIN pipeline_activity a USING (pipeline_id)
ORDER BY trainings_per_day, runs_per_day, p.pipeline_id;
