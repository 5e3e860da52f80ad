-- name: graphlets
-- description: One row per model graphlet: its Trainer, extent in time, size, costs (total, exclusive, amortised, by category), input spans, outcome and topology signature.
--
-- Costs are summed as decimals, exactly, so that a sum does not depend on the order its rows
-- arrive in (threads, an incremental refresh).
-- cost_exclusive counts the executions no other graphlet holds (what skipping this graphlet
-- saves); cost_amortised divides each execution's cost by the number of graphlets holding it.
-- A graphlet pushed when it holds a completed deploy execution that wrote a PushedModel with
-- pushed = 1 (or true).
WITH
-- The graphlets to derive: every Trainer here; a refresh derives only those it re-derives.
roots AS (SELECT graphlet_id FROM trainers),
-- How many graphlets hold each execution of the graphlets derived.
holders AS (
    SELECT execution_id, count(*) AS holders
    FROM graphlet_executions
    WHERE execution_id IN (SELECT execution_id FROM graphlet_executions SEMI JOIN roots USING (graphlet_id))
    GROUP BY execution_id
),
-- Of each member execution, the columns the parts below read: a member is held once per
-- graphlet, and the executions' other columns (attributes above all) would be copied as many
-- times. Its operator type is read as its hash (op), by which the edges are grouped.
members AS (
    SELECT m.graphlet_id, m.side, m.execution_id, x.category, x.state, x.start_time, x.end_time, x.cost,
           hash(x.op_type) AS op, h.holders
    FROM graphlet_members m
    SEMI JOIN roots USING (graphlet_id)
    JOIN executions x USING (execution_id)
    JOIN holders h USING (execution_id)
),
costs AS (
    SELECT graphlet_id,
           count(*) AS n_executions,
           min(start_time) AS started,
           max(end_time) AS finished,
           sum(coalesce(cost, 0)::DECIMAL(38, 10))::DOUBLE AS cost_total,
           sum(CASE WHEN holders = 1 THEN coalesce(cost, 0) ELSE 0 END::DECIMAL(38, 10))::DOUBLE AS cost_exclusive,
           sum((coalesce(cost, 0) / holders)::DECIMAL(38, 10))::DOUBLE AS cost_amortised,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE category = 'ingest'), 0)::DOUBLE AS cost_ingest,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE category = 'analyze'), 0)::DOUBLE AS cost_analyze,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE category = 'transform'), 0)::DOUBLE AS cost_transform,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE category = 'train'), 0)::DOUBLE AS cost_train,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE category = 'validate'), 0)::DOUBLE AS cost_validate,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE category = 'deploy'), 0)::DOUBLE AS cost_deploy,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE category = 'other'), 0)::DOUBLE AS cost_other,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE side = 'upstream'), 0)::DOUBLE AS cost_upstream,
           coalesce(sum(cost::DECIMAL(38, 10)) FILTER (WHERE side = 'downstream'), 0)::DOUBLE AS cost_downstream
    FROM members
    GROUP BY graphlet_id
),
arts AS (
    SELECT graphlet_id, count(*) AS n_artifacts
    FROM graphlet_members
    SEMI JOIN roots USING (graphlet_id)
    WHERE artifact_id IS NOT NULL
    GROUP BY graphlet_id
),
-- The data spans the model trained on: Examples read by the Trainer or a Transform feeding it.
-- The readers' input events are found first, so that a refresh of a few graphlets reads the
-- events of their readers rather than every event of an Examples artifact.
readers AS MATERIALIZED (
    SELECT graphlet_id, execution_id
    FROM members
    WHERE side = 'trainer' OR (side = 'upstream' AND category = 'transform')
),
spans AS (
    SELECT r.graphlet_id, list(DISTINCT a.span ORDER BY a.span) AS input_spans
    FROM readers r
    JOIN (SELECT execution_id, artifact_id
          FROM events
          WHERE direction = 'in' AND execution_id IN (SELECT execution_id FROM readers)) ev USING (execution_id)
    JOIN artifacts a ON a.artifact_id = ev.artifact_id
    WHERE a.type = 'Examples' AND a.span IS NOT NULL
    GROUP BY r.graphlet_id
),
pushes AS (
    SELECT m.graphlet_id, min(m.end_time) AS push_time
    FROM members m
    JOIN artifact_producers p ON p.execution_id = m.execution_id
    JOIN artifacts a ON a.artifact_id = p.artifact_id
    WHERE m.side = 'downstream' AND m.category = 'deploy' AND m.state = 'complete'
      AND a.type = 'PushedModel' AND lower(a.attrs ->> 'pushed') IN ('1', 'true')
    GROUP BY m.graphlet_id
),
-- The graphlet's DAG of operator types: its distinct edges, each marked upstream when some
-- instance of it joins two executions that ran before the Trainer ended (its upstream part,
-- known before the Trainer started). A signature is the XOR of the edges' hashes, so that it
-- needs no sort; the edge list is spelt out once per distinct signature. The edges are
-- grouped by the hashes of their operator types, and named once per distinct edge: a key of
-- two numbers takes a fraction of the memory of a string made for each pair of executions
-- (9M at the paper's scale). Two operator types of one store with the same 64-bit hash would
-- be one in the signature: among thousands of types, a chance below one in 10^11.
-- From each member's input edges (a few per execution) to producers in the same graphlet:
-- starting from the producers instead would pair each with every later consumer in history.
consumed AS MATERIALIZED (
    SELECT cm.graphlet_id, cm.op AS to_op, cm.side <> 'downstream' AS to_up, l.producer_id
    FROM members cm
    JOIN lineage_edges l ON l.consumer_id = cm.execution_id
),
edges AS (
    SELECT c.graphlet_id, pm.op AS from_op, c.to_op,
           bool_or(pm.side <> 'downstream' AND c.to_up) AS upstream
    FROM consumed c
    JOIN members pm ON pm.execution_id = c.producer_id AND pm.graphlet_id = c.graphlet_id
    GROUP BY c.graphlet_id, pm.op, c.to_op
),
ops AS (SELECT DISTINCT op_type, hash(op_type) AS op FROM executions),
edge_names AS (
    SELECT *, md5_number_lower(edge) AS h
    FROM (SELECT e.from_op, e.to_op, f.op_type || '>' || t.op_type AS edge
          FROM (SELECT DISTINCT from_op, to_op FROM edges) e
          JOIN ops f ON f.op = e.from_op
          JOIN ops t ON t.op = e.to_op)
),
signatures AS (
    SELECT e.graphlet_id,
           bit_xor(n.h) AS signature,
           coalesce(bit_xor(n.h) FILTER (WHERE e.upstream), 0) AS upstream_signature
    FROM edges e
    JOIN edge_names n USING (from_op, to_op)
    GROUP BY e.graphlet_id
),
shapes AS (
    SELECT s.signature, string_agg(n.edge, ',' ORDER BY n.edge) AS topology
    FROM (SELECT signature, min(graphlet_id) AS graphlet_id FROM signatures GROUP BY signature) s
    JOIN edges e USING (graphlet_id)
    JOIN edge_names n USING (from_op, to_op)
    GROUP BY s.signature
)
SELECT t.graphlet_id,
       t.pipeline_id,
       t.graphlet_id AS trainer_id,
       x.op_type AS trainer_op_type,
       x.node_id AS trainer_node_id,
       x.run_id,
       x.state AS trainer_state,
       x.start_time AS trainer_start,
       x.end_time AS trainer_end,
       c.started,
       c.finished,
       c.n_executions,
       coalesce(a.n_artifacts, 0) AS n_artifacts,
       c.cost_total, c.cost_exclusive, c.cost_amortised,
       c.cost_ingest, c.cost_analyze, c.cost_transform, c.cost_train, c.cost_validate,
       c.cost_deploy, c.cost_other, c.cost_upstream, c.cost_downstream,
       coalesce(s.input_spans, []::BIGINT[]) AS input_spans,
       p.graphlet_id IS NOT NULL AS pushed,
       p.push_time,
       lpad(hex(coalesce(sg.signature, 0)), 16, '0') AS topology_signature,
       lpad(hex(coalesce(sg.upstream_signature, 0)), 16, '0') AS upstream_signature,
       coalesce(sh.topology, '') AS topology
FROM trainers t
JOIN executions x ON x.execution_id = t.graphlet_id
JOIN costs c USING (graphlet_id)
LEFT JOIN arts a USING (graphlet_id)
LEFT JOIN spans s USING (graphlet_id)
LEFT JOIN pushes p USING (graphlet_id)
LEFT JOIN signatures sg USING (graphlet_id)
LEFT JOIN shapes sh ON sh.signature = sg.signature
