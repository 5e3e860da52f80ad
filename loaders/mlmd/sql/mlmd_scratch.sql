-- name: mlmd_scratch
-- description: The temporary tables an MLMD load streams raw rows into on the stage's connection, finished by stage_events and abandon.
--
-- mlmd_events holds every lineage event (MLMD ids, direction and rank as EventDirection
-- gives them), mlmd_roles each event's key steps in the order read (seq), mlmd_abandoned
-- the unfinished executions found abandoned, with the end and cost they take.
CREATE OR REPLACE TEMP TABLE mlmd_events (
    execution_id BIGINT  NOT NULL,
    artifact_id  BIGINT  NOT NULL,
    direction    VARCHAR NOT NULL,
    rank         BIGINT  NOT NULL,
    event_id     BIGINT  NOT NULL,
    ms           BIGINT  NOT NULL
);
CREATE OR REPLACE TEMP TABLE mlmd_roles (
    event_id BIGINT  NOT NULL,
    seq      BIGINT  NOT NULL,
    role     VARCHAR NOT NULL
);
CREATE OR REPLACE TEMP TABLE mlmd_abandoned (
    execution_id BIGINT NOT NULL,
    end_time     TIMESTAMP,
    cost         DOUBLE
);
