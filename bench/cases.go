package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/loaders/mlmd"
	"mlprov/loaders/native"
	"mlprov/prune"
	"mlprov/synth"
)

var nativeLoader = &native.Loader{}

// Benches are the benchmarks in the order they run at each scale: each reads what the one
// before made (a corpus, then a loaded store).
var Benches = []string{"gen", "load", "materialize", "analysis", "prune", "graphlets"}

// Cases returns every case, benchmark by benchmark in the order of Benches, each benchmark's
// default first.
func Cases() ([]Case, error) {
	var cs []Case
	for i, f := range append(slices.Clone(engine.FileFormats), engine.FormatMLMD) {
		cs = append(cs, genCase(f, i == 0))
	}
	cs = append(cs,
		loadCase(engine.FormatNative, "the native layout's Parquet files, read by DuckDB's read_parquet", nativeLoader, func(c *Corpus) string { return c.Native }, true),
		loadCase(engine.FormatMLMD, "the MLMD SQLite store, read through the pure-Go SQLite driver and appended", &mlmd.Loader{}, func(c *Corpus) string { return c.MLMD }, false),
		materializeCase())
	as, err := engine.Analyses()
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		cs = append(cs, analysisCase(a))
	}
	cs = append(cs, pruneCase())
	for _, a := range Alternatives() {
		cs = append(cs, graphletsCase(a))
	}
	return cs, nil
}

// Select keeps the cases that names pick: a benchmark ("graphlets", "analysis") takes all its
// cases, a label ("graphlets/go_bfs", "analysis/headline") one. A benchmark's default is kept
// whenever one of its alternatives is, since the others are measured against it.
func Select(cs []Case, names []string) ([]Case, error) {
	if len(names) == 0 {
		return cs, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		found := false
		for _, c := range cs {
			if c.Name == n || c.Label() == n || strings.HasPrefix(c.Name, n+"/") {
				want[c.Label()], found = true, true
				if c.Alt != "" {
					want[c.Name+"\x00default"] = true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q (want one of %s, or BENCHMARK/ALTERNATIVE)", ErrUnknownBench, n, strings.Join(Benches, ", "))
		}
	}
	var out []Case
	for _, c := range cs {
		if want[c.Label()] || (c.Default && want[c.Name+"\x00default"]) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ErrUnknownBench means --only named no benchmark.
var ErrUnknownBench = errors.New("unknown benchmark")

// membersRef is the reference of the benchmarks that find graphlets.
func membersRef(ctx context.Context, env *Env) (any, error) { return env.Members(ctx) }

// store returns the shared store with the clock stopped: loading it is not what is measured.
func store(ctx context.Context, env *Env, t Timer) (*engine.Engine, error) {
	t.StopTimer()
	defer t.StartTimer()
	return env.Store(ctx)
}

// counts is what gen cases must agree on: the corpus, counted, whatever its format.
func counts(st synth.Stats) synth.Stats {
	st.Bytes = 0
	return st
}

func genCase(format string, def bool) Case {
	return Case{
		Bench: "Gen", Name: "gen", Alt: format, Sub: "alt=" + format, Default: def,
		Description: "mlprov gen --format " + format + ": simulation, encoding and writing",
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			t.StopTimer()
			env.n++
			dir := filepath.Join(env.work, fmt.Sprintf("gen-%d", env.n))
			t.StartTimer()
			st, err := synth.Generate(ctx, env.Corpus.Config, dir, synth.Options{Format: format})
			t.StopTimer()
			os.RemoveAll(dir)
			t.StartTimer()
			return Outcome{Rows: st.Rows(), Bytes: st.Bytes, Graphlets: st.Trainers, Check: counts(st)}, err
		},
		reference: func(ctx context.Context, env *Env) (any, error) { return counts(env.Corpus.Stats), nil },
	}
}

func loadCase(alt, desc string, l engine.Loader, path func(*Corpus) string, def bool) Case {
	return Case{
		Bench: "Load", Name: "load", Alt: alt, Sub: "alt=" + alt, Default: def,
		Description: "mlprov load of " + desc + " into a new file store, validated and materialized, in one transaction",
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			t.StopTimer()
			// A load holds the whole corpus at once (an MLMD one in Go's heap): the shared
			// store and the garbage of the last iteration must not add to it.
			if err := env.release(); err != nil {
				return Outcome{}, err
			}
			debug.FreeOSMemory()
			e, err := env.newStore(ctx)
			if err != nil {
				return Outcome{}, err
			}
			t.StartTimer()
			res, err := e.Load(ctx, l, path(env.Corpus), engine.LoadOptions{})
			t.StopTimer()
			defer t.StartTimer()
			if err != nil {
				_ = removeStore(e) // the load's error is the one to report
				return Outcome{}, err
			}
			m, err := SummariseSQL(ctx, e.DB(), "SELECT graphlet_id, execution_id FROM graphlet_executions")
			if env.storePath == "" && l == nativeLoader && err == nil {
				// The first native load serves the benchmarks that read a store.
				env.storePath = e.Path()
				err = e.Close()
			} else {
				_ = removeStore(e) // a scratch store: what matters is measured
			}
			debug.FreeOSMemory()
			return Outcome{Rows: res.Rows(), Graphlets: m.Graphlets, Check: m}, err
		},
		reference: membersRef,
	}
}

func materializeCase() Case {
	return Case{
		Bench: "Materialize", Name: "materialize",
		Description: "Engine.Materialize: every derived table (lineage, graphlets, features, topologies) rebuilt from the canonical tables",
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			e, err := store(ctx, env, t)
			if err != nil {
				return Outcome{}, err
			}
			if err := e.Materialize(ctx, nil); err != nil {
				return Outcome{}, err
			}
			st := env.Corpus.Stats
			return Outcome{Rows: st.Executions + st.Artifacts + st.Events, Graphlets: st.Trainers}, nil
		},
	}
}

func analysisCase(a catalog.Analysis) Case {
	return Case{
		Bench: "Analysis", Name: "analysis/" + a.Name, Sub: "analysis=" + a.Name,
		Description: "the canned analysis " + a.Name + ": " + a.Description,
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			e, err := store(ctx, env, t)
			if err != nil {
				return Outcome{}, err
			}
			rows, err := e.RunAnalysis(ctx, a.Name)
			if err != nil {
				return Outcome{}, err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return Outcome{Graphlets: env.Corpus.Stats.Trainers}, rows.Err()
		},
	}
}

func pruneCase() Case {
	return Case{
		Bench: "Prune", Name: "prune",
		Description: "the pruning study (mlprov prune): features read, two classifiers fitted and compared, the later history replayed",
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			e, err := store(ctx, env, t)
			if err != nil {
				return Outcome{}, err
			}
			ds, err := prune.Load(ctx, e.DB())
			if err != nil {
				return Outcome{}, err
			}
			if _, err := ds.AttachGroundTruth(env.Corpus.GroundTruth()); err != nil {
				return Outcome{}, err
			}
			if _, err := prune.Study(ds, prune.Options{TrainFraction: 0.6, MaxCadenceLoss: 0.01, Seed: 1}); err != nil {
				return Outcome{}, err
			}
			return Outcome{Graphlets: int64(len(ds.Graphlets))}, nil
		},
	}
}

func graphletsCase(a Alternative) Case {
	return Case{
		Bench: "Graphlets", Name: "graphlets", Alt: a.Name, Sub: "alt=" + a.Name, Default: a.Name == "union",
		SQL: a.SQL, Description: a.Description,
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			e, err := store(ctx, env, t)
			if err != nil {
				return Outcome{}, err
			}
			m, err := a.Run(ctx, Store{DB: e.DB(), MLMD: env.Corpus.MLMD})
			return Outcome{Graphlets: m.Graphlets, Rows: m.Pairs, Check: m}, err
		},
		reference: membersRef,
	}
}
