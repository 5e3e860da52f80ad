package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"mlprov/catalog"
	"mlprov/engine"
	"mlprov/loaders/mlmd"
	"mlprov/loaders/native"
	"mlprov/prune"
	"mlprov/report/runner"
	"mlprov/synth"
)

var nativeLoader = &native.Loader{}

// Benches are the benchmarks in the order they run at each scale: each reads what the one
// before made (a corpus, then a loaded store).
var Benches = []string{"gen", "load", "sync", "materialize", "analysis", "prune", "advise", "graphlets", "refresh"}

// Cases returns every case, benchmark by benchmark in the order of Benches, each benchmark's
// default first.
func Cases() ([]Case, error) {
	var cs []Case
	for i, f := range append(slices.Clone(engine.FileFormats), engine.FormatMLMD) {
		cs = append(cs, genCase(f, i == 0))
	}
	cs = append(cs,
		loadCase(engine.FormatNative, "the native layout's Parquet files, read by DuckDB's read_parquet", nativeLoader,
			func(c *Corpus, _ context.Context) (string, error) { return c.Native, nil }, true),
		loadCase(engine.FormatMLMD, "the MLMD SQLite store, read through SQLite and appended", &mlmd.Loader{},
			(*Corpus).MLMD, false),
	)
	cs = append(cs, syncCase("whole", true), syncCase("tail", false), syncCase("day", false), materializeCase())
	as, err := engine.Analyses()
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		cs = append(cs, analysisCase(a))
	}
	cs = append(cs, pruneCase(), adviseCase())
	for _, a := range Alternatives() {
		cs = append(cs, graphletsCase(a))
	}
	cs = append(cs, refreshCase("full", true), refreshCase("incremental", false))
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

func loadCase(alt, desc string, l engine.Loader, input func(*Corpus, context.Context) (string, error), def bool) Case {
	return Case{
		Bench: "Load", Name: "load", Alt: alt, Sub: "alt=" + alt, Default: def,
		Description: "mlprov load of " + desc + " into a new file store, validated and materialized, in one transaction",
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			t.StopTimer()
			path, err := input(env.Corpus, ctx)
			if err != nil {
				return Outcome{}, err
			}
			// The shared store and the garbage of the last iteration must not add to the
			// load's peak memory, which is measured.
			if err := env.release(); err != nil {
				return Outcome{}, err
			}
			debug.FreeOSMemory()
			e, err := env.newStore(ctx)
			if err != nil {
				return Outcome{}, err
			}
			ResetPeakRSS()
			t.StartTimer()
			res, err := e.Load(ctx, l, path, engine.LoadOptions{})
			t.StopTimer()
			peak := PeakRSS()
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
			return Outcome{Rows: res.Rows(), Graphlets: m.Graphlets, PeakRSS: peak, Check: m}, err
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
			res, err := runner.Prune(ctx, e, runner.PruneOptions{GroundTruth: env.Corpus.GroundTruth(), TrainFraction: 0.6, MaxCadenceLoss: 0.01, Seed: 1})
			if err != nil {
				return Outcome{}, err
			}
			return Outcome{Graphlets: int64(res.Model.TrainGraphlets + res.Model.EvalGraphlets)}, nil
		},
	}
}

// advisedPipelines is how many pipelines one iteration of the advise case asks about.
const advisedPipelines = 20

func adviseCase() Case {
	return Case{
		Bench: "Advise", Name: "advise",
		Description: fmt.Sprintf("mlprov advise for %d pipelines, each at its last Trainer start, with the model mlprov prune kept", advisedPipelines),
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			e, err := store(ctx, env, t)
			if err != nil {
				return Outcome{}, err
			}
			t.StopTimer()
			m, err := prune.Latest(ctx, e.DB())
			if errors.Is(err, prune.ErrNoModel) {
				var ds *prune.Dataset
				var res *prune.Result
				if ds, err = prune.Load(ctx, e.DB()); err == nil {
					if res, err = prune.Study(ds, prune.Options{TrainFraction: 0.6, MaxCadenceLoss: 0.01, Seed: 1}); err == nil {
						m = res.Saved()
						err = prune.Save(ctx, e.DB(), m)
					}
				}
			}
			if err != nil {
				return Outcome{}, err
			}
			type ask struct {
				pipeline int64
				at       time.Time
			}
			var asks []ask
			err = func() error {
				rows, err := e.DB().QueryContext(ctx, `SELECT pipeline_id, max(trainer_start) FROM graphlets
					WHERE trainer_start IS NOT NULL GROUP BY pipeline_id ORDER BY pipeline_id LIMIT ?`, advisedPipelines)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var a ask
					if err := rows.Scan(&a.pipeline, &a.at); err != nil {
						return err
					}
					asks = append(asks, a)
				}
				return rows.Err()
			}()
			if err != nil {
				return Outcome{}, err
			}
			t.StartTimer()
			for _, a := range asks {
				if _, err := prune.Advise(ctx, e.DB(), m, a.pipeline, a.at); err != nil {
					return Outcome{}, err
				}
			}
			return Outcome{Graphlets: int64(len(asks))}, nil
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
			s := Store{DB: e.DB()}
			if a.ReadsMLMD {
				t.StopTimer()
				s.MLMD, err = env.Corpus.MLMD(ctx)
				t.StartTimer()
				if err != nil {
					return Outcome{}, err
				}
			}
			m, err := a.Run(ctx, s)
			return Outcome{Graphlets: m.Graphlets, Rows: m.Pairs, Check: m}, err
		},
		reference: membersRef,
	}
}

// syncCase measures mlprov load of a corpus's history into a file store: whole, into a new
// store (the default), or the last refreshTail of it (tail) or its last day (day) into a
// store that holds the rest, loaded from time slices of the corpus (SliceLayout). The store
// holding the rest is loaded once, untimed, and copied for each iteration.
func syncCase(alt string, def bool) Case {
	desc := map[string]string{
		"whole": "the whole history into a new store",
		"tail":  fmt.Sprintf("the last %.0f%% of the history's time into a store holding the rest", refreshTail*100),
		"day":   "the history's last day into a store holding the rest",
	}[alt]
	return Case{
		Bench: "Sync", Name: "sync", Alt: alt, Sub: "alt=" + alt, Default: def,
		Description: "mlprov load of " + desc + ", from the native layout's Parquet files",
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			t.StopTimer()
			if err := env.release(); err != nil {
				return Outcome{}, err
			}
			cut := 1 - refreshTail
			if alt == "day" {
				cut = 1 - 1/float64(env.Corpus.Config.Days)
			}
			var input string
			var e *engine.Engine
			var err error
			if alt == "whole" {
				input = env.Corpus.Native
				e, err = env.newStore(ctx)
			} else {
				var base string
				base, input, err = env.slices(ctx, cut)
				if err == nil {
					e, err = env.copyStore(ctx, base)
				}
			}
			if err != nil {
				return Outcome{}, err
			}
			defer func() { _ = removeStore(e) }()
			debug.FreeOSMemory()
			t.StartTimer()
			res, err := e.Load(ctx, nativeLoader, input, engine.LoadOptions{})
			t.StopTimer()
			defer t.StartTimer()
			if err != nil {
				return Outcome{}, err
			}
			return Outcome{Rows: res.Rows(), Graphlets: res.Refreshed.Graphlets}, nil
		},
	}
}

// refreshTail is the share of history, latest last, that the refresh benchmark adds to a
// store holding the rest.
const refreshTail = 0.03

// refreshCase measures bringing the derived tables up to date after the last refreshTail of
// the history (executions started, artifacts made and their events) is added to a store that
// holds the rest: in full (Engine.Materialize) or incrementally (Engine.Refresh). Each
// iteration cuts the history and materializes the rest untimed, so the shared store is whole
// again afterwards.
func refreshCase(alt string, def bool) Case {
	desc := "Engine.Materialize of every derived table"
	if alt == "incremental" {
		desc = "Engine.Refresh: the derived rows the added history reaches, re-derived incrementally"
	}
	return Case{
		Bench: "Refresh", Name: "refresh", Alt: alt, Sub: "alt=" + alt, Default: def,
		Description: fmt.Sprintf("adding the last %.0f%% of history to a store holding the rest: %s", refreshTail*100, desc),
		run: func(ctx context.Context, env *Env, t Timer) (Outcome, error) {
			e, err := store(ctx, env, t)
			if err != nil {
				return Outcome{}, err
			}
			t.StopTimer()
			db := e.DB()
			if err := execAll(ctx, db,
				fmt.Sprintf(`CREATE OR REPLACE TABLE bench_cut AS SELECT quantile_disc(start_time, %g) AS cut FROM executions`, 1-refreshTail),
				`CREATE OR REPLACE TABLE bench_executions AS FROM executions WHERE start_time > (SELECT cut FROM bench_cut)`,
				`CREATE OR REPLACE TABLE bench_artifacts AS FROM artifacts WHERE create_time > (SELECT cut FROM bench_cut)`,
				`CREATE OR REPLACE TABLE bench_events AS FROM events WHERE execution_id IN (SELECT execution_id FROM bench_executions)
					OR artifact_id IN (SELECT artifact_id FROM bench_artifacts)`,
				`DELETE FROM events WHERE execution_id IN (SELECT execution_id FROM bench_executions)
					OR artifact_id IN (SELECT artifact_id FROM bench_artifacts)`,
				`DELETE FROM executions WHERE execution_id IN (SELECT execution_id FROM bench_executions)`,
				`DELETE FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM bench_artifacts)`,
			); err != nil {
				return Outcome{}, err
			}
			if err := e.Materialize(ctx, nil); err != nil {
				return Outcome{}, err
			}
			var added int64
			if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM bench_executions) + (SELECT count(*) FROM bench_artifacts)
				+ (SELECT count(*) FROM bench_events)`).Scan(&added); err != nil {
				return Outcome{}, err
			}
			restore := []string{
				`INSERT INTO executions FROM bench_executions`,
				`INSERT INTO artifacts FROM bench_artifacts`,
				`INSERT INTO events FROM bench_events`,
			}
			out := Outcome{Rows: added}
			if alt == "full" {
				if err := execAll(ctx, db, restore...); err != nil {
					return Outcome{}, err
				}
				t.StartTimer()
				err = e.Materialize(ctx, nil)
				out.Graphlets = env.Corpus.Stats.Trainers
			} else {
				t.StartTimer()
				var res engine.Refreshed
				res, err = e.Change(ctx, func(conn *sql.Conn) error {
					return execAll(ctx, conn, append(restore,
						`INSERT INTO changed_executions SELECT execution_id FROM bench_events UNION ALL SELECT execution_id FROM bench_executions`,
						`INSERT INTO changed_artifacts SELECT artifact_id FROM bench_events UNION ALL SELECT artifact_id FROM bench_artifacts`,
						`INSERT INTO changed_pipelines SELECT pipeline_id FROM executions WHERE execution_id IN (SELECT execution_id FROM changed_executions)
							UNION ALL SELECT pipeline_id FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts)`)...)
				}, nil)
				out.Graphlets = res.Graphlets
			}
			t.StopTimer()
			defer t.StartTimer()
			if err != nil {
				return Outcome{}, err
			}
			return out, execAll(ctx, db, `DROP TABLE bench_cut`, `DROP TABLE bench_executions`, `DROP TABLE bench_artifacts`, `DROP TABLE bench_events`)
		},
	}
}

// execAll runs each statement in turn.
func execAll(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, qs ...string) error {
	for _, q := range qs {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
