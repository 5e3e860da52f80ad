-- name: graphlets_per_pipeline
-- description: how many model graphlets (trained models) each pipeline produced, and how many of them pushed
-- topic: frequency
-- plot: cdf x=graphlets
SELECT pipeline_id,
       count(*) AS graphlets,
       count(*) FILTER (WHERE pushed) AS pushed
FROM graphlets
GROUP BY pipeline_id
ORDER BY pipeline_id
