SELECT 'before' AS x;
.read testdata/script/read/part.sql
SELECT 'after, still in csv' AS x;
