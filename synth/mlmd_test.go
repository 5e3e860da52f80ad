package synth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/loaders/mlmd"
	"mlprov/synth"
)

// TestMLMDLoadsAlike writes the scale 0.01 corpus as an MLMD store, loads it through
// loaders/mlmd and compares the store with the native layout's: the same rows under the same
// ids (attrs aside, where MLMD adds its own keys), the same graphlets with the same members
// and pushed flags, and the same result for every canned analysis.
func TestMLMDLoadsAlike(t *testing.T) {
	ctx := context.Background()
	_, want, native := small(t)
	dir := filepath.Join(t.TempDir(), "corpus")
	st, err := synth.Generate(ctx, synth.DefaultConfig(synth.ScalePipelines(0.01)), dir, synth.Options{Format: engine.FormatMLMD})
	if err != nil {
		t.Fatal(err)
	}
	want.Bytes = st.Bytes
	if st != want {
		t.Errorf("stats %+v, want the native layout's %+v", st, want)
	}
	files := readDir(t, dir)
	if len(files) != 2 || files[synth.MLMDFile] == nil || files[synth.GroundTruthFile] == nil {
		t.Errorf("wrote %d files, want %s and %s", len(files), synth.MLMDFile, synth.GroundTruthFile)
	}
	if gt, err := os.ReadFile(filepath.Join(filepath.Dir(smallDir), "corpus", synth.GroundTruthFile)); err != nil || string(gt) != string(files[synth.GroundTruthFile]) {
		t.Errorf("the ground truth differs from the native layout's (%v)", err)
	}
	loaded, err := engine.Open(ctx, ":memory:", engine.Options{Threads: 1, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	if _, err := loaded.Load(ctx, &mlmd.Loader{}, filepath.Join(dir, synth.MLMDFile), engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}

	digests := []struct{ name, q string }{
		{"pipelines", `SELECT count(*), sum(hash(pipeline_id, name))::VARCHAR FROM pipelines`},
		{"executions", `SELECT count(*), sum(hash(execution_id, pipeline_id, run_id, node_id, op_type, category, state, start_time, end_time, cost, attrs->>'code_version'))::VARCHAR FROM executions`},
		{"artifacts", `SELECT count(*), sum(hash(artifact_id, pipeline_id, type, uri, span, version, state, create_time, size_bytes))::VARCHAR FROM artifacts`},
		{"events", `SELECT count(*), sum(hash(execution_id, artifact_id, direction, role, event_time))::VARCHAR FROM events`},
		{"graphlet members", `SELECT count(*), sum(hash(graphlet_id, execution_id, artifact_id, side))::VARCHAR FROM graphlet_members`},
		{"graphlets", `SELECT count(*), sum(hash(graphlet_id, pipeline_id, pushed, push_time))::VARCHAR FROM graphlets`},
	}
	for _, d := range digests {
		var n1, n2 int64
		var h1, h2 string
		if err := native.DB().QueryRowContext(ctx, d.q).Scan(&n1, &h1); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if err := loaded.DB().QueryRowContext(ctx, d.q).Scan(&n2, &h2); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if n1 == 0 || n1 != n2 || h1 != h2 {
			t.Errorf("%s: %d rows (digest %s) from MLMD, %d (%s) from the native layout", d.name, n2, h2, n1, h1)
		}
	}

	as, err := engine.Analyses()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		w, g := runAnalysis(t, native, a.Name), runAnalysis(t, loaded, a.Name)
		if len(w.Rows) == 0 {
			t.Errorf("%s: no rows from the native layout", a.Name)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s from MLMD differs from the native layout (-native +mlmd):\n%s", a.Name, diff)
		}
	}
}

func runAnalysis(t *testing.T, e *engine.Engine, name string) *render.Result {
	t.Helper()
	rows, err := e.RunAnalysis(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	res, err := render.Read(rows)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// Floats summed in another order may differ in the last bits.
	for _, r := range res.Rows {
		for i, v := range r {
			if f, ok := v.(float64); ok {
				r[i] = fmt.Sprintf("%.9g", f)
			}
		}
	}
	return res
}
