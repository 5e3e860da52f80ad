package synth

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"mlprov/engine"
	"mlprov/loaders/mlmd"
)

// toMLMD writes the corpus in textDir's CSV files as an MLMD store at path, through
// loaders/mlmd's WriteCorpus: the rows are read into an in-memory store (without loading it:
// nothing is derived) and handed over in id order. MLMD numbers each table's rows from 1 in
// the order they are written, and the generator's ids are dense from 1, so each pipeline
// context, execution and artifact keeps its corpus id: loaded into an empty store, the MLMD
// store gives the native layout's ids, and GroundTruthFile holds for either.
func toMLMD(ctx context.Context, textDir, path string) error {
	e, err := engine.Open(ctx, ":memory:", engine.Options{TempDir: filepath.Join(textDir, "spill")})
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer e.Close()
	for i, t := range engine.Tables {
		// The files hold the layout's columns; the store's own (a pipeline's source_id) get 0:
		// nothing here is a load.
		cols, vals := engine.Names(t.Layout()), "*"
		for _, c := range t.Columns {
			if c.Assigned {
				cols, vals = append(cols, c.Name), vals+", 0"
			}
		}
		q := fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM %s`, t.Name, strings.Join(cols, ", "), vals, readCSV(textDir, i))
		if _, err := e.DB().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("write %s: read %s: %w", filepath.Base(path), t.Name, err)
		}
	}
	c, err := mlmd.ReadCorpus(ctx, e.DB())
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := e.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := denseIDs(c); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := mlmd.WriteCorpus(ctx, path, c); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// denseIDs checks what keeps ids across the two layouts: each table numbered 1, 2, 3...
func denseIDs(c *mlmd.Corpus) error {
	for i, p := range c.Pipelines {
		if p.ID != int64(i+1) {
			return fmt.Errorf("pipeline ids are not dense from 1 (%d at position %d)", p.ID, i+1)
		}
	}
	for i, x := range c.Executions {
		if x.ID != int64(i+1) {
			return fmt.Errorf("execution ids are not dense from 1 (%d at position %d)", x.ID, i+1)
		}
	}
	for i, a := range c.Artifacts {
		if a.ID != int64(i+1) {
			return fmt.Errorf("artifact ids are not dense from 1 (%d at position %d)", a.ID, i+1)
		}
	}
	return nil
}
