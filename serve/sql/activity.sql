-- name: activity
-- description: every pipeline's graphlets (training runs) in each of $1 equal slices of the store's window, for the overview's sparklines.
-- Parameters: $1 the number of slices (BIGINT). Slices with no graphlet have no row.
WITH w AS (SELECT min(trainer_start) AS lo, max(trainer_start) AS hi FROM graphlets)
SELECT g.pipeline_id,
       least($1::BIGINT - 1, floor(epoch(g.trainer_start - w.lo) / greatest(epoch(w.hi - w.lo), 1) * $1::BIGINT))::BIGINT AS slice,
       count(*) AS graphlets
FROM graphlets g, w
WHERE g.trainer_start IS NOT NULL
GROUP BY ALL
ORDER BY 1, 2
