-- Read by ../read/in.sql: statements and dot-commands, as typed at the prompt.
.mode csv
SELECT name FROM pipelines ORDER BY name;
