package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"mlprov/synth"
)

// The Go benchmarks run the same cases as `mlprov bench`, on one Runner, so that the skip rule
// and the agreement checks hold across them: go test -run '^$' -bench . ./bench/
var benchRunner = &Runner{Seed: synth.DefaultSeed, Log: func(s string) { fmt.Fprintln(os.Stderr, "bench:", s) }}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := benchRunner.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// benchScales are the corpus sizes the benchmarks sweep, as fractions of the paper's corpus.
// The paper-scale corpus takes minutes per benchmark, so it runs only when
// MLPROV_BENCH_SCALES names it (for example MLPROV_BENCH_SCALES=0.01,0.1,1).
func benchScales(b *testing.B) []float64 {
	s := os.Getenv("MLPROV_BENCH_SCALES")
	if s == "" {
		s = "0.01,0.1"
	}
	var scales []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			b.Fatalf("MLPROV_BENCH_SCALES: %q is not a positive number", f)
		}
		scales = append(scales, v)
	}
	return scales
}

// benchmark runs every case of one Go benchmark at each scale, as sub-benchmarks named as
// `mlprov bench` names them.
func benchmark(b *testing.B, bench string) {
	cs, err := Cases()
	if err != nil {
		b.Fatal(err)
	}
	for _, scale := range benchScales(b) {
		for _, c := range cs {
			if c.Bench != bench {
				continue
			}
			b.Run(strings.TrimPrefix(c.BenchName(scale), "Benchmark"+bench+"/"), func(b *testing.B) {
				if reason := benchRunner.Skip(c, scale); reason != "" {
					benchRunner.skipped(c, scale, reason)
					benchRunner.Log(c.BenchName(scale) + " " + reason) // b.Skip shows it only with -v
					b.Skip(reason)
				}
				ctx := context.Background()
				env, err := benchRunner.Env(ctx, scale)
				if err != nil {
					b.Fatal(err)
				}
				var out Outcome
				for b.Loop() {
					if out, err = c.run(ctx, env, b); err != nil {
						b.Fatal(err)
					}
				}
				res, err := benchRunner.Record(ctx, c, scale, b.N, b.Elapsed(), out)
				if err != nil {
					b.Fatal(err)
				}
				if res.Agree != nil && !*res.Agree {
					b.Errorf("%s found %+v, which disagrees with the reference", c.Label(), out.Check)
				}
				for _, m := range res.Metrics {
					b.ReportMetric(m.Value, m.Unit)
				}
			})
		}
	}
}

// BenchmarkGen measures `mlprov gen` in each format: parquet (the default) converts CSV with
// DuckDB, csv and jsonl are the Go writer alone, mlmd writes an MLMD store row by row.
func BenchmarkGen(b *testing.B) { benchmark(b, "Gen") }

// BenchmarkLoad measures `mlprov load` of the same corpus from Parquet and from MLMD, each into
// a new file store, materialization included; both must give the same graphlets.
func BenchmarkLoad(b *testing.B) { benchmark(b, "Load") }

// BenchmarkMaterialize measures rebuilding every derived table of a loaded store.
func BenchmarkMaterialize(b *testing.B) { benchmark(b, "Materialize") }

// BenchmarkAnalysis measures each canned analysis on a loaded store.
func BenchmarkAnalysis(b *testing.B) { benchmark(b, "Analysis") }

// BenchmarkPrune measures the pruning study on a loaded store.
func BenchmarkPrune(b *testing.B) { benchmark(b, "Prune") }

// BenchmarkGraphlets compares the ways of deriving graphlet executions; each must find the
// members graphlet_executions holds.
func BenchmarkGraphlets(b *testing.B) { benchmark(b, "Graphlets") }

// BenchmarkRefresh compares bringing the derived tables up to date after the last few percent
// of history is added: a full materialize against the incremental refresh.
func BenchmarkRefresh(b *testing.B) { benchmark(b, "Refresh") }

// BenchmarkAdvise measures mlprov advise on a loaded store with a kept pruning model: a call
// reads one pipeline, computes its features and scores them.
func BenchmarkAdvise(b *testing.B) { benchmark(b, "Advise") }
