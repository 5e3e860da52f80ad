.explain SELECT op_type, count(*) FROM executions WHERE state = 'complete' GROUP BY op_type;
-- EXPLAIN typed as SQL prints the same drawing in table mode, and the table in the others.
EXPLAIN SELECT count(*) FROM artifacts WHERE type = 'Model';
.mode csv
EXPLAIN SELECT count(*) FROM artifacts WHERE type = 'Model';
