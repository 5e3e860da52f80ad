package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// exportQuery selects a canonical table's layout columns in a stable order: by its key when
// that is unique, else by every column. With partition, a table without a pipeline_id (events)
// carries its execution's, only so that it can be partitioned by pipeline.
func exportQuery(t Table, partition bool) string {
	cols := make([]string, 0, len(t.Columns))
	for _, c := range t.Layout() {
		cols = append(cols, "t."+c.Name)
	}
	order := cols
	if t.Unique {
		order = []string{"t." + t.Key[0]}
	}
	from := t.Name + " t"
	if partition && !slices.Contains(Names(t.Columns), "pipeline_id") {
		cols = append(cols, "x.pipeline_id")
		from += " JOIN executions x USING (execution_id)"
	}
	return fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", strings.Join(cols, ", "), from, strings.Join(order, ", "))
}

// Export writes the store's canonical tables to dir in the native layout, one file per table
// (or, with partition, one Hive-partitioned folder per table, by pipeline_id). It refuses a
// dir that already holds a layout, so nothing is overwritten by mistake.
func (e *Engine) Export(ctx context.Context, dir, format string, partition bool) error {
	opts, ok := ExportFormats[format]
	if !ok {
		return fmt.Errorf("export: unknown format %q (want %s)", format, orList(FileFormats))
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
	for _, t := range Tables {
		target := filepath.Join(dir, t.Name+ext)
		copyOpts := opts
		if partition {
			target = filepath.Join(dir, t.Name)
			copyOpts = strings.TrimSuffix(opts, ")") + ", PARTITION_BY (pipeline_id), WRITE_PARTITION_COLUMNS true, FILE_EXTENSION '" + format + "')"
		}
		stmt := fmt.Sprintf("COPY (%s) TO '%s' %s", exportQuery(t, partition), strings.ReplaceAll(target, "'", "''"), copyOpts)
		if _, err := e.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("export %s: %w", t.Name, err)
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
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, t := range Tables {
		for _, id := range ids {
			sub := filepath.Join(dir, t.Name, fmt.Sprintf("pipeline_id=%d", id))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			query := fmt.Sprintf("SELECT * FROM (%s) WHERE pipeline_id = %d", exportQuery(t, true), id)
			target := filepath.Join(sub, "data_0.jsonl")
			stmt := fmt.Sprintf("COPY (%s) TO '%s' %s", query, strings.ReplaceAll(target, "'", "''"), opts)
			if _, err := e.db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("export %s: %w", t.Name, err)
			}
		}
	}
	return nil
}
