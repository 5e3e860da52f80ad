-- name: corpus_overview
-- description: size of the corpus: sources, pipelines, runs, executions, artifacts, events, trained models and the time window
-- topic: corpus
-- plot: none
-- order: 10
--
-- A training is a Trainer execution that did work (category train, not a Tuner, not a cache
-- hit); a trained model is one that completed. Runs without a run_id (asynchronous pipelines)
-- count one run per execution.
WITH x AS (
    SELECT count(*) AS executions,
           count(DISTINCT pipeline_id || '/' || coalesce(run_id, 'execution:' || execution_id)) AS runs,
           count(*) FILTER (WHERE category = 'train' AND op_type <> 'Tuner' AND state <> 'cached') AS trainings,
           count(*) FILTER (WHERE category = 'train' AND op_type <> 'Tuner' AND state = 'complete') AS trained_models,
           min(start_time) AS first_start,
           max(coalesce(end_time, start_time)) AS last_end
    FROM executions
)
SELECT (SELECT count(*) FROM sources) AS sources,
       (SELECT count(*) FROM pipelines) AS pipelines,
       x.runs,
       x.executions,
       (SELECT count(*) FROM artifacts) AS artifacts,
       (SELECT count(*) FROM events) AS events,
       x.trainings,
       x.trained_models,
       x.first_start,
       x.last_end,
       round(epoch(x.last_end - x.first_start) / 86400, 3) AS window_days
FROM x
ORDER BY pipelines;
