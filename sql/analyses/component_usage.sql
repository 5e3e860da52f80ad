-- name: component_usage
-- description: share of pipelines that run each operator type at least once, with its category and executions
-- topic: architecture
-- plot: bar x=op_type y=share_of_pipelines
-- order: 40
SELECT op_type,
       category,
       count(DISTINCT pipeline_id) AS pipelines,
       round(count(DISTINCT pipeline_id) / (SELECT nullif(count(*), 0) FROM pipelines), 4) AS share_of_pipelines,
       count(*) AS executions
FROM executions
GROUP BY op_type, category
ORDER BY share_of_pipelines DESC, executions DESC, op_type, category;
