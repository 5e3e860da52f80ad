package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the driver SliceLayout reads and writes with
)

// SliceLayout cuts the history of a native layout in Parquet (what mlprov gen writes) into
// time slices, as a source that grows would be seen at each cut: cuts are fractions of the
// span of execution start times, in increasing order, and slice i (0-based) holds the
// executions that started between cut i-1 and cut i (the last one, the rest), their events,
// the artifacts first named by them (made, or first read, in that slice) and the pipelines
// first seen in it. It writes slice i to out/slice-<i+1> and returns the folders. Each slice
// names rows of earlier slices by their ids, as the native layout allows; loaded one after
// another, the slices make the store a single load of dir makes.
func SliceLayout(ctx context.Context, dir, out string, cuts []float64) ([]string, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	read := func(table string) string {
		return fmt.Sprintf("read_parquet('%s')", strings.ReplaceAll(filepath.Join(dir, table, "*.parquet"), "'", "''"))
	}
	if _, err := os.Stat(filepath.Join(dir, "executions")); err != nil {
		read = func(table string) string {
			return fmt.Sprintf("read_parquet('%s')", strings.ReplaceAll(filepath.Join(dir, table+".parquet"), "'", "''"))
		}
	}
	var bounds []string
	for _, c := range cuts {
		bounds = append(bounds, fmt.Sprintf("min(start_time) + (max(start_time) - min(start_time)) * %g", c))
	}
	qs := []string{
		`SET TimeZone = 'UTC'`,
		fmt.Sprintf(`CREATE TEMP TABLE x AS SELECT * FROM %s`, read("executions")),
		fmt.Sprintf(`CREATE TEMP TABLE a AS SELECT * FROM %s`, read("artifacts")),
		fmt.Sprintf(`CREATE TEMP TABLE e AS SELECT * FROM %s`, read("events")),
		fmt.Sprintf(`CREATE TEMP TABLE p AS SELECT * FROM %s`, read("pipelines")),
		fmt.Sprintf(`CREATE TEMP TABLE cut AS SELECT unnest([%s]) AS at FROM x`, strings.Join(bounds, ", ")),
		`CREATE TEMP TABLE xs AS SELECT execution_id, (SELECT count(*) FROM cut WHERE x.start_time > cut.at) AS slice FROM x`,
		`CREATE TEMP TABLE es AS SELECT e.*, xs.slice FROM e JOIN xs USING (execution_id)`,
		`CREATE TEMP TABLE ars AS SELECT a.artifact_id, coalesce(min(es.slice), 0) AS slice FROM a LEFT JOIN es USING (artifact_id) GROUP BY a.artifact_id`,
		`CREATE TEMP TABLE ps AS SELECT p.pipeline_id, coalesce(least(
			(SELECT min(slice) FROM x JOIN xs USING (execution_id) WHERE x.pipeline_id = p.pipeline_id),
			(SELECT min(slice) FROM a JOIN ars USING (artifact_id) WHERE a.pipeline_id = p.pipeline_id)), 0) AS slice FROM p`,
	}
	for _, q := range qs {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("slice %s: %w", dir, err)
		}
	}
	var dirs []string
	for i := 0; i <= len(cuts); i++ {
		d := filepath.Join(out, fmt.Sprintf("slice-%d", i+1))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		for table, q := range map[string]string{
			"pipelines":  `SELECT p.* FROM p JOIN ps USING (pipeline_id) WHERE ps.slice = %d`,
			"executions": `SELECT x.* FROM x JOIN xs USING (execution_id) WHERE xs.slice = %d`,
			"artifacts":  `SELECT a.* FROM a JOIN ars USING (artifact_id) WHERE ars.slice = %d`,
			"events":     `SELECT * EXCLUDE (slice) FROM es WHERE slice = %d`,
		} {
			path := strings.ReplaceAll(filepath.Join(d, table+".parquet"), "'", "''")
			if _, err := conn.ExecContext(ctx, fmt.Sprintf(`COPY (`+q+`) TO '%s' (FORMAT parquet)`, i, path)); err != nil {
				return nil, fmt.Errorf("slice %s: %s: %w", dir, table, err)
			}
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}
