-- name: cache_reuse_audit
-- description: complete executions that recomputed what an earlier one of the same node had computed from identical inputs, and their cost
-- topic: reuse
-- plot: bar x=op_type y=recomputed_cost
-- order: 150
--
-- Two executions did the same work when they ran the same node of the same pipeline with the
-- same code version over identical inputs. An input is identified by the data it holds: the
-- input_fingerprint TFX records on Examples when there is one (a re-ingested span is the same
-- data under a new artifact id), else its artifact id; and by the role it was read as. An
-- execution with no inputs (an ExampleGen) is identified by the input fingerprints recorded on
-- its outputs, that is, by the data it read from outside. Of each group of complete executions
-- that did the same work, all but the first recomputed it: a cache keyed on inputs would have
-- served them. Only direct inputs are compared, so downstream of a recomputation, where the
-- inputs are new artifacts, the opportunity is larger than counted here. cache_hits counts
-- the executions the pipeline's own cache did serve.
WITH input_keys AS (
    SELECT ev.execution_id,
           string_agg(coalesce(ev.role, '') || '='
                      || coalesce('fp:' || (a.attrs ->> 'input_fingerprint'), 'id:' || a.artifact_id), ','
                      ORDER BY coalesce(ev.role, ''), coalesce('fp:' || (a.attrs ->> 'input_fingerprint'), 'id:' || a.artifact_id)) AS input_key
    FROM events ev
    JOIN artifacts a USING (artifact_id)
    WHERE ev.direction = 'in'
    GROUP BY ev.execution_id
),
source_keys AS (
    SELECT ev.execution_id,
           string_agg(DISTINCT a.attrs ->> 'input_fingerprint', ',' ORDER BY a.attrs ->> 'input_fingerprint') AS source_key
    FROM events ev
    JOIN artifacts a USING (artifact_id)
    WHERE ev.direction = 'out' AND (a.attrs ->> 'input_fingerprint') IS NOT NULL
    GROUP BY ev.execution_id
),
work AS (
    SELECT x.execution_id,
           x.op_type,
           x.category,
           x.cost,
           row_number() OVER (
               PARTITION BY x.pipeline_id, coalesce(x.node_id, x.op_type), x.op_type,
                            coalesce(x.attrs ->> 'code_version', ''),
                            coalesce('in:' || i.input_key, 'source:' || s.source_key)
               ORDER BY x.start_time, x.execution_id) AS nth
    FROM executions x
    LEFT JOIN input_keys i USING (execution_id)
    LEFT JOIN source_keys s USING (execution_id)
    WHERE x.state = 'complete' AND (i.input_key IS NOT NULL OR s.source_key IS NOT NULL)
),
per_op AS (
    SELECT op_type,
           category,
           count(*) AS complete_executions,
           count(*) FILTER (WHERE nth > 1) AS recomputed,
           coalesce(sum(cost) FILTER (WHERE nth > 1), 0) AS recomputed_cost,
           coalesce(sum(cost), 0) AS cost
    FROM work
    GROUP BY op_type, category
),
hits AS (
    SELECT op_type, category, count(*) AS cache_hits
    FROM executions
    WHERE state = 'cached'
    GROUP BY op_type, category
)
SELECT op_type,
       category,
       coalesce(complete_executions, 0) AS complete_executions,
       coalesce(recomputed, 0) AS recomputed,
       round(coalesce(recomputed_cost, 0), 3) AS recomputed_cost,
       round(recomputed_cost / nullif(cost, 0), 4) AS share_of_cost,
       coalesce(cache_hits, 0) AS cache_hits
FROM per_op
FULL JOIN hits USING (op_type, category)
ORDER BY recomputed_cost DESC, recomputed DESC, cache_hits DESC, op_type, category;
