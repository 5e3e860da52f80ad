-- name: pipeline_lifespan
-- description: how long each pipeline lived, from its first execution to its last (days)
-- topic: lifespan
-- plot: cdf x=lifespan_days
-- order: 20
--
-- censored marks pipelines seen within a day of either end of the corpus's window: their
-- lifespan is a lower bound, since they may have run before or after it.
WITH corpus AS (
    SELECT min(start_time) AS first_start, max(coalesce(end_time, start_time)) AS last_end
    FROM executions
),
per AS (
    SELECT pipeline_id,
           min(start_time) AS first_run,
           max(coalesce(end_time, start_time)) AS last_run,
           count(DISTINCT start_time::DATE) AS active_days,
           count(DISTINCT coalesce(run_id, 'execution:' || execution_id)) AS runs
    FROM executions
    GROUP BY pipeline_id
)
SELECT p.pipeline_id,
       p.name,
       per.first_run,
       per.last_run,
       round(epoch(per.last_run - per.first_run) / 86400, 3) AS lifespan_days,
       per.active_days,
       per.runs,
       per.first_run < corpus.first_start + INTERVAL 1 DAY
           OR per.last_run > corpus.last_end - INTERVAL 1 DAY AS censored
FROM pipelines p
JOIN per USING (pipeline_id)
CROSS JOIN corpus
ORDER BY lifespan_days, p.pipeline_id;
