package synth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"mlprov/engine"
)

// toParquet converts each table's CSV file into Parquet with DuckDB, typed as the store's
// columns. Each table gets its own single-threaded DuckDB: a parallel COPY keeps the rows in
// order but now and then cuts a row group short where its threads meet (seen at paper scale,
// on a busy machine), so the bytes would change from run to run. The tables are converted concurrently, which keeps both cores busy.
func toParquet(ctx context.Context, textDir, dir string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(engine.Tables))
	var wg sync.WaitGroup
	for i := range engine.Tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = convertTable(ctx, textDir, dir, i); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		// The first real failure, not the cancellations it caused.
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

func convertTable(ctx context.Context, textDir, dir string, i int) error {
	t := engine.Tables[i]
	e, err := engine.Open(ctx, ":memory:", engine.Options{Threads: 1, MemoryLimit: "1GB", TempDir: filepath.Join(textDir, "spill-"+t.Name)})
	if err != nil {
		return fmt.Errorf("write %s.parquet: %w", t.Name, err)
	}
	defer e.Close()
	dst := sqlQuote(filepath.Join(dir, t.Name+".parquet"))
	q := fmt.Sprintf(`COPY (SELECT * FROM %s) TO %s (FORMAT parquet, COMPRESSION zstd)`, readCSV(textDir, i), dst)
	if _, err := e.DB().ExecContext(ctx, q); err != nil {
		return fmt.Errorf("write %s.parquet: %w", t.Name, err)
	}
	return e.Close()
}

// readCSV is the table function that reads table i's CSV file typed as the store's columns.
func readCSV(textDir string, i int) string {
	t := engine.Tables[i]
	layout := t.Layout()
	cols := make([]string, len(layout))
	for i, c := range layout {
		cols[i] = fmt.Sprintf("'%s': '%s'", c.Name, c.Type)
	}
	return fmt.Sprintf(`read_csv(%s, header = true, auto_detect = false, columns = {%s}, timestampformat = '%%Y-%%m-%%d %%H:%%M:%%S')`,
		sqlQuote(filepath.Join(textDir, t.Name+".csv")), strings.Join(cols, ", "))
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
