-- name: wasted_compute
-- description: compute spent on graphlets that pushed no model, by operator category: exclusive (what skipping them saves) and amortised (each execution's cost split among its graphlets)
-- topic: waste
-- plot: bar x=category y=wasted_exclusive
WITH holders AS (
    SELECT m.execution_id,
           count(*) AS n,
           count(*) FILTER (WHERE NOT g.pushed) AS n_unpushed
    FROM graphlet_members m
    JOIN graphlets g USING (graphlet_id)
    WHERE m.execution_id IS NOT NULL
    GROUP BY m.execution_id
)
SELECT coalesce(x.category, 'all') AS category,
       round(sum(coalesce(x.cost, 0)), 2) AS compute,
       round(coalesce(sum(x.cost) FILTER (WHERE h.n = 1 AND h.n_unpushed = 1), 0), 2) AS wasted_exclusive,
       round(coalesce(sum(x.cost * h.n_unpushed / h.n), 0), 2) AS wasted_amortised,
       round(coalesce(sum(x.cost) FILTER (WHERE h.n = 1 AND h.n_unpushed = 1), 0) / nullif(sum(x.cost), 0), 4) AS exclusive_share,
       round(coalesce(sum(x.cost * h.n_unpushed / h.n), 0) / nullif(sum(x.cost), 0), 4) AS amortised_share
FROM executions x
LEFT JOIN holders h USING (execution_id)
GROUP BY GROUPING SETS ((x.category), ())
ORDER BY grouping(x.category), category
