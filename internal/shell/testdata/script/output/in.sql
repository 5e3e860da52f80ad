.mode csv
.once $TMP/once.csv
SELECT 1 AS into_the_once_file;
SELECT 2 AS to_the_terminal;
.output $TMP/all.txt
SELECT 3 AS into_the_output_file;
.mode table
.lineage 2007 --up --hops 1
.output
SELECT 4 AS back_on_the_terminal;
