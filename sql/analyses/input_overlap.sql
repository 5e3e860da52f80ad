-- name: input_overlap
-- description: how much of each graphlet's training data the previous graphlet of the same Trainer already read (shared spans): the reuse opportunity
-- topic: reuse
-- plot: bar x=overlap y=share
SELECT CASE
           WHEN overlap_prev = 0 THEN '0'
           WHEN overlap_prev < 0.25 THEN '(0, 0.25)'
           WHEN overlap_prev < 0.5 THEN '[0.25, 0.5)'
           WHEN overlap_prev < 0.75 THEN '[0.5, 0.75)'
           WHEN overlap_prev < 1 THEN '[0.75, 1)'
           ELSE '1'
       END AS overlap,
       count(*) AS graphlets,
       round(count(*) / sum(count(*)) OVER (), 4) AS share,
       round(avg(overlap_prev), 4) AS mean_overlap
FROM graphlet_features
WHERE overlap_prev IS NOT NULL
GROUP BY overlap
ORDER BY min(overlap_prev)
