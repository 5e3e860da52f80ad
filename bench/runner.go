package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"mlprov/engine"
)

// SlowFactor is how many times slower than its benchmark's default an alternative may be at
// one scale and still run at the larger ones.
const SlowFactor = 10

// Timer stops and starts the clock around work an iteration must not count, such as opening
// a fresh store. *testing.B is one; the Runner's own clock is another.
type Timer interface {
	StopTimer()
	StartTimer()
}

// Outcome is what one iteration of a case did, in the units its metrics report.
type Outcome struct {
	// Graphlets is how many graphlets the case found or worked over (graphlets/s).
	Graphlets int64
	// Rows is how many rows it read, wrote or derived (rows/s), or members found.
	Rows int64
	// Bytes is the size of what it wrote (MB).
	Bytes int64
	// PeakRSS is the process's peak resident memory while it ran, in bytes (peak-RSS-MB),
	// where the system tells it; 0 for cases that do not measure it.
	PeakRSS int64
	// Check is compared with the benchmark's reference, so that alternatives are known to
	// agree; nil where there is nothing to compare.
	Check any
}

// Case is one benchmark, or one alternative of a benchmark, at any scale.
type Case struct {
	// Bench is the Go benchmark it runs as (BenchmarkGraphlets for "Graphlets").
	Bench string
	// Name is the benchmark's name in results: gen, load, materialize, analysis/NAME, prune
	// or graphlets.
	Name string
	// Alt is the alternative ("union"), or "" for a benchmark that has none.
	Alt string
	// Sub is the sub-benchmark's key after the scale: "alt=union", "analysis=headline", or "".
	Sub string
	// Default marks the alternative mlprov uses, which the others are measured against.
	Default bool
	// SQL is the query of an SQL alternative, for EXPLAIN ANALYZE.
	SQL string
	// Description says what the case does.
	Description string

	run       func(ctx context.Context, env *Env, t Timer) (Outcome, error)
	reference func(ctx context.Context, env *Env) (any, error)
}

// Label is the case's name and alternative, as --only takes them: "graphlets/union".
func (c Case) Label() string {
	if c.Alt == "" {
		return c.Name
	}
	return c.Name + "/" + c.Alt
}

// BenchName is the Go benchmark's full name at scale, as go test prints it before the -N
// suffix: BenchmarkGraphlets/scale=0.1/alt=union.
func (c Case) BenchName(scale float64) string {
	s := "Benchmark" + c.Bench + "/scale=" + FormatScale(scale)
	if c.Sub != "" {
		s += "/" + c.Sub
	}
	return s
}

// FormatScale prints a scale the shortest way: 0.01, 0.1, 1.
func FormatScale(scale float64) string { return strconv.FormatFloat(scale, 'g', -1, 64) }

// Metric is one reported measurement in a domain unit.
type Metric struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Result is one case measured at one scale.
type Result struct {
	Name        string  `json:"name"`
	Alternative string  `json:"alternative"`
	Scale       float64 `json:"scale"`
	// Seconds is the mean time of one iteration; 0 when skipped.
	Seconds   float64 `json:"seconds"`
	Graphlets int64   `json:"graphlets"`
	// Agree says whether the case found what the benchmark's reference holds; null where
	// there is nothing to compare (one-way benchmarks) or the case was skipped.
	Agree      *bool    `json:"agree"`
	Default    bool     `json:"default,omitempty"`
	Iterations int      `json:"iterations"`
	Ratio      float64  `json:"ratio_to_default,omitempty"`
	Metrics    []Metric `json:"metrics,omitempty"`
	Skipped    string   `json:"skipped,omitempty"`
	// BenchName is the benchstat name, without the -GOMAXPROCS suffix.
	BenchName string `json:"benchmark"`
	// Explain is the EXPLAIN ANALYZE of an SQL alternative, when the runner was asked for it.
	Explain string `json:"-"`
}

// BenchLine prints r in the Go benchmark format that benchstat reads
// (golang.org/x/perf/benchfmt): name-procs, iterations, ns/op, then the metrics. It is empty
// for a skipped result, which has no measurement.
func (r Result) BenchLine() string {
	if r.Skipped != "" {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s-%d\t%d\t%.0f ns/op", r.BenchName, runtime.GOMAXPROCS(0), r.Iterations, r.Seconds*1e9)
	for _, m := range r.Metrics {
		fmt.Fprintf(&b, "\t%s %s", pretty(m.Value), m.Unit)
	}
	return b.String()
}

// pretty prints a metric with about four significant digits, without an exponent, as go test
// prints them.
func pretty(v float64) string {
	switch y := math.Abs(v); {
	case y == 0 || y >= 999.95:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case y >= 99.995:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case y >= 9.9995:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case y >= 0.99995:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// metrics turns an outcome and the time per iteration into domain units.
func metrics(out Outcome, seconds float64, rowsUnit string) []Metric {
	var ms []Metric
	if seconds <= 0 {
		return nil
	}
	if out.Rows > 0 {
		ms = append(ms, Metric{float64(out.Rows) / seconds, rowsUnit + "/s"})
	}
	if out.Graphlets > 0 {
		ms = append(ms, Metric{float64(out.Graphlets) / seconds, "graphlets/s"})
	}
	if out.Bytes > 0 {
		ms = append(ms, Metric{float64(out.Bytes) / 1e6, "MB"})
	}
	if out.PeakRSS > 0 {
		ms = append(ms, Metric{float64(out.PeakRSS) / 1e6, "peak-RSS-MB"})
	}
	return ms
}

// rowsUnit names what a benchmark's Rows count.
func rowsUnit(name string) string {
	if name == "graphlets" {
		return "members"
	}
	return "rows"
}

// Env is one scale's corpus and the store the benchmarks that read a store share.
type Env struct {
	Scale  float64
	Corpus *Corpus

	work      string // this run's scratch folder for stores
	log       func(string)
	store     *engine.Engine // the shared store, while open
	storePath string         // its file, once loaded
	n         int            // stores made, to name the next
	ref       *Members
}

// newStore opens a new, empty file store in the scratch folder; callers must Close it and
// may remove its files with removeStore.
func (env *Env) newStore(ctx context.Context) (*engine.Engine, error) {
	env.n++
	return engine.Open(ctx, filepath.Join(env.work, fmt.Sprintf("store-%d.duckdb", env.n)), engine.Options{})
}

// slices cuts the corpus's history at cut (a fraction of its time, see SliceLayout), once,
// and returns a store file holding what came before, loaded untimed, and the folder of the
// rest.
func (env *Env) slices(ctx context.Context, cut float64) (store, rest string, err error) {
	dir := fmt.Sprintf("%s-slices-%g", env.Corpus.Native, cut)
	if _, err := os.Stat(filepath.Join(dir, "slice-2")); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			return "", "", err
		}
		env.note("cutting the corpus at %g of its history", cut)
		if _, err := SliceLayout(ctx, env.Corpus.Native, dir, []float64{cut}); err != nil {
			return "", "", err
		}
	}
	store = filepath.Join(env.work, fmt.Sprintf("before-%g.duckdb", cut))
	if _, err := os.Stat(store); err != nil {
		env.note("loading the history before %g of its time, untimed", cut)
		e, err := engine.Open(ctx, store, engine.Options{})
		if err != nil {
			return "", "", err
		}
		if _, err := e.Load(ctx, nativeLoader, filepath.Join(dir, "slice-1"), engine.LoadOptions{}); err != nil {
			_ = removeStore(e)
			return "", "", err
		}
		if err := e.Close(); err != nil {
			return "", "", err
		}
	}
	return store, filepath.Join(dir, "slice-2"), nil
}

// note tells the log, if any, about long untimed work.
func (env *Env) note(format string, args ...any) {
	if env.log != nil {
		env.log(fmt.Sprintf(format, args...))
	}
}

// copyStore opens a copy of the store file at path, as a new scratch store.
func (env *Env) copyStore(ctx context.Context, path string) (*engine.Engine, error) {
	env.n++
	dst := filepath.Join(env.work, fmt.Sprintf("store-%d.duckdb", env.n))
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return engine.Open(ctx, dst, engine.Options{})
}

func removeStore(e *engine.Engine) error {
	err := e.Close()
	for _, suffix := range []string{"", ".wal", ".tmp"} {
		os.RemoveAll(e.Path() + suffix)
	}
	return err
}

// Store returns the store loaded from the corpus's native layout, loading it the first time
// (a load benchmark hands over its first store instead), and opening it again after release.
func (env *Env) Store(ctx context.Context) (*engine.Engine, error) {
	if env.store != nil {
		return env.store, nil
	}
	if env.storePath != "" {
		e, err := engine.Open(ctx, env.storePath, engine.Options{})
		if err != nil {
			return nil, err
		}
		env.store = e
		return e, nil
	}
	e, err := env.newStore(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if _, err := e.Load(ctx, nativeLoader, env.Corpus.Native, engine.LoadOptions{}); err != nil {
		_ = removeStore(e) // the load's error is the one to report
		return nil, err
	}
	if env.log != nil {
		env.log(fmt.Sprintf("loaded the corpus at scale %s into a store for the benchmarks that read one in %.1fs", FormatScale(env.Scale), time.Since(start).Seconds()))
	}
	env.store, env.storePath = e, e.Path()
	return e, nil
}

// release closes the shared store, keeping its file, so that its memory is free for a load.
func (env *Env) release() error {
	if env.store == nil {
		return nil
	}
	err := env.store.Close()
	env.store = nil
	return err
}

// Members are the graphlet members materialized in the shared store: the reference that the
// graphlet alternatives and the loads must agree with.
func (env *Env) Members(ctx context.Context) (Members, error) {
	if env.ref != nil {
		return *env.ref, nil
	}
	e, err := env.Store(ctx)
	if err != nil {
		return Members{}, err
	}
	m, err := SummariseSQL(ctx, e.DB(), "SELECT graphlet_id, execution_id FROM graphlet_executions")
	if err != nil {
		return m, err
	}
	env.ref = &m
	return m, nil
}

func (env *Env) close() error {
	return errors.Join(env.release(), os.RemoveAll(env.work))
}

// Runner runs cases over scales: it keeps one Env per scale, records every result, skips an
// alternative at larger scales once it ran more than SlowFactor times slower than its
// default, and checks each case against its benchmark's reference. The Go benchmarks and
// `mlprov bench` both drive one. It is not safe for concurrent use; callers must Close it.
type Runner struct {
	// CacheDir keeps generated corpora between runs; empty means DefaultCacheDir().
	CacheDir string
	// Seed is the generator's seed.
	Seed uint64
	// MinTime is how long the Runner's own loop (Measure) repeats a case; at least one
	// iteration runs, and at most three times MinTime of wall time is spent on repeats.
	MinTime time.Duration
	// Explain asks Measure for the EXPLAIN ANALYZE of each SQL alternative it runs.
	Explain bool
	// Log, when set, hears about long untimed work: generating corpora, loading stores.
	Log func(string)

	envs    map[float64]*Env
	results []Result
}

// Env returns the scale's Env, generating (or taking from the cache) its corpus.
func (r *Runner) Env(ctx context.Context, scale float64) (*Env, error) {
	if env, ok := r.envs[scale]; ok {
		return env, nil
	}
	dir := r.CacheDir
	if dir == "" {
		dir = DefaultCacheDir()
	}
	c, err := LoadCorpus(ctx, dir, scale, r.Seed, r.Log)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "mlprov-bench-run-")
	if err != nil {
		return nil, err
	}
	if r.envs == nil {
		r.envs = map[float64]*Env{}
	}
	env := &Env{Scale: scale, Corpus: c, work: work, log: r.Log}
	r.envs[scale] = env
	return env, nil
}

// CloseEnv releases a scale's store and scratch files; a later Env call makes them anew.
func (r *Runner) CloseEnv(scale float64) error {
	env, ok := r.envs[scale]
	if !ok {
		return nil
	}
	delete(r.envs, scale)
	return env.close()
}

// Close releases every Env.
func (r *Runner) Close() error {
	var errs []error
	for s := range r.envs {
		errs = append(errs, r.CloseEnv(s))
	}
	return errors.Join(errs...)
}

// Results returns what was recorded so far, in order.
func (r *Runner) Results() []Result { return append([]Result(nil), r.results...) }

// defaultOf returns the recorded result of the default alternative of c's benchmark at scale.
func (r *Runner) defaultOf(name string, scale float64) (Result, bool) {
	for _, res := range r.results {
		if res.Name == name && res.Default && res.Scale == scale && res.Skipped == "" {
			return res, true
		}
	}
	return Result{}, false
}

// Skip returns why c does not run at scale, or "" when it runs: at a smaller scale it ran
// more than SlowFactor times slower than its benchmark's default, or was skipped itself.
func (r *Runner) Skip(c Case, scale float64) string {
	if c.Default || c.Alt == "" {
		return ""
	}
	for _, res := range r.results {
		if res.Name != c.Name || res.Alternative != c.Alt || res.Scale >= scale {
			continue
		}
		if res.Skipped != "" {
			return res.Skipped
		}
		if res.Ratio > SlowFactor {
			return fmt.Sprintf("skipped: %.1fx slower than %s at scale %s", res.Ratio, r.defaultName(c.Name), FormatScale(res.Scale))
		}
	}
	return ""
}

func (r *Runner) defaultName(name string) string {
	for _, res := range r.results {
		if res.Name == name && res.Default {
			return res.Alternative
		}
	}
	return "the default"
}

// skipped records that c did not run at scale.
func (r *Runner) skipped(c Case, scale float64, reason string) Result {
	res := Result{Name: c.Name, Alternative: c.Alt, Scale: scale, Skipped: reason, Default: c.Default, BenchName: c.BenchName(scale)}
	r.results = append(r.results, res)
	return res
}

// Record files the measurement of c at scale: n iterations that took elapsed in all, the
// last of which gave out. It checks out against the benchmark's reference and sets the
// ratio to the default, which must have been recorded first at this scale for one.
func (r *Runner) Record(ctx context.Context, c Case, scale float64, n int, elapsed time.Duration, out Outcome) (Result, error) {
	sec := elapsed.Seconds() / float64(max(1, n))
	res := Result{
		Name: c.Name, Alternative: c.Alt, Scale: scale, Seconds: sec, Graphlets: out.Graphlets,
		Default: c.Default, Iterations: n, Metrics: metrics(out, sec, rowsUnit(c.Name)), BenchName: c.BenchName(scale),
	}
	if out.Check != nil && c.reference != nil {
		env, err := r.Env(ctx, scale)
		if err != nil {
			return res, err
		}
		want, err := c.reference(ctx, env)
		if err != nil {
			return res, fmt.Errorf("%s: reference: %w", c.Label(), err)
		}
		agree := out.Check == want
		res.Agree = &agree
	}
	if d, ok := r.defaultOf(c.Name, scale); ok && d.Seconds > 0 && c.Alt != "" {
		res.Ratio = sec / d.Seconds
	} else if c.Default {
		res.Ratio = 1
	}
	r.results = append(r.results, res)
	return res, nil
}

// clock is the Runner's Timer.
type clock struct {
	start   time.Time
	total   time.Duration
	running bool
}

func (c *clock) StartTimer() {
	if !c.running {
		c.start, c.running = time.Now(), true
	}
}

func (c *clock) StopTimer() {
	if c.running {
		c.total += time.Since(c.start)
		c.running = false
	}
}

// Measure runs c at scale on the Runner's own loop, as `mlprov bench` does: iterations until
// MinTime is spent in timed work (or three times MinTime in all), then Record. A case that
// Skip rules out is recorded as skipped.
func (r *Runner) Measure(ctx context.Context, c Case, scale float64) (Result, error) {
	if reason := r.Skip(c, scale); reason != "" {
		return r.skipped(c, scale, reason), nil
	}
	env, err := r.Env(ctx, scale)
	if err != nil {
		return Result{}, err
	}
	var clk clock
	var out Outcome
	var began time.Time
	n := 0
	for {
		n++
		clk.StartTimer()
		out, err = c.run(ctx, env, &clk)
		clk.StopTimer()
		if err != nil {
			return Result{}, fmt.Errorf("%s at scale %s: %w", c.Label(), FormatScale(scale), err)
		}
		if n == 1 {
			began = time.Now() // the first run may have loaded the shared store, untimed
		}
		if clk.total >= r.MinTime || time.Since(began) >= 3*r.MinTime {
			break
		}
	}
	res, err := r.Record(ctx, c, scale, n, clk.total, out)
	if err != nil {
		return res, err
	}
	if r.Explain && c.SQL != "" {
		text, err := explain(ctx, env, c.SQL)
		if err != nil {
			return res, fmt.Errorf("%s: explain: %w", c.Label(), err)
		}
		res.Explain = text
		r.results[len(r.results)-1].Explain = text
	}
	return res, nil
}

// explain runs EXPLAIN ANALYZE of the alternative's query, summarised as it is timed.
func explain(ctx context.Context, env *Env, q string) (string, error) {
	e, err := env.Store(ctx)
	if err != nil {
		return "", err
	}
	rows, err := e.DB().QueryContext(ctx, "EXPLAIN ANALYZE "+summarise(q))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return "", err
		}
		b.WriteString(value)
	}
	return b.String(), rows.Err()
}

// Run measures every case at every scale, the smallest scale first so that the skip rule can
// act, releasing each scale's store once its cases are done. progress, when set, hears each
// result as it is recorded. It returns every result, also when it stops at an error.
func (r *Runner) Run(ctx context.Context, cs []Case, scales []float64, progress func(Result)) ([]Result, error) {
	scales = slices.Clone(scales)
	slices.Sort(scales)
	scales = slices.Compact(scales)
	for _, s := range scales {
		for _, c := range cs {
			res, err := r.Measure(ctx, c, s)
			if err != nil {
				_ = r.CloseEnv(s) // the measurement's error is the one to report
				return r.Results(), err
			}
			if progress != nil {
				progress(res)
			}
		}
		if err := r.CloseEnv(s); err != nil {
			return r.Results(), err
		}
	}
	return r.Results(), nil
}
