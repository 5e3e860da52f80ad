-- name: store
-- description: the canonical provenance tables every loader writes to (schema version 1).

-- One row per load; the fingerprint of the input refuses a second load of the same source.
CREATE TABLE sources (
    source_id   BIGINT    NOT NULL,
    kind        VARCHAR   NOT NULL,
    uri         VARCHAR   NOT NULL,
    fingerprint VARCHAR   NOT NULL,
    loaded_at   TIMESTAMP NOT NULL,
    rows        BIGINT    NOT NULL
);

CREATE TABLE pipelines (
    pipeline_id BIGINT  NOT NULL,
    name        VARCHAR NOT NULL,
    source_id   BIGINT  NOT NULL,
    attrs       JSON
);

-- state is one of complete, failed, cached, running, canceled; cost is in compute units
-- (CPU-seconds where known, else a documented proxy such as duration; cached runs cost 0).
CREATE TABLE executions (
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
    attrs        JSON
);

CREATE TABLE artifacts (
    artifact_id BIGINT  NOT NULL,
    pipeline_id BIGINT  NOT NULL,
    type        VARCHAR NOT NULL,
    uri         VARCHAR,
    span        BIGINT,
    version     BIGINT,
    state       VARCHAR,
    create_time TIMESTAMP,
    size_bytes  BIGINT,
    attrs       JSON
);

-- direction is in (an execution read the artifact) or out (it wrote it); role is the channel key.
CREATE TABLE events (
    execution_id BIGINT  NOT NULL,
    artifact_id  BIGINT  NOT NULL,
    direction    VARCHAR NOT NULL,
    role         VARCHAR,
    event_time   TIMESTAMP
);

-- The editable mapping of operator types to the paper's categories; loaders fill
-- executions.category from it, and unknown types fall to 'other'.
CREATE TABLE op_categories (
    op_type  VARCHAR PRIMARY KEY,
    category VARCHAR NOT NULL
);

INSERT INTO op_categories VALUES
    ('ExampleGen', 'ingest'), ('CsvExampleGen', 'ingest'), ('ImportExampleGen', 'ingest'),
    ('BigQueryExampleGen', 'ingest'), ('FileBasedExampleGen', 'ingest'), ('Importer', 'ingest'),
    ('StatisticsGen', 'analyze'), ('SchemaGen', 'analyze'), ('ImportSchemaGen', 'analyze'),
    ('ExampleValidator', 'analyze'), ('DistributionValidator', 'analyze'), ('ExampleDiff', 'analyze'),
    ('Transform', 'transform'),
    ('Trainer', 'train'), ('Tuner', 'train'),
    ('Evaluator', 'validate'), ('ModelValidator', 'validate'), ('InfraValidator', 'validate'),
    ('Pusher', 'deploy'), ('BulkInferrer', 'deploy'),
    ('Resolver', 'other');
