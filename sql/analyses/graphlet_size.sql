-- name: graphlet_size
-- description: the distribution of graphlet sizes in executions, with the mean number of artifacts at each size
-- topic: complexity
-- plot: line x=n_executions y=cumulative_share
SELECT n_executions,
       count(*) AS graphlets,
       round(avg(n_artifacts), 2) AS mean_artifacts,
       round(sum(count(*)) OVER (ORDER BY n_executions) / sum(count(*)) OVER (), 4) AS cumulative_share
FROM graphlets
GROUP BY n_executions
ORDER BY n_executions
