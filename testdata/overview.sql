-- The overview `make demo` prints: rows per table, then executions per operator type and state.
SELECT 'pipelines' AS "table", count(*) AS "rows" FROM pipelines
UNION ALL SELECT 'executions', count(*) FROM executions
UNION ALL SELECT 'artifacts', count(*) FROM artifacts
UNION ALL SELECT 'events', count(*) FROM events;

SELECT op_type, category,
       count(*) FILTER (WHERE state = 'complete') AS complete,
       count(*) FILTER (WHERE state = 'cached') AS cached,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       count(*) FILTER (WHERE state IN ('running', 'canceled')) AS other,
       round(sum(cost)) AS cost
FROM executions
GROUP BY ALL
ORDER BY category, op_type;
