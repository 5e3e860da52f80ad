-- name: failure_waste
-- description: compute spent in failed executions, by operator category
-- topic: waste
-- plot: bar x=category y=failed_cost
-- order: 160
--
-- A failed execution's cost bought nothing; the retry that follows it pays again. Canceled
-- executions are counted apart: they were stopped on purpose and usually cost little.
SELECT category,
       count(*) AS executions,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       round(count(*) FILTER (WHERE state = 'failed') / count(*), 4) AS failure_rate,
       round(coalesce(sum(cost) FILTER (WHERE state = 'failed'), 0), 3) AS failed_cost,
       round(coalesce(sum(cost) FILTER (WHERE state = 'canceled'), 0), 3) AS canceled_cost,
       round(coalesce(sum(cost), 0), 3) AS total_cost,
       round(coalesce(sum(cost) FILTER (WHERE state = 'failed'), 0) / nullif(sum(cost), 0), 4) AS share_of_category_cost,
       round(coalesce(sum(cost) FILTER (WHERE state = 'failed'), 0)
             / nullif(sum(sum(cost) FILTER (WHERE state = 'failed')) OVER (), 0), 4) AS share_of_failed_cost
FROM executions
GROUP BY category
ORDER BY coalesce(list_position(['ingest', 'analyze', 'transform', 'train', 'validate', 'deploy', 'other'], category), 99),
         category;
