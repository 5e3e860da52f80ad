package serve

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
	"mlprov/prune"
	"mlprov/report/runner"
	"mlprov/synth"
)

// evilName is the name the fixture gives its first pipeline, to check that pages escape it.
const evilName = `<script>alert("x")</script>`

var fixtureOnce struct {
	sync.Once
	e   *engine.Engine
	s   *Server
	dir string
	err error
}

// generatedServer serves, to every test of the package that asks, one small generated store
// with a pruning model kept in it, its first pipeline named evilName and an execution of its
// largest graphlet typed so. The server is never
// closed: it lives as long as the test binary.
func generatedServer(t *testing.T) (*engine.Engine, *Server) {
	t.Helper()
	f := &fixtureOnce
	f.Do(func() {
		ctx := context.Background()
		if f.dir, f.err = os.MkdirTemp("", "mlprov-serve-"); f.err != nil {
			return
		}
		dir := filepath.Join(f.dir, "corpus")
		cfg := synth.DefaultConfig(12)
		cfg.Seed = 3
		if _, f.err = synth.Generate(ctx, cfg, dir, synth.Options{Workers: 1}); f.err != nil {
			return
		}
		if f.e, f.err = engine.Open(ctx, ":memory:", engine.Options{Threads: 2}); f.err != nil {
			return
		}
		if _, f.err = f.e.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{}); f.err != nil {
			return
		}
		res, err := runner.Prune(ctx, f.e, runner.DefaultPruneOptions())
		if f.err = err; err != nil {
			return
		}
		if f.err = prune.Save(ctx, f.e.DB(), res.Saved()); f.err != nil {
			return
		}
		if _, f.err = f.e.DB().Exec(`UPDATE pipelines SET name = ? WHERE pipeline_id = (SELECT min(pipeline_id) FROM pipelines)`, evilName); f.err != nil {
			return
		}
		// And an upstream execution of the largest graphlet has the name for its type, which
		// goes into the graph's JSON in the graphlet's page.
		if _, f.err = f.e.DB().Exec(`UPDATE executions SET op_type = ? WHERE execution_id = (
			SELECT min(execution_id) FROM graphlet_members WHERE side = 'upstream' AND graphlet_id =
				(SELECT graphlet_id FROM graphlets ORDER BY n_executions + n_artifacts DESC, graphlet_id LIMIT 1))`, evilName); f.err != nil {
			return
		}
		f.s, f.err = New(ctx, f.e, Options{})
	})
	if f.err != nil {
		t.Fatalf("generated store: %v", f.err)
	}
	return f.e, f.s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if f := &fixtureOnce; f.s != nil {
		f.s.Close()
		f.e.Close()
	}
	if fixtureOnce.dir != "" {
		os.RemoveAll(fixtureOnce.dir)
	}
	os.Exit(code)
}
