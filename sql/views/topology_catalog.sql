-- name: topology_catalog
-- description: The distinct pipeline topologies (DAGs of operator types), with how many pipelines share each.
WITH shapes AS (
    SELECT pipeline_id,
           string_agg(DISTINCT from_op || '>' || to_op, ',' ORDER BY from_op || '>' || to_op) AS topology,
           count(DISTINCT from_op || '>' || to_op) AS n_edges,
           count(DISTINCT from_node) AS n_producers
    FROM pipeline_topology
    GROUP BY pipeline_id
)
SELECT md5(topology) AS signature,
       count(*) AS n_pipelines,
       any_value(n_edges) AS n_edges,
       topology,
       list(pipeline_id ORDER BY pipeline_id) AS pipelines
FROM shapes
GROUP BY topology
