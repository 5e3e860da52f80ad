-- name: prune_models
-- description: the pruning models mlprov prune keeps (schema version 3), for mlprov advise.

-- One row per run of mlprov prune; the newest (largest model_id) is the one advise uses.
-- model holds the fitted parameters of its kind (logistic_regression: means, deviations,
-- missing flags and weights; gradient_boosted_trees: bin edges, base score and trees);
-- encoding the order it reads its features in ({"features": [...], "model_types": [...]}).
-- threshold was chosen in advance, on the validation tail of the training period, for at most
-- max_cadence_loss of pushes lost; validation holds the AUCs and that operating point.
CREATE TABLE prune_models (
    model_id         BIGINT    NOT NULL,
    saved_at         TIMESTAMP NOT NULL,
    kind             VARCHAR   NOT NULL,
    model            JSON      NOT NULL,
    encoding         JSON      NOT NULL,
    threshold        DOUBLE    NOT NULL,
    max_cadence_loss DOUBLE    NOT NULL,
    train_from       TIMESTAMP NOT NULL,
    train_until      TIMESTAMP NOT NULL,
    train_graphlets  BIGINT    NOT NULL,
    validation       JSON      NOT NULL
);
