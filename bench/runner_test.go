package bench

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"mlprov/synth"
)

// TestSkipRule: an alternative more than SlowFactor times slower than its default at one
// scale is skipped at every larger scale, and the reason names the ratio; the default and
// one-way benchmarks always run.
func TestSkipRule(t *testing.T) {
	ctx := context.Background()
	def := Case{Bench: "Graphlets", Name: "graphlets", Alt: "union", Sub: "alt=union", Default: true}
	slow := Case{Bench: "Graphlets", Name: "graphlets", Alt: "slow", Sub: "alt=slow"}
	near := Case{Bench: "Graphlets", Name: "graphlets", Alt: "close", Sub: "alt=close"}
	one := Case{Bench: "Prune", Name: "prune"}
	r := &Runner{}
	for _, rec := range []struct {
		c   Case
		sec float64
	}{{def, 1}, {slow, 10.5}, {near, 9.9}, {one, 100}} {
		if _, err := r.Record(ctx, rec.c, 0.01, 1, time.Duration(rec.sec*float64(time.Second)), Outcome{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Skip(slow, 0.01); got != "" {
		t.Errorf("skipped at the scale it was measured at: %q", got)
	}
	if got, want := r.Skip(slow, 0.1), "skipped: 10.5x slower than union at scale 0.01"; got != want {
		t.Errorf("Skip(slow, 0.1) = %q, want %q", got, want)
	}
	for _, c := range []Case{def, near, one} {
		if got := r.Skip(c, 0.1); got != "" {
			t.Errorf("%s skipped: %q", c.Label(), got)
		}
	}
	// Once skipped, skipped at every larger scale, for the first reason.
	r.skipped(slow, 0.1, r.Skip(slow, 0.1))
	if got := r.Skip(slow, 1); !strings.Contains(got, "at scale 0.01") {
		t.Errorf("Skip(slow, 1) = %q, want the reason found at 0.01", got)
	}
	res := r.Results()
	if len(res) != 5 || res[1].Ratio != 10.5 || res[0].Ratio != 1 || res[3].Ratio != 0 {
		t.Errorf("results %+v", res)
	}
}

// TestBenchLine: the lines parse as Go benchmark results (name-procs, iterations, then
// value-unit pairs), and skipped results print none.
func TestBenchLine(t *testing.T) {
	c := Case{Bench: "Graphlets", Name: "graphlets", Alt: "union", Sub: "alt=union", Default: true}
	r := &Runner{}
	res, err := r.Record(context.Background(), c, 0.1, 3, 1500*time.Millisecond, Outcome{Graphlets: 45059, Rows: 596425})
	if err != nil {
		t.Fatal(err)
	}
	line := res.BenchLine()
	want := regexp.MustCompile(`^BenchmarkGraphlets/scale=0\.1/alt=union-\d+\t3\t500000000 ns/op\t1192850 members/s\t90118 graphlets/s$`)
	if !want.MatchString(line) {
		t.Errorf("line %q does not match %s", line, want)
	}
	if (Result{Skipped: "skipped: slow"}).BenchLine() != "" {
		t.Error("a skipped result printed a line")
	}
	for v, want := range map[float64]string{1234567.8: "1234568", 123.456: "123.5", 12.345: "12.35", 1.2345: "1.234", 0.012345: "0.01235", 0: "0"} {
		if got := pretty(v); got != want {
			t.Errorf("pretty(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestSelect picks benchmarks and alternatives as --only does, keeping each default.
func TestSelect(t *testing.T) {
	cs, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	labels := func(cs []Case) string {
		var ls []string
		for _, c := range cs {
			ls = append(ls, c.Label())
		}
		return strings.Join(ls, " ")
	}
	for only, want := range map[string]string{
		"graphlets/go_bfs":  "graphlets/union graphlets/go_bfs",
		"load,prune":        "load/native load/mlmd prune",
		"analysis/headline": "analysis/headline",
		"graphlets":         "graphlets/union graphlets/using_key graphlets/fixed_depth graphlets/go_bfs graphlets/mlmd_walk",
	} {
		got, err := Select(cs, strings.Split(only, ","))
		if err != nil {
			t.Fatal(err)
		}
		if labels(got) != want {
			t.Errorf("Select(%s) = %s, want %s", only, labels(got), want)
		}
	}
	if got, _ := Select(cs, []string{"analysis"}); len(got) < 10 {
		t.Errorf("Select(analysis) kept %d cases", len(got))
	}
	if _, err := Select(cs, []string{"nope"}); err == nil {
		t.Error("an unknown benchmark was accepted")
	}
}

// TestRunAll runs every case on a corpus of nine pipelines (fewer can leave the pruning
// study's replayed period without a push): each agrees with its reference, nothing fails, and
// a second corpus request is served from the cache.
func TestRunAll(t *testing.T) {
	ctx := context.Background()
	var generated []string
	r := &Runner{CacheDir: t.TempDir(), Seed: synth.DefaultSeed, MinTime: time.Millisecond, Explain: true,
		Log: func(s string) {
			if strings.HasPrefix(s, "generated ") {
				generated = append(generated, s)
			}
		}}
	defer r.Close()
	cs, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	const scale = 0.003
	results, err := r.Run(ctx, cs, []float64{scale}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(cs) {
		t.Fatalf("%d results for %d cases", len(results), len(cs))
	}
	var graphlets int64
	for _, res := range results {
		switch {
		case res.Skipped != "":
			t.Errorf("%s skipped at the first scale: %s", res.BenchName, res.Skipped)
		case res.Seconds <= 0 || res.Iterations < 1:
			t.Errorf("%s: %v s in %d iterations", res.BenchName, res.Seconds, res.Iterations)
		case res.Agree != nil && !*res.Agree:
			t.Errorf("%s disagrees with its reference", res.BenchName)
		case (res.Name == "graphlets" || res.Name == "load" || res.Name == "gen") && res.Agree == nil:
			t.Errorf("%s was not checked", res.BenchName)
		case res.Name == "graphlets" && res.Alternative != "mlmd_walk" && res.Alternative != "go_bfs" && res.Explain == "":
			t.Errorf("%s has no EXPLAIN ANALYZE", res.BenchName)
		}
		if res.Name == "graphlets" && res.Default {
			graphlets = res.Graphlets
		}
	}
	if graphlets < 100 {
		t.Errorf("the graphlets benchmark found %d graphlets", graphlets)
	}
	if len(generated) != 2 {
		t.Errorf("generated %q, want the Parquet and the MLMD corpus", generated)
	}
	c, err := LoadCorpus(ctx, r.CacheDir, scale, synth.DefaultSeed, func(s string) { t.Errorf("generated again: %s", s) })
	if err != nil || c.Stats.Trainers != graphlets {
		t.Errorf("cached corpus: %v, %d trainers", err, c.Stats.Trainers)
	}
	if k1, _ := corpusKey(scale, ScaleConfig(scale, 1)); k1 == "" || strings.Contains(k1, "seed20210620") {
		t.Errorf("another seed keys the cache as %q", k1)
	}
}

// The MLMD store of a corpus is written when a benchmark first asks for it, once.
func TestMLMDCorpusOnDemand(t *testing.T) {
	ctx := context.Background()
	var generated []string
	c, err := LoadCorpus(ctx, t.TempDir(), 0.003, synth.DefaultSeed, func(s string) { generated = append(generated, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) != 1 || !strings.Contains(generated[0], "as Parquet") {
		t.Fatalf("generated %q, want the Parquet corpus alone", generated)
	}
	for range 2 {
		path, err := c.MLMD(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	}
	if len(generated) != 2 || !strings.Contains(generated[1], "MLMD store") {
		t.Errorf("generated %q, want the MLMD store once after the Parquet corpus", generated)
	}
}
