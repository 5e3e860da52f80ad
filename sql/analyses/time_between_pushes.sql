-- name: time_between_pushes
-- description: hours between consecutive pushes of each pipeline (median and longest): the deployment cadence
-- topic: frequency
-- plot: cdf x=median_hours
WITH gaps AS (
    SELECT pipeline_id,
           date_diff('second', lag(push_time) OVER (PARTITION BY pipeline_id ORDER BY push_time, graphlet_id), push_time) / 3600.0 AS hours
    FROM graphlets
    WHERE pushed
)
SELECT pipeline_id,
       count(*) + 1 AS pushes,
       round(median(hours), 3) AS median_hours,
       round(max(hours), 3) AS max_hours
FROM gaps
WHERE hours IS NOT NULL
GROUP BY pipeline_id
ORDER BY pipeline_id
