-- name: topologies
-- description: the most common pipeline topologies (DAGs of operator types), with how many pipelines share each
-- topic: architecture
-- plot: bar x=rank y=n_pipelines
SELECT rank, signature, n_pipelines, share, n_edges, topology
FROM (
    SELECT row_number() OVER (ORDER BY n_pipelines DESC, signature) AS rank,
           left(signature, 10) AS signature,
           n_pipelines,
           round(n_pipelines / sum(n_pipelines) OVER (), 4) AS share,
           n_edges,
           topology
    FROM topology_catalog
)
WHERE rank <= 20
ORDER BY rank
