// Package native loads mlprov's own layout: a directory holding pipelines, executions,
// artifacts and events, each as one file (executions.parquet, executions.csv,
// executions.jsonl) or as a folder of such files (Hive-partitioned sub-folders included),
// with the store's column names. It is what `mlprov export` and `mlprov gen` write.
package native

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mlprov/engine"
)

// Loader reads the native layout. Its zero value is ready to use.
type Loader struct{}

var _ engine.Loader = (*Loader)(nil)

// Format implements engine.Loader.
func (*Loader) Format() string { return engine.FormatNative }

// extensions maps a file ending to its reader.
var extensions = map[string]string{
	".parquet": "parquet",
	".csv":     "csv",
	".jsonl":   "json",
	".ndjson":  "json",
	".json":    "json",
}

// tableFiles finds the files of one table in dir: table.<ext> or table/**/*.<ext>.
// All files of a table must share one reader. Anything but a regular file (a pipe, a device)
// is refused, since it cannot be read twice (once for the fingerprint, once for the rows).
func tableFiles(dir, table string) (files []string, reader string, err error) {
	add := func(p string) error {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := engine.CheckRegular(p, fi); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	for ext := range extensions {
		p := filepath.Join(dir, table+ext)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			if err := add(p); err != nil {
				return nil, "", err
			}
		}
	}
	sub := filepath.Join(dir, table)
	if fi, err := os.Stat(sub); err == nil && fi.IsDir() {
		err := filepath.WalkDir(sub, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && extensions[filepath.Ext(p)] != "" {
				return add(p)
			}
			return nil
		})
		if err != nil {
			return nil, "", err
		}
	}
	sort.Strings(files)
	for _, f := range files {
		r := extensions[filepath.Ext(f)]
		if reader != "" && r != reader {
			return nil, "", fmt.Errorf("%s: files of one table mix formats (%s and %s): keep one", table, reader, r)
		}
		reader = r
	}
	return files, reader, nil
}

// Detect implements engine.Loader: a directory with an executions table.
func (*Loader) Detect(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	// A folder whose executions table cannot be listed (a pipe among its files) is native
	// still: loading it then says what is wrong.
	files, _, err := tableFiles(path, "executions")
	return err != nil || len(files) > 0
}

// Fingerprint implements engine.Loader: a SHA-256 over every table file's relative path and content.
func (*Loader) Fingerprint(ctx context.Context, dir string) (string, error) {
	h := sha256.New()
	for _, t := range engine.Tables {
		files, _, err := tableFiles(dir, t.Name)
		if err != nil {
			return "", err
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			rel, _ := filepath.Rel(dir, f)
			fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
			if err := hashFile(h, f); err != nil {
				return "", err
			}
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

var errNoExecutions = errors.New("no executions file (want executions.parquet, executions.csv or executions.jsonl, or a folder executions/ of them)")

// Stage implements engine.Loader. An empty or missing executions table is an error; an
// empty or missing events table is allowed but said, since without events no graphlet can
// be derived.
func (*Loader) Stage(ctx context.Context, st *engine.Stage, dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("not a directory: the native layout is a folder of pipelines, executions, artifacts and events files")
	}
	for _, t := range engine.Tables {
		files, reader, err := tableFiles(dir, t.Name)
		if err != nil {
			return err
		}
		// A zero-byte file holds no rows (a JSON lines export of an empty table is one), and
		// DuckDB's CSV reader would invent a column for it.
		var nonEmpty []string
		for _, f := range files {
			if fi, err := os.Stat(f); err != nil {
				return err
			} else if fi.Size() > 0 {
				nonEmpty = append(nonEmpty, f)
			}
		}
		var n int64
		if len(nonEmpty) > 0 {
			st.Step("reading %s (%d files)", t.Name, len(nonEmpty))
			for start := 0; start < len(nonEmpty); start += batchFiles {
				batch := nonEmpty[start:min(start+batchFiles, len(nonEmpty))]
				m, err := stageTable(ctx, st.Conn, dir, t, batch, reader)
				if err != nil {
					return err
				}
				n += m
			}
		}
		if n > 0 {
			continue
		}
		switch {
		case t.Name == "executions" && len(files) == 0:
			return errNoExecutions
		case t.Name == "executions":
			return fmt.Errorf("%s: %w", tableLabel(dir, t.Name, files), engine.ErrNothingToLoad)
		case t.Name == "events" && len(files) == 0:
			st.Warn("no events file: no execution is linked to an artifact, so no graphlets are derived from this source")
		case t.Name == "events":
			st.Warn("%s holds no events: no execution is linked to an artifact, so no graphlets are derived from this source", tableLabel(dir, t.Name, files))
		}
	}
	return nil
}

// batchFiles is how many files one read of a table takes: DuckDB holds a reader and its
// buffers per file of a read, so a folder of many small files is read a batch at a time.
const batchFiles = 256

// tableLabel names a table's files in messages: the file, or the folder and its file count.
func tableLabel(dir, table string, files []string) string {
	if len(files) == 1 {
		if rel, err := filepath.Rel(dir, files[0]); err == nil {
			return filepath.ToSlash(rel)
		}
		return files[0]
	}
	return fmt.Sprintf("%s/ (%d files)", table, len(files))
}

// quoteList lists files as SQL strings for DuckDB's readers. The readers expand *, ? and
// [ as patterns, so each is escaped as a one-character class: paths are always literal.
func quoteList(files []string) string {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = "'" + strings.ReplaceAll(globEscaper.Replace(f), "'", "''") + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

var globEscaper = strings.NewReplacer("*", "[*]", "?", "[?]", "[", "[[]")

// stageTable reads some of one table's files as a raw temp table (a view of Parquet files),
// checks that every value has the canonical type, and copies the rows into stage_<table>. It
// returns how many rows it staged.
func stageTable(ctx context.Context, conn *sql.Conn, dir string, t engine.Table, files []string, reader string) (int64, error) {
	table, cols := t.Name, t.Layout()
	// What one table's files are called in messages: the file itself, or the folder.
	label := func(f string) string {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return f
		}
		return filepath.ToSlash(rel)
	}
	var src string
	switch reader {
	case "parquet":
		src = fmt.Sprintf("read_parquet(%s, filename = true, union_by_name = true, hive_partitioning = true)", quoteList(files))
	case "csv":
		// The dialect is the one Export writes, never sniffed: a sniffer guesses from the first
		// rows and misreads a value quoted further down. Every column is read as text and
		// typed below; a quoted empty string stays an empty string, an empty field is NULL.
		src = fmt.Sprintf("read_csv(%s, %s, all_varchar = true, allow_quoted_nulls = false, filename = true, union_by_name = true, hive_partitioning = true)", quoteList(files), engine.CSVDialect)
	case "json":
		spec := make([]string, len(cols))
		for i, c := range cols {
			typ := "VARCHAR"
			if c.Type == "JSON" {
				typ = "JSON"
			}
			spec[i] = fmt.Sprintf("'%s': '%s'", c.Name, typ)
		}
		src = fmt.Sprintf("read_json(%s, format = 'newline_delimited', columns = {%s}, filename = true, hive_partitioning = false)", quoteList(files), strings.Join(spec, ", "))
	}
	// Text is parsed once, into a table the checks and the copy read; Parquet is typed and
	// read fast, so it is read where it lies, through a view.
	raw, kind := "raw_"+table, "TABLE"
	if reader == "parquet" {
		kind = "VIEW"
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP %s %s AS SELECT * FROM %s", kind, raw, src)); err != nil {
		return 0, readError(table, files, label, err)
	}
	// A temp table left by a failed drop goes with the load's connection.
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("DROP %s IF EXISTS %s", kind, raw))
	}()

	types, err := columnTypes(ctx, conn, raw)
	if err != nil {
		return 0, err
	}
	var exprs, bad, record []string
	for _, c := range t.Columns {
		rawType, ok := types[c.Name]
		switch {
		case c.Assigned:
			// The store's, not the file's: the engine assigns it (a pipeline's source_id).
			exprs = append(exprs, "NULL")
			continue
		case !ok:
			if c.Required && reader != "json" {
				return 0, fmt.Errorf("%s: missing column %s (the %s table needs %s)", label(files[0]), c.Name, table, requiredNames(cols))
			}
			exprs = append(exprs, fmt.Sprintf("NULL::%s", c.Type))
			continue
		}
		conv := convert(c, rawType)
		exprs = append(exprs, conv)
		if rawType == c.Type {
			continue // a value of the canonical type is one
		}
		bad = append(bad, fmt.Sprintf(`CASE WHEN %[1]s IS NOT NULL AND %[2]s IS NULL THEN '%[1]s "' || %[1]s::VARCHAR || '" is not a %[3]s' END`, c.Name, conv, strings.ToLower(c.Type)))
	}
	for _, k := range t.Key {
		record = append(record, fmt.Sprintf(`'%[1]s ' || coalesce(%[1]s::VARCHAR, 'NULL')`, k))
	}
	if len(bad) > 0 {
		if err := checkTypes(ctx, conn, table, raw, record, bad, label); err != nil {
			return 0, err
		}
	}
	srcExpr := fmt.Sprintf("replace(filename, '%s', '')", strings.ReplaceAll(filepath.Clean(dir)+string(filepath.Separator), "'", "''"))
	ins := fmt.Sprintf("INSERT INTO stage_%s SELECT %s, %s FROM %s", table, strings.Join(exprs, ", "), srcExpr, raw)
	r, err := conn.ExecContext(ctx, ins)
	if err != nil {
		// A view reads the files here: what is wrong in one shows here.
		return 0, readError(table, files, label, err)
	}
	return r.RowsAffected()
}

// checkTypes returns the rows of the raw table whose values bad finds not of their column's
// canonical type, each named by its file and its record (the table's key).
func checkTypes(ctx context.Context, conn *sql.Conn, table, raw string, record, bad []string, label func(string) string) error {
	q := fmt.Sprintf(`SELECT filename, %s, concat_ws('; ', %s) AS problem, count(*) OVER ()
		FROM %s WHERE problem <> '' ORDER BY filename LIMIT 5`,
		strings.Join(record, " || ' ' || "), strings.Join(bad, ", "), raw)
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: check types: %w", table, err)
	}
	defer rows.Close()
	var samples []string
	var total int64
	for rows.Next() {
		var file, rec, problem string
		if err := rows.Scan(&file, &rec, &problem, &total); err != nil {
			return err
		}
		samples = append(samples, fmt.Sprintf("%s: %s: %s", label(file), rec, problem))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if total > 0 {
		return &engine.ValidationError{Problem: "values of the wrong type", Rows: total, Samples: samples}
	}
	return nil
}

// convert is the SQL that turns a raw column into the canonical type, NULL where it cannot.
func convert(c engine.Column, rawType string) string {
	switch {
	case c.Type == "JSON" && (rawType == "VARCHAR" || rawType == "JSON"):
		return fmt.Sprintf("TRY_CAST(%s AS JSON)", c.Name)
	case c.Type == "JSON":
		return fmt.Sprintf("to_json(%s)", c.Name)
	case c.Type == "TIMESTAMP" && rawType == "VARCHAR":
		// Text times may carry an offset: read them as instants and keep UTC.
		return fmt.Sprintf("(TRY_CAST(%s AS TIMESTAMPTZ) AT TIME ZONE 'UTC')", c.Name)
	case c.Type == "TIMESTAMP" && rawType == "TIMESTAMP WITH TIME ZONE":
		return fmt.Sprintf("(%s AT TIME ZONE 'UTC')", c.Name)
	}
	return fmt.Sprintf("TRY_CAST(%s AS %s)", c.Name, c.Type)
}

func requiredNames(cols []engine.Column) string {
	var names []string
	for _, c := range cols {
		if c.Required {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}

func columnTypes(ctx context.Context, conn *sql.Conn, table string) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' AND table_catalog = 'temp'`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		types[strings.ToLower(n)] = t
	}
	return types, rows.Err()
}

// readError names the table's files in DuckDB's reader errors, which name the file only
// sometimes, and says what a truncated or foreign file most likely is.
func readError(table string, files []string, label func(string) string, err error) error {
	msg := err.Error()
	name := label(files[0])
	if len(files) > 1 {
		name = table + "/ (" + fmt.Sprint(len(files)) + " files)"
	}
	for _, f := range files {
		if strings.Contains(msg, f) {
			name = label(f)
			msg = strings.ReplaceAll(msg, f, name)
		}
	}
	switch {
	case strings.Contains(msg, "No magic bytes"), strings.Contains(msg, "too small to be a Parquet file"):
		return fmt.Errorf("%s: not a readable Parquet file (truncated or not Parquet): %s", name, firstLine(msg))
	case strings.Contains(msg, "Malformed JSON"):
		return fmt.Errorf("%s: not valid JSON lines: %s", name, firstLine(msg))
	}
	return fmt.Errorf("%s: %s", name, firstLine(msg))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
