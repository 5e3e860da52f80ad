-- name: trainers
-- description: The executions that root a model graphlet: every run of a training operator (category train) but the Tuner, failed ones included.
SELECT execution_id AS graphlet_id, pipeline_id
FROM executions
WHERE category = 'train' AND op_type <> 'Tuner'
