-- name: refresh_features
-- description: The graphlets whose features a refresh derives again: in each pipeline touched, every graphlet whose Trainer started at or after the earliest moment a change could be seen from.
--
-- A graphlet's features read the earlier graphlets of its pipeline (the previous one of its
-- Trainer node, the outcomes finished before it started), its Trainer's row and events, and
-- the statistics and anomalies made before it started. A change is seen from the earliest
-- start or finish of a re-derived graphlet whose columns the features read changed (before or
-- after the refresh, from refresh_graphlets_old): a graphlet whose costs alone changed, as
-- when a new Trainer shares its executions, changes no feature. Also from the start of a
-- graphlet whose Trainer changed, and from the creation of a changed statistics or anomalies
-- artifact. An artifact's pipeline, type, span and creation time are taken as fixed once
-- made; a deleted artifact takes them with it, so its pipelines are derived again whole.
-- Graphlets that started at an unknown time sort last and are always derived again.
WITH
seen AS (
    SELECT graphlet_id, pipeline_id, trainer_node_id, trainer_start, finished, pushed, push_time,
           input_spans, upstream_signature
    FROM refresh_graphlets_old
),
now AS (
    SELECT graphlet_id, pipeline_id, trainer_node_id, trainer_start, finished, pushed, push_time,
           input_spans, upstream_signature
    FROM graphlets
    WHERE graphlet_id IN (SELECT graphlet_id FROM refresh_graphlets)
),
changed AS (
    (FROM seen EXCEPT FROM now)
    UNION ALL
    (FROM now EXCEPT FROM seen)
    UNION ALL
    (FROM seen WHERE graphlet_id IN (SELECT execution_id FROM changed_executions))
    UNION ALL
    (FROM now WHERE graphlet_id IN (SELECT execution_id FROM changed_executions))
),
moments AS (
    SELECT pipeline_id, trainer_start AS moment FROM changed
    UNION ALL
    SELECT pipeline_id, finished FROM changed
    UNION ALL
    SELECT pipeline_id, create_time
    FROM artifacts
    WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts)
      AND type IN ('ExampleStatistics', 'ExampleAnomalies')
    UNION ALL
    SELECT pipeline_id, '-infinity'::TIMESTAMP
    FROM changed_pipelines
    WHERE EXISTS (SELECT 1 FROM changed_artifacts c ANTI JOIN artifacts a USING (artifact_id))
),
since AS (
    SELECT pipeline_id, min(moment) AS moment
    FROM moments
    GROUP BY pipeline_id
)
SELECT g.graphlet_id, g.pipeline_id
FROM graphlets g
JOIN since s USING (pipeline_id)
WHERE g.trainer_start >= s.moment OR g.trainer_start IS NULL
