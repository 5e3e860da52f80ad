-- name: trainers
-- description: The executions that root a model graphlet: every run of a training operator (category train) but the Tuner that did work, failed ones included, cache hits not.
--
-- A cached Trainer trained nothing: it only re-links the model an earlier Trainer made, whose
-- graphlet already holds that model's validation and push. Rooted at it, a graphlet would hold
-- its (mostly cached) upstream and never a push, and so count as a model that was not pushed.
SELECT execution_id AS graphlet_id, pipeline_id
FROM executions
WHERE category = 'train' AND op_type <> 'Tuner' AND state <> 'cached'
