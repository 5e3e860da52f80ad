-- name: headline
-- description: the paper's headline figures beside this corpus's, each with what it counts
-- topic: corpus
-- plot: none
-- order: 0
--
-- A trained model is a training run (category train, not a Tuner) that completed; a training
-- is a training run that did work, complete or not (a cache hit trains nothing); a model
-- graphlet is rooted at each training (see the trainers view). A store with no training runs
-- (Kubeflow v2 has no Trainer type) says so in the figures that need them, not NULL.
--
-- The pruning figure comes from the pruning study, which a report runs before the headline
-- and hands over as DuckDB variables: pruning_max_cadence_loss, the bound on pushes lost;
-- pruning_waste_saved, the share of waste its operating point (its threshold chosen on the
-- training period for that bound) saves on the replay, NULL when the study did
-- not run; and pruning_not_run, why not. Without them (mlprov analyze headline) the row is left out.
WITH
corpus AS (
    SELECT (SELECT count(*) FROM pipelines) AS pipelines,
           (SELECT count(*) FROM executions
            WHERE category = 'train' AND op_type <> 'Tuner' AND state = 'complete') AS models,
           (SELECT count(*) FROM graphlets) AS graphlets,
           (SELECT avg((NOT pushed)::INTEGER) FROM graphlets) AS not_pushed,
           (SELECT date_diff('second', min(start_time), max(end_time)) / 86400.0 FROM executions) AS days,
           (SELECT sum(cost_exclusive) FILTER (WHERE NOT pushed) FROM graphlets)
               / (SELECT nullif(sum(cost), 0) FROM executions) AS waste_share
),
activity AS (
    SELECT avg(trainings_per_day) AS mean_per_day, avg((trainings_per_day > 100)::INTEGER) AS above_100
    FROM pipeline_activity
),
figures AS (
    SELECT 1 AS n, 'pipelines' AS metric, '3,000' AS paper, format('{:,}', pipelines) AS corpus,
           'pipelines in the store' AS counts
    FROM corpus
    UNION ALL SELECT 2, 'trained models', '> 450,000', format('{:,}', models),
           'training runs (category train, the Tuner aside) that completed; failed, cached and running ones made no model'
    FROM corpus
    UNION ALL SELECT 3, 'window (days)', '> 120 (four months)', coalesce(printf('%.0f', days), 'none: no executions'),
           'days from the first execution''s start to the last one''s end'
    FROM corpus
    UNION ALL SELECT 4, 'trainings per pipeline per day (mean)', '≈ 7',
           CASE WHEN graphlets > 0 THEN printf('%.1f', mean_per_day) ELSE 'none: no training runs' END,
           'training runs that did work (failed ones too, not cache hits) per day of each pipeline''s lifespan (at least a day), averaged over pipelines'
    FROM activity, corpus
    UNION ALL SELECT 5, 'pipelines training > 100 times a day', '≈ 1%',
           CASE WHEN graphlets > 0 THEN printf('%.1f%%', 100 * above_100) ELSE 'none: no training runs' END,
           'share of pipelines whose rate of trainings above exceeds 100 a day'
    FROM activity, corpus
    UNION ALL SELECT 6, 'graphlets that push no model', '> 30%',
           coalesce(printf('%.1f%%', 100 * not_pushed), 'none: no training runs'),
           'share of model graphlets (one per training) holding no completed deploy that pushed a model'
    FROM corpus
    UNION ALL SELECT 7, 'compute wasted on graphlets that push no model (exclusive)', 'n/a',
           CASE WHEN graphlets = 0 THEN 'none: no training runs'
                ELSE coalesce(printf('%.1f%%', 100 * waste_share), 'none: no costs recorded') END,
           'cost of the executions that only graphlets pushing no model hold, over the cost of all executions'
    FROM corpus
    UNION ALL SELECT 8,
           printf('waste saved by pruning, chosen in advance for at most %.1f%% of pushes lost', 100 * getvariable('pruning_max_cadence_loss')),
           '≈ 50%',
           coalesce(printf('%.1f%%', 100 * getvariable('pruning_waste_saved')), 'not run: ' || getvariable('pruning_not_run')),
           'share of the wasted compute (exclusive) that skipping the graphlets the pruning model predicts not to push saves on the replayed graphlets'
    WHERE getvariable('pruning_max_cadence_loss') IS NOT NULL
)
SELECT metric, paper, corpus, counts
FROM figures
ORDER BY n
