SELECT 'fine' AS x;

SELECT * FROM nope;
SELECT 'not reached' AS x;
