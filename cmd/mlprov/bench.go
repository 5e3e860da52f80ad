package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"mlprov/bench"
	"mlprov/catalog"
	"mlprov/internal/plot"
	"mlprov/internal/render"
	"mlprov/synth"
)

type benchOptions struct {
	common
	scales  []float64
	only    []string
	minTime time.Duration
	seed    uint64
	cache   string
}

// benchCmd is `mlprov bench`: the benchmarks of bench/ on generated corpora, with the
// alternatives of each compared in the same run.
type benchCmd command[benchOptions]

// benchOutput is what --json prints and --out writes as results.json.
type benchOutput struct {
	Results     []bench.Result `json:"results"`
	Environment benchEnv       `json:"environment"`
}

type benchEnv struct {
	Version    string    `json:"mlprov_version"`
	GoOS       string    `json:"goos"`
	GoArch     string    `json:"goarch"`
	CPUs       int       `json:"cpus"`
	Seed       uint64    `json:"seed"`
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	LoadBefore string    `json:"load_average_before,omitempty"`
	LoadAfter  string    `json:"load_average_after,omitempty"`
}

func (c *benchCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "bench", "mlprov bench [--scale F ...] [--only NAME ...] [--min-time D] [--seed S] [--cache DIR] [--json] [--out DIR] [-q]",
		own(func(fs *pflag.FlagSet) {
			fs.Float64SliceVar(&c.opts.scales, "scale", []float64{0.01, 0.1}, "corpus sizes as fractions of the paper's (repeat or separate by commas; 1 = 3000 pipelines)")
			fs.Lookup("scale").DefValue = "0.01,0.1"
			fs.StringSliceVar(&c.opts.only, "only", nil, "run only these benchmarks ("+strings.Join(bench.Benches, ", ")+") or BENCHMARK/ALTERNATIVE (repeat or separate by commas)")
		}),
		jsonFlag(&c.opts.json, "print the results as JSON instead of a table"),
		outFlag(&c.opts.out, "", "also write results.json, bench.txt (benchstat lines), time-against-scale plots and EXPLAIN ANALYZE outputs to DIR"),
		own(func(fs *pflag.FlagSet) {
			fs.DurationVar(&c.opts.minTime, "min-time", 500*time.Millisecond, "repeat each case until it has run this long (one run at least)")
			fs.Uint64Var(&c.opts.seed, "seed", synth.DefaultSeed, "the generator's seed")
			fs.StringVar(&c.opts.cache, "cache", bench.DefaultCacheDir(), "where generated corpora are kept between runs")
		}),
		quietFlag(&c.opts.quiet, "print no progress"))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("bench", "unexpected argument %q", fs.Arg(0))
	}
	for _, s := range c.opts.scales {
		if s <= 0 {
			return usagef("bench", "--scale must be positive (got %g)", s)
		}
	}
	cases, err := bench.Cases()
	if err != nil {
		return err
	}
	if cases, err = bench.Select(cases, c.opts.only); err != nil {
		return usagef("bench", "--only: %v", err)
	}
	progress := func(format string, args ...any) {
		if !c.opts.quiet {
			fmt.Fprintf(c.stderr, "bench: "+format+"\n", args...)
		}
	}
	r := &bench.Runner{
		CacheDir: c.opts.cache, Seed: c.opts.seed, MinTime: c.opts.minTime, Explain: c.opts.out != "",
		Log: func(s string) { progress("%s", s) },
	}
	defer r.Close()
	env := benchEnv{Version: mlprovVersion(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		Seed: c.opts.seed, Started: time.Now().UTC().Truncate(time.Second), LoadBefore: loadAverage()}
	results, runErr := r.Run(ctx, cases, c.opts.scales, func(res bench.Result) {
		if res.Skipped != "" {
			progress("scale %s: %s %s", bench.FormatScale(res.Scale), label(res), res.Skipped)
			return
		}
		progress("scale %s: %s %s (%d run%s)", bench.FormatScale(res.Scale), label(res), seconds(res.Seconds), res.Iterations, plural(res.Iterations))
	})
	env.Seconds = time.Since(env.Started).Round(time.Millisecond).Seconds()
	env.LoadAfter = loadAverage()
	out := benchOutput{Results: results, Environment: env}
	if c.opts.out != "" {
		if err := writeBenchFiles(c.opts.out, out); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		return runErr
	}
	if c.opts.json {
		if err := writeJSON(c.stdout, out); err != nil {
			return err
		}
	} else if err := printBench(c.stdout, out); err != nil {
		return err
	}
	var bad []string
	for _, res := range results {
		if res.Agree != nil && !*res.Agree {
			bad = append(bad, fmt.Sprintf("%s at scale %s", label(res), bench.FormatScale(res.Scale)))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d benchmarks disagree with their reference: %s", len(bad), strings.Join(bad, ", "))
	}
	return nil
}

func label(res bench.Result) string {
	if res.Alternative == "" {
		return res.Name
	}
	return res.Name + "/" + res.Alternative
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func seconds(s float64) string {
	switch {
	case s >= 10:
		return fmt.Sprintf("%.1fs", s)
	case s >= 0.1:
		return fmt.Sprintf("%.2fs", s)
	}
	return fmt.Sprintf("%.1fms", s*1000)
}

// loadAverage is the machine's load average over 1, 5 and 15 minutes, where the system tells.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// printBench prints the results as a table, the cases skipped, then benchstat-compatible lines.
func printBench(w io.Writer, out benchOutput) error {
	t := &render.Result{Columns: []string{"benchmark", "alternative", "scale", "time", "vs default", "graphlets", "agree"}}
	var skipped []string
	for _, res := range out.Results {
		if res.Skipped != "" {
			skipped = append(skipped, fmt.Sprintf("%s at scale %s %s", label(res), bench.FormatScale(res.Scale), res.Skipped))
			continue
		}
		ratio, agree := "", ""
		if res.Ratio > 0 && res.Alternative != "" {
			ratio = fmt.Sprintf("%.2fx", res.Ratio)
		}
		if res.Agree != nil {
			agree = map[bool]string{true: "yes", false: "NO"}[*res.Agree]
		}
		t.Rows = append(t.Rows, []any{res.Name, res.Alternative, bench.FormatScale(res.Scale), seconds(res.Seconds), ratio, res.Graphlets, agree})
	}
	if err := render.Write(w, "table", t); err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintln(w, s)
	}
	fmt.Fprintf(w, "\n%d CPUs, load average %s before and %s after, %.0fs in all\n\n", out.Environment.CPUs, out.Environment.LoadBefore, out.Environment.LoadAfter, out.Environment.Seconds)
	return writeBenchLines(w, out)
}

// writeBenchLines writes the configuration lines and one line per measured result in the Go
// benchmark format, which benchstat compares across runs.
func writeBenchLines(w io.Writer, out benchOutput) error {
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: mlprov/bench\n", out.Environment.GoOS, out.Environment.GoArch)
	for _, res := range out.Results {
		if line := res.BenchLine(); line != "" {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeBenchFiles writes results.json, bench.txt, a plot of time against scale for each
// benchmark that has alternatives, and each SQL alternative's EXPLAIN ANALYZE.
func writeBenchFiles(dir string, out benchOutput) error {
	if err := os.MkdirAll(filepath.Join(dir, "explain"), 0o755); err != nil {
		return err
	}
	if err := writeJSONFile(filepath.Join(dir, "results.json"), out); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "bench.txt"))
	if err != nil {
		return err
	}
	if err := writeBenchLines(f, out); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	curves := map[string]*render.Result{}
	var names []string
	alts := map[string]map[string]bool{}
	for _, res := range out.Results {
		if res.Explain != "" {
			name := fmt.Sprintf("%s-%s-scale=%s.txt", res.Name, res.Alternative, bench.FormatScale(res.Scale))
			if err := os.WriteFile(filepath.Join(dir, "explain", name), []byte(res.Explain), 0o644); err != nil {
				return err
			}
		}
		if res.Alternative == "" || res.Skipped != "" {
			continue
		}
		if curves[res.Name] == nil {
			curves[res.Name] = &render.Result{Columns: []string{"alternative", "scale", "seconds"}}
			alts[res.Name] = map[string]bool{}
			names = append(names, res.Name)
		}
		// The scale as text spaces 0.01, 0.1 and 1 evenly, as a log axis would.
		curves[res.Name].Rows = append(curves[res.Name].Rows, []any{res.Alternative, bench.FormatScale(res.Scale), res.Seconds})
		alts[res.Name][res.Alternative] = true
	}
	for _, name := range names {
		if len(alts[name]) < 2 {
			continue
		}
		fig, err := plot.Draw(catalog.Analysis{
			Name: "bench " + name + ": seconds per run against scale", Result: curves[name],
			Plot: catalog.Plot{Kind: "line", X: "scale", Y: "seconds", Series: "alternative"},
		})
		if err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
		for ext, data := range map[string][]byte{".png": fig.PNG, ".svg": fig.SVG} {
			if err := os.WriteFile(filepath.Join(dir, name+ext), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
