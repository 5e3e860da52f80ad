-- name: sync
-- description: provenance that grows (schema version 2): every row knows its source, a source knows what it is, every load is recorded.

-- What a source is, so that loading it again syncs it: an MLMD store or a native folder by
-- where it is, the OpenLineage events of a store by the store (one source holds them all).
-- id_base starts the range of ids the source gives its records. Both are NULL for a source
-- loaded before syncs existed: loading it again from its uri rebuilds it.
ALTER TABLE sources ADD COLUMN identity VARCHAR;
ALTER TABLE sources ADD COLUMN id_base BIGINT;

-- The source that holds each execution and artifact (an event belongs to its execution's),
-- taken from its pipeline for rows loaded before. The tables are rebuilt rather than
-- altered: DuckDB cannot add a NOT NULL column to rows it updates in the same transaction.
CREATE TABLE executions_v2 (
    execution_id BIGINT  NOT NULL,
    pipeline_id  BIGINT  NOT NULL,
    run_id       VARCHAR,
    node_id      VARCHAR,
    op_type      VARCHAR NOT NULL,
    category     VARCHAR NOT NULL,
    state        VARCHAR NOT NULL,
    start_time   TIMESTAMP,
    end_time     TIMESTAMP,
    cost         DOUBLE,
    attrs        JSON,
    source_id    BIGINT  NOT NULL
);
INSERT INTO executions_v2 SELECT x.*, p.source_id FROM executions x JOIN pipelines p ON p.pipeline_id = x.pipeline_id;
DROP TABLE executions;
ALTER TABLE executions_v2 RENAME TO executions;

CREATE TABLE artifacts_v2 (
    artifact_id BIGINT  NOT NULL,
    pipeline_id BIGINT  NOT NULL,
    type        VARCHAR NOT NULL,
    uri         VARCHAR,
    span        BIGINT,
    version     BIGINT,
    state       VARCHAR,
    create_time TIMESTAMP,
    size_bytes  BIGINT,
    attrs       JSON,
    source_id   BIGINT  NOT NULL
);
INSERT INTO artifacts_v2 SELECT a.*, p.source_id FROM artifacts a JOIN pipelines p ON p.pipeline_id = a.pipeline_id;
DROP TABLE artifacts;
ALTER TABLE artifacts_v2 RENAME TO artifacts;

-- Every load and sync: what it read (uri, fingerprint), under which rules (a digest of
-- op_categories and the deploy rule), and what it changed.
CREATE TABLE loads (
    load_id     BIGINT    NOT NULL,
    source_id   BIGINT    NOT NULL,
    uri         VARCHAR   NOT NULL,
    fingerprint VARCHAR   NOT NULL,
    rules       VARCHAR,
    loaded_at   TIMESTAMP NOT NULL,
    added       BIGINT    NOT NULL,
    updated     BIGINT    NOT NULL,
    removed     BIGINT    NOT NULL,
    seconds     DOUBLE    NOT NULL
);
INSERT INTO loads SELECT source_id, source_id, uri, fingerprint, NULL, loaded_at, rows, 0, 0, 0 FROM sources;

-- The ids a source gave records its input names by key rather than by number (an OpenLineage
-- run by its runId), so that a record keeps its id from one sync to the next.
CREATE TABLE source_keys (
    source_id BIGINT  NOT NULL,
    key       VARCHAR NOT NULL,
    id        BIGINT  NOT NULL
);

-- The OpenLineage events a source received, each once: a run's events may arrive in several
-- loads, and its execution is made from all of them.
CREATE TABLE openlineage_events (
    source_id  BIGINT    NOT NULL,
    digest     VARCHAR   NOT NULL,
    run_id     VARCHAR,
    event_time TIMESTAMP,
    file       VARCHAR   NOT NULL,
    line       BIGINT    NOT NULL,
    position   BIGINT    NOT NULL, -- its index among the file's events
    event      VARCHAR   NOT NULL
);
