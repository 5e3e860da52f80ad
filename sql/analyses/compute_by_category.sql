-- name: compute_by_category
-- description: share of all compute spent in each operator category, and how much of it failed
-- topic: complexity
-- plot: bar x=category y=share_of_cost
-- order: 50
--
-- Categories come in pipeline order (ingest first, other last); a category added to
-- op_categories by hand follows, by name. Executions without a cost are counted, not costed.
SELECT category,
       count(*) AS executions,
       count(*) FILTER (WHERE cost IS NULL) AS without_cost,
       round(coalesce(sum(cost), 0), 3) AS cost,
       round(coalesce(sum(cost), 0) / nullif(sum(sum(cost)) OVER (), 0), 4) AS share_of_cost,
       round(coalesce(sum(cost) FILTER (WHERE state = 'failed'), 0), 3) AS failed_cost
FROM executions
GROUP BY category
ORDER BY coalesce(list_position(['ingest', 'analyze', 'transform', 'train', 'validate', 'deploy', 'other'], category), 99),
         category;
