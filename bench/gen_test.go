package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"mlprov/loaders/synth"
)

// benchScales are the corpus sizes BenchmarkGen sweeps, as fractions of the paper's corpus.
// The paper-scale corpus takes about 20 s per iteration, so it runs only when
// MLPROV_BENCH_SCALES names it (for example MLPROV_BENCH_SCALES=0.01,0.1,1).
func benchScales() []string {
	if s := os.Getenv("MLPROV_BENCH_SCALES"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"0.01", "0.1"}
}

// BenchmarkGen measures `mlprov gen`: simulation, text encoding and, for Parquet, DuckDB's
// conversion of the CSV files. The formats are the alternatives compared: csv and jsonl are
// the Go writer alone, parquet adds the conversion; workers=1 shows what the parallel
// simulation buys on this machine.
func BenchmarkGen(b *testing.B) {
	for _, scale := range benchScales() {
		var f float64
		if _, err := fmt.Sscan(scale, &f); err != nil {
			b.Fatalf("MLPROV_BENCH_SCALES: %q is not a number", scale)
		}
		cfg := synth.DefaultConfig(synth.ScalePipelines(f))
		for _, c := range []struct {
			format  string
			workers int
		}{{"parquet", 0}, {"csv", 0}, {"jsonl", 0}, {"csv", 1}} {
			workers := c.workers
			if workers == 0 {
				workers = runtime.NumCPU()
			}
			name := fmt.Sprintf("scale=%s/format=%s/workers=%d", scale, c.format, workers)
			b.Run(name, func(b *testing.B) {
				root := b.TempDir()
				var st synth.Stats
				i := 0
				for b.Loop() {
					dir := filepath.Join(root, fmt.Sprint(i))
					i++
					var err error
					if st, err = synth.Generate(context.Background(), cfg, dir, synth.Options{Format: c.format, Workers: workers}); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					os.RemoveAll(dir)
					b.StartTimer()
				}
				b.ReportMetric(float64(st.Rows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(st.Bytes)/1e6, "MB")
				b.ReportMetric(float64(st.Trainers), "models")
			})
		}
	}
}
