-- name: prune_studies
-- description: the pruning studies kept beside their models (schema version 4), so that a report reuses a study of the same store instead of running it again.

-- One row per study kept, by mlprov prune or by a report that ran the study: model_id is the
-- model it fitted, in prune_models; made_from says what it was made from (the checksums the
-- derived tables were derived from, the study's options and ground truth, the study's
-- version), so that a study is reused only for a store and options that would give it again;
-- study is the result as mlprov prune --json prints it.
CREATE TABLE prune_studies (
    model_id  BIGINT  NOT NULL,
    made_from VARCHAR NOT NULL,
    study     JSON    NOT NULL
);
