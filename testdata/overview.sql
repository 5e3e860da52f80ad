-- The overview `make demo` prints: rows per table, then executions per operator and state.
SELECT 'pipelines' AS "table", count(*) AS "rows" FROM pipelines
UNION ALL SELECT 'executions', count(*) FROM executions
UNION ALL SELECT 'artifacts', count(*) FROM artifacts
UNION ALL SELECT 'events', count(*) FROM events;

SELECT op_type, category, state, count(*) AS executions, round(sum(cost), 1) AS cost
FROM executions GROUP BY ALL ORDER BY category, op_type, state;
