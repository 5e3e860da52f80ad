-- name: graphlet_features
-- description: What was known about each graphlet when its Trainer started: data (new spans, their drift and anomalies, schema), structure, code and model type, against the previous graphlet of the same Trainer node.
--
-- Only facts dated before trainer_start enter: statistics and anomalies of the input spans
-- created before it, the upstream part of the topology (its executions ran before the
-- Trainer), and the outcomes of the pipeline's graphlets that had finished by then (with many
-- trainings a day, the previous graphlet may still be running).
-- The previous graphlet is the one of the same pipeline and Trainer node that started last
-- before this one.
WITH
-- The graphlets to derive: every Trainer here; a refresh derives only those it re-derives.
roots AS (SELECT graphlet_id FROM trainers),
-- The windows run over whole pipelines: a graphlet's features read the pipeline's earlier ones.
touched AS (SELECT DISTINCT pipeline_id FROM graphlets SEMI JOIN roots USING (graphlet_id)),
scope AS (
    SELECT *
    FROM graphlets
    WHERE pipeline_id IN (SELECT pipeline_id FROM touched)
),
lagged AS (
    SELECT gr.graphlet_id, gr.pipeline_id, gr.trainer_node_id, gr.trainer_start, gr.input_spans,
           gr.upstream_signature,
           x.attrs ->> 'model_type' AS model_type,
           x.attrs ->> 'code_version' AS code_version,
           x.attrs ->> 'config_hash' AS config_hash,
           lag(gr.graphlet_id) OVER w AS prev_graphlet_id,
           lag(gr.input_spans) OVER w AS prev_spans,
           lag(gr.upstream_signature) OVER w AS prev_signature,
           lag(x.attrs ->> 'code_version') OVER w AS prev_code_version,
           lag(x.attrs ->> 'config_hash') OVER w AS prev_config_hash
    FROM scope gr
    JOIN executions x ON x.execution_id = gr.graphlet_id
    WINDOW w AS (PARTITION BY gr.pipeline_id, gr.trainer_node_id ORDER BY gr.trainer_start, gr.graphlet_id)
),
-- A structure change is a change of the upstream topology (the components the Trainer's data
-- comes through); runs_since_structure_change counts the Trainer's runs since the last one
-- (0: it changed just now; 8 stands for "long ago or never").
g AS (
    SELECT *,
           row_number() OVER (PARTITION BY pipeline_id, trainer_node_id, changes ORDER BY trainer_start, graphlet_id) - 1
               + CASE WHEN changes = 0 THEN 8 ELSE 0 END AS runs_since_structure_change
    FROM (
        SELECT *,
               sum(structure_changed::INTEGER) OVER (PARTITION BY pipeline_id, trainer_node_id
                   ORDER BY trainer_start, graphlet_id ROWS UNBOUNDED PRECEDING) AS changes
        FROM (
            SELECT *, prev_graphlet_id IS NOT NULL AND upstream_signature <> prev_signature AS structure_changed
            FROM lagged
        )
    )
),
-- Data signals of the spans each graphlet trains on, as known when its Trainer started:
-- drift of the spans new since the previous graphlet, and of the whole window.
spans AS (
    SELECT graphlet_id, pipeline_id, trainer_start, unnest(input_spans) AS span,
           prev_graphlet_id IS NULL OR NOT list_contains(prev_spans, unnest(input_spans)) AS is_new
    FROM g
    SEMI JOIN roots USING (graphlet_id)
),
signals AS (
    SELECT s.graphlet_id,
           max(a.drift) FILTER (WHERE a.type = 'ExampleStatistics' AND s.is_new) AS drift,
           max(a.drift) FILTER (WHERE a.type = 'ExampleStatistics') AS drift_window,
           sum(a.anomaly_count) FILTER (WHERE a.type = 'ExampleAnomalies' AND s.is_new) AS anomalies
    FROM spans s
    -- Each artifact's attributes are read once, not once for every graphlet whose spans it
    -- describes (a span is read by many Trainers).
    JOIN (SELECT pipeline_id, span, type, create_time,
                 TRY_CAST(attrs ->> 'drift' AS DOUBLE) AS drift,
                 TRY_CAST(attrs ->> 'anomaly_count' AS BIGINT) AS anomaly_count
          FROM artifacts
          WHERE type IN ('ExampleStatistics', 'ExampleAnomalies') AND pipeline_id IN (SELECT pipeline_id FROM touched)) a
        ON a.pipeline_id = s.pipeline_id AND a.span = s.span
    WHERE a.create_time <= s.trainer_start
    GROUP BY s.graphlet_id
),
-- The Schema each Trainer read.
schemas AS (
    SELECT ev.execution_id AS graphlet_id, min(ev.artifact_id) AS schema_id
    FROM events ev
    JOIN artifacts a USING (artifact_id)
    WHERE ev.direction = 'in' AND a.type = 'Schema'
      AND ev.execution_id IN (SELECT graphlet_id FROM g SEMI JOIN roots USING (graphlet_id)
                              UNION ALL
                              SELECT prev_graphlet_id FROM g SEMI JOIN roots USING (graphlet_id))
    GROUP BY ev.execution_id
),
-- The pipeline's outcome history as of each Trainer's start: one timeline per pipeline of
-- graphlet finishes and the starts of the Trainers derived; a start sorts before a finish at
-- the same instant, so only graphlets finished strictly before it count.
timeline AS (
    SELECT pipeline_id, finished AS moment, 1 AS finish, graphlet_id, pushed, push_time
    FROM scope
    WHERE finished IS NOT NULL
    UNION ALL
    SELECT pipeline_id, trainer_start, 0, graphlet_id, NULL, NULL
    FROM scope
    SEMI JOIN roots USING (graphlet_id)
),
running AS (
    SELECT pipeline_id, finish, graphlet_id, pushed,
           sum(finish) OVER w AS known,
           sum(CASE WHEN pushed THEN 1 ELSE 0 END) OVER w AS pushes,
           max(push_time) OVER w AS last_push_time
    FROM timeline
    WINDOW w AS (PARTITION BY pipeline_id ORDER BY moment, finish, graphlet_id ROWS UNBOUNDED PRECEDING)
),
history AS (
    SELECT s.graphlet_id, s.known, s.pushes, s.pushes - coalesce(f.pushes, 0) AS pushes_last_5,
           s.last_push_time, l.pushed AS last_pushed, p.input_spans AS last_pushed_spans
    FROM running s
    LEFT JOIN running f ON f.pipeline_id = s.pipeline_id AND f.finish = 1 AND f.known = s.known - 5
    LEFT JOIN running l ON l.pipeline_id = s.pipeline_id AND l.finish = 1 AND l.known = s.known
    LEFT JOIN running q ON q.pipeline_id = s.pipeline_id AND q.finish = 1 AND q.pushed AND q.pushes = s.pushes
    LEFT JOIN scope p ON p.graphlet_id = q.graphlet_id
    WHERE s.finish = 0
),
warm AS (
    SELECT DISTINCT execution_id AS graphlet_id
    FROM events
    WHERE direction = 'in' AND role = 'base_model'
      AND execution_id IN (SELECT graphlet_id FROM roots)
)
SELECT g.graphlet_id,
       g.pipeline_id,
       g.trainer_node_id,
       g.trainer_start,
       g.prev_graphlet_id,
       len(g.input_spans) AS n_spans,
       CASE WHEN g.prev_graphlet_id IS NULL THEN len(g.input_spans)
            ELSE len(list_filter(g.input_spans, s -> NOT list_contains(g.prev_spans, s))) END AS new_spans,
       CASE WHEN len(g.input_spans) = 0 OR g.prev_graphlet_id IS NULL THEN NULL
            ELSE len(list_intersect(g.input_spans, g.prev_spans)) / len(g.input_spans) END AS overlap_prev,
       coalesce(s.drift, 0) AS drift,
       coalesce(s.drift_window, 0) AS drift_window,
       coalesce(s.anomalies, 0) AS anomalies,
       g.prev_graphlet_id IS NOT NULL AND sc.schema_id IS DISTINCT FROM psc.schema_id AS schema_changed,
       g.structure_changed,
       least(g.runs_since_structure_change, 8) AS runs_since_structure_change,
       g.prev_graphlet_id IS NOT NULL AND (g.code_version IS DISTINCT FROM g.prev_code_version
           OR g.config_hash IS DISTINCT FROM g.prev_config_hash) AS code_changed,
       coalesce(g.model_type, 'unknown') AS model_type,
       w.graphlet_id IS NOT NULL AS warm_start,
       coalesce(h.known, 0) AS known_outcomes,
       coalesce(h.pushes, 0) AS pushes_so_far,
       coalesce(h.pushes_last_5, 0) AS pushes_last_5,
       CASE WHEN h.known > 0 THEN h.pushes / h.known END AS push_rate_so_far,
       h.last_pushed AS last_known_pushed,
       date_diff('second', h.last_push_time, g.trainer_start) / 3600.0 AS hours_since_push,
       CASE WHEN h.last_push_time IS NOT NULL
            THEN len(list_filter(g.input_spans, s -> NOT list_contains(h.last_pushed_spans, s))) END AS new_spans_since_push
FROM g
SEMI JOIN roots USING (graphlet_id)
LEFT JOIN signals s USING (graphlet_id)
LEFT JOIN schemas sc ON sc.graphlet_id = g.graphlet_id
LEFT JOIN schemas psc ON psc.graphlet_id = g.prev_graphlet_id
LEFT JOIN warm w ON w.graphlet_id = g.graphlet_id
LEFT JOIN history h ON h.graphlet_id = g.graphlet_id
