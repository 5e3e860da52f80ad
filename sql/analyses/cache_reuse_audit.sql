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
WITH fingerprints AS (
    -- Parse each artifact's JSON once, not once per event that reads it.
    SELECT artifact_id, attrs ->> 'input_fingerprint' AS fp FROM artifacts
),
keys AS (
    -- An execution's inputs as a multiset, hashed without sorting: the sum of each input's
    -- hash (role and fingerprint, or role and artifact id) and their count.
    SELECT ev.execution_id,
           count(*) AS inputs,
           sum(hash(ev.role, f.fp IS NULL, coalesce(f.fp, ev.artifact_id::VARCHAR))) AS input_hash
    FROM events ev
    JOIN fingerprints f USING (artifact_id)
    WHERE ev.direction = 'in'
    GROUP BY ev.execution_id
),
sources AS (
    -- An execution's sources: the fingerprints on its outputs, each counted once.
    SELECT execution_id, sum(h) AS source_hash
    FROM (SELECT DISTINCT ev.execution_id, hash(f.fp) AS h
          FROM events ev
          JOIN fingerprints f USING (artifact_id)
          WHERE ev.direction = 'out' AND f.fp IS NOT NULL)
    GROUP BY execution_id
),
work AS (
    -- Groups of complete executions that did the same work; the first of each was needed.
    SELECT x.op_type,
           x.category,
           count(*) AS executions,
           coalesce(sum(x.cost), 0) AS cost,
           coalesce(sum(x.cost), 0) - coalesce(arg_min(x.cost, (x.start_time, x.execution_id)), 0) AS recomputed_cost
    FROM executions x
    LEFT JOIN keys k USING (execution_id)
    LEFT JOIN sources s USING (execution_id)
    WHERE x.state = 'complete' AND (k.inputs > 0 OR s.source_hash IS NOT NULL)
    GROUP BY x.pipeline_id, coalesce(x.node_id, x.op_type), x.op_type, x.category,
             coalesce(x.attrs ->> 'code_version', ''),
             k.inputs, CASE WHEN k.inputs > 0 THEN k.input_hash ELSE s.source_hash END
),
per_op AS (
    SELECT op_type,
           category,
           sum(executions) AS complete_executions,
           sum(executions - 1) AS recomputed,
           sum(recomputed_cost) AS recomputed_cost,
           sum(cost) AS cost
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
       coalesce(complete_executions, 0)::BIGINT AS complete_executions,
       coalesce(recomputed, 0)::BIGINT AS recomputed,
       round(coalesce(recomputed_cost, 0), 3) AS recomputed_cost,
       round(recomputed_cost / nullif(cost, 0), 4) AS share_of_cost,
       coalesce(cache_hits, 0) AS cache_hits
FROM per_op
FULL JOIN hits USING (op_type, category)
ORDER BY recomputed_cost DESC, recomputed DESC, cache_hits DESC, op_type, category;
