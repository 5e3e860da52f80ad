-- Statements span lines, share lines, and end at a semicolon outside quotes and comments.
SELECT op_type,
       count(*) AS n   -- executions per operator
FROM executions
GROUP BY ALL ORDER BY n DESC, op_type LIMIT 3;
SELECT 'a;b' AS semicolon_in_a_string; SELECT 2 AS second_on_the_line;
/* an open block comment
   running over lines; */ SELECT 'after the comment' AS c;
SELECT $$dollar; quoted$$ AS d;

-- Statements that change things print nothing, except the rows they changed.
CREATE TEMP TABLE scratch AS SELECT range AS i FROM range(5);
INSERT INTO scratch VALUES (5), (6);
SELECT sum(i) AS total FROM scratch;
SET threads = 1;
SELECT current_setting('threads') AS threads;
SELECT 'the last one, without a semicolon' AS tail
