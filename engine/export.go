package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// csvDialect is the CSV dialect Export writes and the native loader reads: every part is
// fixed, so no reader has to guess it from the first rows. An empty field is NULL and a
// quoted empty field ("") an empty string.
var csvDialect = [][2]string{{"header", "true"}, {"delim", "','"}, {"quote", `'"'`}, {"escape", `'"'`}}

// CSVDialect spells the dialect as read_csv arguments, such as header = true, delim = ','.
var CSVDialect = dialect(" = ")

func dialect(sep string) string {
	parts := make([]string, len(csvDialect))
	for i, d := range csvDialect {
		parts[i] = d[0] + sep + d[1]
	}
	return strings.Join(parts, ", ")
}

// ExportFormats are the file formats Export writes, by name, as COPY options; each is read
// back by the native loader.
var ExportFormats = map[string]string{
	"parquet": "(FORMAT parquet, COMPRESSION zstd)",
	"csv":     "(FORMAT csv, " + dialect(" ") + ")",
	"jsonl":   "(FORMAT json)",
}

// exportQueries select each canonical table in a stable order. Events carry their
// execution's pipeline_id only so that they can be partitioned by pipeline.
var exportQueries = []struct{ table, query string }{
	{"pipelines", `SELECT pipeline_id, name, attrs FROM pipelines ORDER BY pipeline_id`},
	{"executions", `SELECT * FROM executions ORDER BY execution_id`},
	{"artifacts", `SELECT * FROM artifacts ORDER BY artifact_id`},
	{"events", `SELECT e.*, x.pipeline_id FROM events e JOIN executions x USING (execution_id)
		ORDER BY e.execution_id, e.artifact_id, e.direction, e.role, e.event_time`},
}

// Export writes the store's canonical tables to dir in the native layout, one file per table
// (or, with partition, one Hive-partitioned folder per table, by pipeline_id). It refuses a
// dir that already holds a layout, so nothing is overwritten by mistake.
func (e *Engine) Export(ctx context.Context, dir, format string, partition bool) error {
	opts, ok := ExportFormats[format]
	if !ok {
		return fmt.Errorf("export: unknown format %q (want parquet, csv or jsonl)", format)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("export: %s is not empty: choose a new folder", dir)
	}
	if partition && format == "jsonl" {
		return e.exportJSONPartitions(ctx, dir, opts)
	}
	ext := "." + format
	for _, q := range exportQueries {
		query := q.query
		target := filepath.Join(dir, q.table+ext)
		copyOpts := opts
		if partition {
			target = filepath.Join(dir, q.table)
			copyOpts = strings.TrimSuffix(opts, ")") + ", PARTITION_BY (pipeline_id), WRITE_PARTITION_COLUMNS true, FILE_EXTENSION '" + format + "')"
		} else if q.table == "events" {
			query = strings.Replace(query, "e.*, x.pipeline_id", "e.*", 1)
		}
		stmt := fmt.Sprintf("COPY (%s) TO '%s' %s", query, strings.ReplaceAll(target, "'", "''"), copyOpts)
		if _, err := e.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("export %s: %w", q.table, err)
		}
	}
	return nil
}

// exportJSONPartitions writes one JSON lines file per table and pipeline, in the folders
// DuckDB's PARTITION_BY makes for the other formats (it does not partition JSON itself).
func (e *Engine) exportJSONPartitions(ctx context.Context, dir, opts string) error {
	rows, err := e.db.QueryContext(ctx, `SELECT pipeline_id FROM pipelines ORDER BY pipeline_id`)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("export: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, q := range exportQueries {
		for _, id := range ids {
			sub := filepath.Join(dir, q.table, fmt.Sprintf("pipeline_id=%d", id))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			query := fmt.Sprintf("SELECT * FROM (%s) WHERE pipeline_id = %d", q.query, id)
			target := filepath.Join(sub, "data_0.jsonl")
			stmt := fmt.Sprintf("COPY (%s) TO '%s' %s", query, strings.ReplaceAll(target, "'", "''"), opts)
			if _, err := e.db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("export %s: %w", q.table, err)
			}
		}
	}
	return nil
}
