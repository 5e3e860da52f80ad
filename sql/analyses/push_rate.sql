-- name: push_rate
-- description: the share of each pipeline's graphlets that pushed a model
-- topic: outcomes
-- plot: cdf x=push_rate
SELECT pipeline_id,
       count(*) AS graphlets,
       count(*) FILTER (WHERE pushed) AS pushed,
       round(avg(pushed::INTEGER), 4) AS push_rate
FROM graphlets
GROUP BY pipeline_id
ORDER BY pipeline_id
