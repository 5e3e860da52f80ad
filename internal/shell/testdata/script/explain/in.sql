.explain SELECT op_type, count(*) FROM executions WHERE state = 'complete' GROUP BY op_type;
