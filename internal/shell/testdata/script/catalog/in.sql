CREATE TEMP VIEW recent AS SELECT execution_id, op_type FROM executions WHERE start_time >= '2024-03-03';
.tables
.views
.schema events
.schema recent
.help
.help lineage
