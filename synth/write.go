package synth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"mlprov/engine"
	"mlprov/loaders/mlmd"
)

// MLMDFile is the MLMD store's name in the folder, the name TFX gives its local store.
const MLMDFile = mlmd.StoreFile

// Stats counts what Generate wrote.
type Stats struct {
	Pipelines, Executions, Artifacts, Events int64
	// Trainers is the number of Trainer executions (lines of ground_truth.jsonl), Trained how
	// many of them completed (the trained models), Pushed how many pushed a model.
	Trainers, Trained, Pushed int64
	// Bytes is the size of the written files.
	Bytes int64
}

// Rows is the number of rows over the four tables.
func (s Stats) Rows() int64 { return s.Pipelines + s.Executions + s.Artifacts + s.Events }

// Options tune a run of Generate.
type Options struct {
	// Format is one of engine.FileFormats, parquet (the default), csv or jsonl, for the
	// native layout, or engine.FormatMLMD for one MLMD SQLite store, MLMDFile, which
	// loaders/mlmd reads.
	Format string
	// Workers simulate pipelines in parallel; 0 means one per core.
	Workers int
	// Progress, when set, is called after each pipeline with the number done so far.
	Progress func(done, total int)
	// Step, when set, receives a short line per phase of the run.
	Step func(step string)
}

// GroundTruthFile is the side file, beside the tables, with one line per Trainer execution:
// the probability of a push the hidden mechanism used, and the outcome it drew.
const GroundTruthFile = "ground_truth.jsonl"

// Generate writes the corpus cfg describes into dir (created if needed; it must be empty) in
// mlprov's native layout, or as an MLMD store (engine.FormatMLMD), plus GroundTruthFile. The same
// cfg always gives the same bytes. It stops at ctx's cancellation and leaves a partial dir
// behind.
func Generate(ctx context.Context, cfg Config, dir string, opts Options) (Stats, error) {
	var st Stats
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	format := opts.Format
	if format == "" {
		format = "parquet"
	}
	if !validFormat(format) {
		return st, fmt.Errorf("unknown format %q (want %s or %s)", format, strings.Join(engine.FileFormats, ", "), engine.FormatMLMD)
	}
	if err := emptyDir(dir); err != nil {
		return st, err
	}
	step := func(format string, args ...any) {
		if opts.Step != nil {
			opts.Step(fmt.Sprintf(format, args...))
		}
	}
	// Parquet goes through CSV files that DuckDB converts: its readers and writer are faster
	// than anything we would write in Go, and they keep the files' order. MLMD goes through
	// the same CSV files, read back as canonical rows.
	textFormat, textDir := format, dir
	if format == "parquet" || format == engine.FormatMLMD {
		textFormat, textDir = "csv", filepath.Join(dir, ".gen-csv")
		if err := os.MkdirAll(textDir, 0o755); err != nil {
			return st, fmt.Errorf("generate: %w", err)
		}
	}
	step("simulating %d pipelines over %d days (seed %d)", cfg.Pipelines, cfg.Days, cfg.Seed)
	w, err := newCorpusWriter(dir, textDir, textFormat, cfg.Start)
	if err != nil {
		return st, err
	}
	if err := simulateAll(ctx, &cfg, opts, w); err != nil {
		w.close()
		return st, err
	}
	if err := w.close(); err != nil {
		return st, fmt.Errorf("generate: %w", err)
	}
	st = w.stats
	switch format {
	case "parquet":
		step("writing Parquet")
		if err := toParquet(ctx, textDir, dir); err != nil {
			return st, err
		}
	case engine.FormatMLMD:
		step("writing the MLMD store %s", MLMDFile)
		if err := toMLMD(ctx, textDir, filepath.Join(dir, MLMDFile)); err != nil {
			return st, err
		}
	}
	if textDir != dir {
		if err := os.RemoveAll(textDir); err != nil {
			return st, fmt.Errorf("generate: %w", err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return st, fmt.Errorf("generate: %w", err)
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			st.Bytes += fi.Size()
		}
	}
	return st, nil
}

func validFormat(f string) bool {
	return slices.Contains(engine.FileFormats, f) || f == engine.FormatMLMD
}

func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("generate: %s is not empty: choose a new folder", dir)
	}
	return nil
}

// simulateAll runs the pipelines on worker goroutines and hands their batches to the writer
// in pipeline order, so ids and bytes do not depend on scheduling. At most a few batches per
// worker wait in memory.
func simulateAll(ctx context.Context, cfg *Config, opts Options, w *corpusWriter) error {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	n := cfg.Pipelines
	classes := rateClasses(cfg)
	type result struct {
		b    *batch
		name string
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	pool := sync.Pool{New: func() any { return new(batch) }}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// tokens bound how far the workers run ahead of the writer.
	tokens := make(chan struct{}, 2*workers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				b := pool.Get().(*batch)
				b.reset()
				s := newSim(cfg, classes, i, b)
				s.simulate()
				results[i] <- result{b, s.name()}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range n {
		// select picks at random among ready cases: check first, so cancellation always wins.
		if err = ctx.Err(); err != nil {
			break
		}
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		<-tokens
		if err = w.write(int64(i)+1, r.name, r.b); err != nil {
			break
		}
		pool.Put(r.b)
		if opts.Progress != nil {
			opts.Progress(i+1, n)
		}
	}
	// Cancelling stops the dispatcher, which closes next; results are buffered, so no
	// worker is left blocked.
	cancel()
	wg.Wait()
	return err
}
