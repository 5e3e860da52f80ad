-- name: refresh_features
-- description: The graphlets whose features a refresh derives again: in each pipeline touched, every graphlet whose Trainer started at or after the earliest moment a change could be seen from.
--
-- A graphlet's features read the earlier graphlets of its pipeline (the previous one of its
-- Trainer node, the outcomes finished before it started) and the statistics and anomalies
-- made before it started: a change is seen from the earliest start or finish of a re-derived
-- graphlet (before or after the refresh, from refresh_graphlets_old) and the creation of a
-- changed statistics or anomalies artifact. An artifact's pipeline, type, span and creation
-- time are taken as fixed once made; a deleted artifact takes them with it, so its pipelines
-- are derived again whole. Graphlets that started at an unknown time sort last and are
-- always derived again.
WITH
moments AS (
    SELECT pipeline_id, trainer_start AS moment FROM refresh_graphlets_old
    UNION ALL
    SELECT pipeline_id, finished FROM refresh_graphlets_old
    UNION ALL
    SELECT pipeline_id, trainer_start FROM graphlets WHERE graphlet_id IN (SELECT graphlet_id FROM refresh_graphlets)
    UNION ALL
    SELECT pipeline_id, finished FROM graphlets WHERE graphlet_id IN (SELECT graphlet_id FROM refresh_graphlets)
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
