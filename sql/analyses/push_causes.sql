-- name: push_causes
-- description: push rate against what changed before each Trainer ran (drift of new data, anomalies, schema, structure, code or config) and the model type; spread is the largest gap in push rate between a factor's levels
-- topic: causes
-- plot: bar x=level y=push_rate series=factor
--
-- Drift is cut into quartiles of graphlets, each labelled with its range of drift; a quartile
-- whose graphlets all have the same drift is labelled with that value alone, and quartiles of
-- the same value merge (a store that records no drift has one level, 0.000, not four ranges
-- 0.000-0.000).
WITH f AS (
    SELECT f.*, g.pushed::INTEGER AS pushed,
           ntile(4) OVER (ORDER BY f.drift, f.graphlet_id) AS drift_quartile
    FROM graphlet_features f
    JOIN graphlets g USING (graphlet_id)
),
quartiles AS (
    SELECT drift_quartile,
           CASE WHEN min(drift) = max(drift) THEN printf('%.3f', min(drift))
                ELSE printf('%.3f-%.3f', min(drift), max(drift)) END AS level
    FROM f GROUP BY drift_quartile
),
levels AS (
    SELECT 'drift of new data' AS factor, q.level, count(*) AS graphlets, avg(pushed) AS push_rate
    FROM f JOIN quartiles q USING (drift_quartile) GROUP BY q.level
    UNION ALL
    SELECT 'anomalies in new data', CASE WHEN anomalies > 0 THEN 'some' ELSE 'none' END, count(*), avg(pushed)
    FROM f GROUP BY 2
    UNION ALL
    SELECT 'schema change', CASE WHEN schema_changed THEN 'changed' ELSE 'unchanged' END, count(*), avg(pushed)
    FROM f GROUP BY 2
    UNION ALL
    SELECT 'structure change', CASE WHEN structure_changed THEN 'changed' ELSE 'unchanged' END, count(*), avg(pushed)
    FROM f GROUP BY 2
    UNION ALL
    SELECT 'code or config change', CASE WHEN code_changed THEN 'changed' ELSE 'unchanged' END, count(*), avg(pushed)
    FROM f GROUP BY 2
    UNION ALL
    SELECT 'model type', model_type, count(*), avg(pushed)
    FROM f GROUP BY 2
)
SELECT factor, level, graphlets,
       round(push_rate, 4) AS push_rate,
       round(max(push_rate) OVER (PARTITION BY factor) - min(push_rate) OVER (PARTITION BY factor), 4) AS spread
FROM levels
ORDER BY factor, level
