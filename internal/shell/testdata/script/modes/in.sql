.mode csv
SELECT pipeline_id, name, attrs FROM pipelines ORDER BY pipeline_id;
.headers off
SELECT pipeline_id, name FROM pipelines ORDER BY pipeline_id;
.headers on
.mode json
SELECT execution_id, op_type, start_time, cost, attrs FROM executions WHERE execution_id IN (101, 106) ORDER BY 1;
.mode markdown
SELECT artifact_id, type, span, version FROM artifacts WHERE artifact_id IN (1001, 1002) ORDER BY 1;
.mode line
SELECT artifact_id, type, span, version FROM artifacts WHERE artifact_id IN (1001, 1002) ORDER BY 1;
.mode table
.headers off
SELECT 1 AS hidden, 'header' AS h;
.headers on
.maxrows 4
SELECT execution_id, op_type FROM executions ORDER BY execution_id;
.maxrows
.maxrows 0
SELECT count(*) AS all_rows_again FROM executions;
.mode
