//go:build calibration

package synth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The tests in this file run at the paper's scale: `make calibrate` runs them.

// The paper's figures that one corpus must match, per pipeline of the paper's corpus: 450K
// Trainer runs over 3000 pipelines, about 7 retrainings per pipeline per day, 30-40% of
// Trainer runs not pushed.
const (
	paperTrainersPerPipeline = 450_000.0 / PaperPipelines
	paperMeanPerDay          = 7.0
	steadyTolerance          = 0.35
)

// TestCalibrationSeeds simulates corpora (without writing files) at a tenth of the paper's
// scale for eight seeds and at the paper's scale for four, and checks every corpus against
// the paper's figures: a user asking for a scale gets that share of the paper on any seed, not
// one draw of a heavy-tailed sample. At the paper's scale it also checks the averages. Run it
// with `make calibrate`.
func TestCalibrationSeeds(t *testing.T) {
	runs := []struct {
		scale float64
		seeds []uint64
	}{
		{0.1, []uint64{1, 2, 3, 4, 5, 6, 7, 8}},
		{1, []uint64{DefaultSeed, 1, 2, 3}},
	}
	for _, run := range runs {
		var sum struct{ models, mean, over, notPushed float64 }
		var report strings.Builder
		fmt.Fprintf(&report, "scale %g\n", run.scale)
		for _, seed := range run.seeds {
			cfg := DefaultConfig(ScalePipelines(run.scale))
			cfg.Seed = seed
			c := measure(&cfg)
			fmt.Fprintf(&report, "seed %-8d  trainers %7d (%7d complete)  per day mean %5.2f median %4.2f  above 100/day %4.2f%%  not pushed %4.1f%%  executions %8d  artifacts %8d  events %8d\n",
				seed, c.models, c.completed, c.mean, c.median, 100*c.over, 100*c.notPushed, c.execs, c.arts, c.events)
			sum.models += float64(c.models)
			sum.mean += c.mean
			sum.over += c.over
			sum.notPushed += c.notPushed
			trainers := paperTrainersPerPipeline * float64(cfg.Pipelines)
			for _, c := range []struct {
				name          string
				got, lo, hi   float64
				paper, format string
			}{
				{"Trainer runs", float64(c.models), trainers * (1 - steadyTolerance), trainers * (1 + steadyTolerance), fmt.Sprintf("%.0f ± 35%%", trainers), "%.0f"},
				{"mean retrainings per pipeline per day", c.mean, paperMeanPerDay * (1 - steadyTolerance), paperMeanPerDay * (1 + steadyTolerance), "about 7 ± 35%", "%.2f"},
				{"share of Trainer runs not pushed", c.notPushed, 0.30, 0.40, "30-40%", "%.3f"},
			} {
				if c.got < c.lo || c.got > c.hi {
					t.Errorf("scale %g seed %d: %s "+c.format+", want %s (%.2f to %.2f)", run.scale, seed, c.name, c.got, c.paper, c.lo, c.hi)
				}
			}
		}
		n := float64(len(run.seeds))
		fmt.Fprintf(&report, "average        trainers %7.0f  per day mean %5.2f              above 100/day %4.2f%%  not pushed %4.1f%%\n",
			sum.models/n, sum.mean/n, 100*sum.over/n, 100*sum.notPushed/n)
		t.Log("\n" + report.String())
		if run.scale != 1 {
			continue
		}
		for _, c := range []struct {
			name     string
			got      float64
			lo, hi   float64
			paper    string
			decimals int
		}{
			{"Trainer runs", sum.models / n, 450_000, 560_000, "> 450,000", 0},
			{"mean retrainings per pipeline per day", sum.mean / n, 6.3, 8, "about 7", 2},
			{"share of pipelines above 100 a day", sum.over / n, 0.005, 0.015, "about 1%", 4},
			{"share of Trainer runs not pushed", sum.notPushed / n, 0.30, 0.40, "30-40%", 3},
		} {
			if c.got < c.lo || c.got > c.hi {
				t.Errorf("%s averages %.*f over %d seeds at the paper's scale, want %s (between %g and %g)", c.name, c.decimals, c.got, len(run.seeds), c.paper, c.lo, c.hi)
			}
		}
	}
}

type corpusFigures struct {
	models, completed  int
	execs, arts        int
	events             int
	mean, median, over float64
	notPushed          float64
}

// measure simulates cfg's pipelines and computes the figures the way docs/corpus.md's SQL
// does: a pipeline's active days run from its first execution's start to its last one's end,
// at least one day.
func measure(cfg *Config) corpusFigures {
	var c corpusFigures
	var rates []float64
	pushed := 0
	b := new(batch)
	classes := rateClasses(cfg)
	for i := range cfg.Pipelines {
		b.reset()
		s := newSim(cfg, classes, i, b)
		s.simulate()
		lo, hi, n := b.execs[0].start, b.execs[0].end, 0
		for _, x := range b.execs {
			lo, hi = min(lo, x.start), max(hi, x.end)
			if x.op == "Trainer" {
				n++
				if x.state == stComplete {
					c.completed++
				}
			}
		}
		rate := float64(n) / max(1, float64(hi-lo)/day)
		rates = append(rates, rate)
		c.mean += rate
		if rate > 100 {
			c.over++
		}
		c.models += n
		c.execs += len(b.execs)
		c.arts += len(b.arts)
		c.events += len(b.events)
		for _, tr := range b.truths {
			if tr.pushed {
				pushed++
			}
		}
	}
	np := float64(len(rates))
	c.mean /= np
	c.over /= np
	c.notPushed = 1 - float64(pushed)/float64(c.models)
	sorted := append([]float64(nil), rates...)
	sort.Float64s(sorted)
	c.median = sorted[len(sorted)/2]
	return c
}

// TestParquetDeterministicAtScale writes the paper-scale corpus twice and compares the files'
// digests: DuckDB's parallel Parquet writer showed different row-group cuts only at this size,
// which a small corpus cannot reproduce. It takes about a minute.
func TestParquetDeterministicAtScale(t *testing.T) {
	var sums [2]map[string]string
	for run := range sums {
		dir := filepath.Join(t.TempDir(), "corpus")
		if _, err := Generate(context.Background(), DefaultConfig(PaperPipelines), dir, Options{}); err != nil {
			t.Fatal(err)
		}
		sums[run] = map[string]string{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			sums[run][e.Name()] = fmt.Sprintf("%x", h.Sum(nil))
		}
		os.RemoveAll(dir)
	}
	if len(sums[0]) != 5 {
		t.Errorf("wrote %d files, want 5", len(sums[0]))
	}
	for name, sum := range sums[0] {
		if sums[1][name] != sum {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
}
