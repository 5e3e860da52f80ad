-- name: headline
-- description: the paper's headline figures beside this corpus's
-- topic: corpus
-- plot: none
-- order: 0
WITH
corpus AS (
    SELECT (SELECT count(*) FROM pipelines) AS pipelines,
           (SELECT count(*) FROM graphlets) AS models,
           (SELECT avg((NOT pushed)::INTEGER) FROM graphlets) AS not_pushed,
           (SELECT date_diff('second', min(start_time), max(end_time)) / 86400.0 FROM executions) AS days,
           (SELECT sum(cost_exclusive) FILTER (WHERE NOT pushed) FROM graphlets)
               / (SELECT nullif(sum(cost), 0) FROM executions) AS waste_share
),
activity AS (
    SELECT avg(trainings_per_day) AS mean_per_day, avg((trainings_per_day > 100)::INTEGER) AS above_100
    FROM pipeline_activity
)
SELECT metric, paper, corpus
FROM (
    SELECT 1 AS n, 'pipelines' AS metric, '3,000' AS paper, format('{:,}', pipelines) AS corpus FROM corpus
    UNION ALL SELECT 2, 'trained models (Trainer runs)', '> 450,000', format('{:,}', models) FROM corpus
    UNION ALL SELECT 3, 'window (days)', '> 120 (four months)', printf('%.0f', days) FROM corpus
    UNION ALL SELECT 4, 'trainings per pipeline per day (mean)', '≈ 7', printf('%.1f', mean_per_day) FROM activity
    UNION ALL SELECT 5, 'pipelines training > 100 times a day', '≈ 1%', printf('%.1f%%', 100 * above_100) FROM activity
    UNION ALL SELECT 6, 'graphlets that push no model', '> 30%', printf('%.1f%%', 100 * not_pushed) FROM corpus
    UNION ALL SELECT 7, 'compute wasted on graphlets that push no model (exclusive)', 'n/a', printf('%.1f%%', 100 * waste_share) FROM corpus
)
ORDER BY n
