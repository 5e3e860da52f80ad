package synth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"mlprov/engine"
	"mlprov/internal/storetest"
	"mlprov/loaders/native"
	"mlprov/synth"
)

// generate writes a corpus of cfg into a new temporary folder.
func generate(t testing.TB, cfg synth.Config, format string, workers int) (string, synth.Stats) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "corpus")
	st, err := synth.Generate(context.Background(), cfg, dir, synth.Options{Format: format, Workers: workers})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return dir, st
}
func queryFloat(t testing.TB, e *engine.Engine, q string) float64 {
	t.Helper()
	var v float64
	if err := e.DB().QueryRowContext(context.Background(), q).Scan(&v); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return v
}

// The scale 0.01 corpus is shared by the tests that only read it.
var (
	smallOnce  sync.Once
	smallDir   string
	smallStats synth.Stats
	smallStore *engine.Engine
	smallErr   error
)

func small(t *testing.T) (string, synth.Stats, *engine.Engine) {
	t.Helper()
	smallOnce.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "mlprov-synth-")
		if err != nil {
			smallErr = err
			return
		}
		smallDir = filepath.Join(dir, "corpus")
		cfg := synth.DefaultConfig(synth.ScalePipelines(0.01))
		if smallStats, smallErr = synth.Generate(ctx, cfg, smallDir, synth.Options{}); smallErr != nil {
			return
		}
		smallStore, smallErr = engine.Open(ctx, ":memory:", engine.Options{Threads: 1, TempDir: filepath.Join(dir, "spill")})
		if smallErr != nil {
			return
		}
		_, smallErr = smallStore.Load(ctx, &native.Loader{}, smallDir, engine.LoadOptions{})
	})
	if smallErr != nil {
		t.Fatalf("scale 0.01 corpus: %v", smallErr)
	}
	return smallDir, smallStats, smallStore
}

func TestMain(m *testing.M) {
	code := m.Run()
	if smallStore != nil {
		smallStore.Close()
	}
	if smallDir != "" {
		os.RemoveAll(filepath.Dir(smallDir))
	}
	os.Exit(code)
}

func TestLoadsWithCounts(t *testing.T) {
	_, st, e := small(t)
	if st.Pipelines != 30 {
		t.Errorf("pipelines = %d, want 30 at scale 0.01", st.Pipelines)
	}
	for table, want := range map[string]int64{"pipelines": st.Pipelines, "executions": st.Executions, "artifacts": st.Artifacts, "events": st.Events} {
		// Ids are contiguous from 1 in each table, and the store holds every row written.
		key := map[string]string{"pipelines": "pipeline_id", "executions": "execution_id", "artifacts": "artifact_id", "events": "execution_id"}[table]
		got := queryFloat(t, e, "SELECT count(*) FROM "+table)
		if int64(got) != want {
			t.Errorf("%s: %v rows in the store, generator wrote %d", table, got, want)
		}
		if table != "events" {
			if lo, hi := queryFloat(t, e, "SELECT min("+key+") FROM "+table), queryFloat(t, e, "SELECT max("+key+") FROM "+table); lo != 1 || int64(hi) != want {
				t.Errorf("%s ids span %v..%v, want 1..%d", table, lo, hi, want)
			}
		}
	}
	if n := queryFloat(t, e, "SELECT count(*) FROM executions WHERE op_type = 'Trainer'"); int64(n) != st.Trainers {
		t.Errorf("%v Trainer executions, ground truth has %d lines", n, st.Trainers)
	}
}

// TestGraphFollowsTFX checks the provenance invariants the graphlet definition relies on.
func TestGraphFollowsTFX(t *testing.T) {
	_, _, e := small(t)
	checks := []struct{ name, q string }{
		{"artifacts without exactly one original producer (a complete execution with an out event)",
			`SELECT count(*) FROM (SELECT a.artifact_id, count(x.execution_id) n FROM artifacts a
				LEFT JOIN events v ON v.artifact_id = a.artifact_id AND v.direction = 'out'
				LEFT JOIN executions x ON x.execution_id = v.execution_id AND x.state = 'complete' AND x.op_type <> 'Resolver'
				GROUP BY a.artifact_id) WHERE n <> 1`},
		{"failed executions with outputs",
			`SELECT count(*) FROM events v JOIN executions x USING (execution_id) WHERE x.state = 'failed' AND v.direction = 'out'`},
		{"cached executions that cost something",
			`SELECT count(*) FROM executions WHERE state = 'cached' AND cost <> 0`},
		{"cached or Resolver out events that link an artifact created later",
			`SELECT count(*) FROM events v JOIN executions x USING (execution_id) JOIN artifacts a USING (artifact_id)
				WHERE v.direction = 'out' AND (x.state = 'cached' OR x.op_type = 'Resolver') AND a.create_time > x.start_time`},
		{"inputs consumed before they existed",
			`SELECT count(*) FROM events v JOIN artifacts a USING (artifact_id) WHERE v.direction = 'in' AND a.create_time > v.event_time`},
		{"Resolvers that link something other than a Model",
			`SELECT count(*) FROM events v JOIN executions x USING (execution_id) JOIN artifacts a USING (artifact_id)
				WHERE x.op_type = 'Resolver' AND (v.direction <> 'out' OR a.type <> 'Model')`},
		{"base or baseline models not made by a Trainer of the same node",
			`SELECT count(*) FROM events v JOIN executions c USING (execution_id)
				JOIN events o ON o.artifact_id = v.artifact_id AND o.direction = 'out'
				JOIN executions p ON p.execution_id = o.execution_id AND p.op_type <> 'Resolver'
				WHERE v.role IN ('base_model', 'baseline_model')
				  AND (p.op_type <> 'Trainer' OR p.pipeline_id <> c.pipeline_id OR p.execution_id = c.execution_id)`},
		{"complete Pushers without a model and a model_blessing",
			`SELECT count(*) FROM executions x WHERE op_type = 'Pusher' AND state = 'complete' AND
				(SELECT count(DISTINCT role) FROM events v WHERE v.execution_id = x.execution_id AND v.direction = 'in' AND role IN ('model', 'model_blessing')) <> 2`},
		{"complete Evaluators without examples and a model",
			`SELECT count(*) FROM executions x WHERE op_type = 'Evaluator' AND state = 'complete' AND
				(SELECT count(DISTINCT role) FROM events v WHERE v.execution_id = x.execution_id AND v.direction = 'in' AND role IN ('examples', 'model')) <> 2`},
		{"pushed models whose blessing said no",
			`SELECT count(*) FROM events pm JOIN artifacts a ON a.artifact_id = pm.artifact_id AND a.type = 'PushedModel'
				JOIN events b ON b.execution_id = pm.execution_id AND b.role = 'model_blessing'
				JOIN artifacts ba ON ba.artifact_id = b.artifact_id
				WHERE (a.attrs->>'pushed')::INT = 1 AND (ba.attrs->>'blessed')::INT <> 1`},
		{"Trainers without model_type, code_version, config_hash and warm_start",
			`SELECT count(*) FROM executions WHERE op_type = 'Trainer' AND ((attrs->>'model_type') IS NULL OR (attrs->>'code_version') IS NULL
				OR (attrs->>'config_hash') IS NULL OR (attrs->>'warm_start') IS NULL)`},
		{"statistics without a numeric drift",
			`SELECT count(*) FROM artifacts WHERE type = 'ExampleStatistics' AND TRY_CAST(attrs->>'drift' AS DOUBLE) IS NULL`},
		{"events at an execution's time",
			`SELECT count(*) FROM events v JOIN executions x USING (execution_id)
				WHERE v.event_time NOT IN (x.start_time, x.end_time)`},
	}
	for _, c := range checks {
		if n := queryFloat(t, e, c.q); n != 0 {
			t.Errorf("%s: %v", c.name, n)
		}
	}
	// Every mechanism shows up in a corpus of 30 pipelines.
	for name, q := range map[string]string{
		"cached executions":           `SELECT count(*) FROM executions WHERE state = 'cached'`,
		"failed executions":           `SELECT count(*) FROM executions WHERE state = 'failed'`,
		"warm starts":                 `SELECT count(*) FROM events WHERE role = 'base_model'`,
		"baselines":                   `SELECT count(*) FROM events WHERE role = 'baseline_model'`,
		"custom components":           `SELECT count(*) FROM executions WHERE category = 'other' AND op_type <> 'Resolver'`,
		"pipelines with two trainers": `SELECT count(DISTINCT pipeline_id) FROM executions WHERE node_id = 'Trainer_2'`,
		"schema changes":              `SELECT count(*) - count(DISTINCT pipeline_id) FROM artifacts WHERE type = 'Schema'`,
		"Tuner runs":                  `SELECT count(*) FROM executions WHERE op_type = 'Tuner'`,
		"Transform-less trainers":     `SELECT count(DISTINCT pipeline_id) FROM executions x WHERE op_type = 'Trainer' AND NOT EXISTS (SELECT 1 FROM events v WHERE v.execution_id = x.execution_id AND role = 'transform_graph')`,
	} {
		if n := queryFloat(t, e, q); n == 0 {
			t.Errorf("no %s", name)
		}
	}
}

// trainerFacts is one row per Trainer execution: what a predictor could see, and the outcome
// measured from the store (a Pusher downstream of its model pushed).
const trainerFacts = `
WITH tr AS (
	SELECT execution_id, pipeline_id, run_id, node_id, start_time, attrs->>'model_type' AS model_type,
		attrs->>'code_version' AS code_version
	FROM executions WHERE op_type = 'Trainer'),
pushed AS (
	SELECT DISTINCT o.execution_id FROM events o
	JOIN events i ON i.artifact_id = o.artifact_id AND i.direction = 'in' AND i.role = 'model'
	JOIN executions p ON p.execution_id = i.execution_id AND p.op_type = 'Pusher' AND p.state = 'complete'
	JOIN events po ON po.execution_id = p.execution_id AND po.direction = 'out'
	JOIN artifacts pm ON pm.artifact_id = po.artifact_id AND pm.type = 'PushedModel'
	WHERE o.direction = 'out' AND o.role = 'model' AND (pm.attrs->>'pushed')::INT = 1),
newest AS (
	SELECT v.execution_id, max(a.span) AS span FROM events v JOIN artifacts a USING (artifact_id)
	WHERE v.direction = 'in' AND a.type = 'Examples' GROUP BY ALL),
drift AS (
	SELECT pipeline_id, span, max((attrs->>'drift')::DOUBLE) AS drift FROM artifacts
	WHERE type = 'ExampleStatistics' GROUP BY ALL),
-- A run's optional components that feed the Trainer: the ones whose change unsettles it.
shape AS (
	SELECT run_id, min(start_time) AS started,
		string_agg(DISTINCT op_type, ',' ORDER BY op_type) FILTER (WHERE op_type IN ('Transform', 'FeatureSelector', 'LabelAuditor', 'EmbeddingGen')) AS parts
	FROM executions GROUP BY run_id),
runs AS (
	SELECT s.run_id, coalesce(s.parts, '') IS DISTINCT FROM coalesce(lag(s.parts, 1, s.parts) OVER w, '') AS structure_change
	FROM shape s JOIN (SELECT DISTINCT pipeline_id, run_id FROM tr) USING (run_id)
	WINDOW w AS (PARTITION BY pipeline_id ORDER BY started, run_id))
SELECT tr.execution_id, tr.pipeline_id, tr.model_type, d.drift, r.structure_change,
	code_version IS DISTINCT FROM lag(code_version, 1, code_version) OVER (PARTITION BY tr.pipeline_id, tr.node_id ORDER BY tr.start_time, tr.execution_id) AS code_change,
	tr.execution_id IN (SELECT execution_id FROM pushed) AS pushed
FROM tr JOIN newest n USING (execution_id) JOIN drift d ON d.pipeline_id = tr.pipeline_id AND d.span = n.span
JOIN runs r USING (run_id)`

func TestCalibration(t *testing.T) {
	dir, st, e := small(t)
	// Activity: trained models per pipeline and retrainings per pipeline per day. With 30
	// heavy-tailed pipelines the mean moves a lot from seed to seed; the bounds catch a
	// mechanism that is off by a factor, not noise.
	perPipeline := queryFloat(t, e, `SELECT count(*) / (SELECT count(*) FROM pipelines) FROM executions WHERE op_type = 'Trainer'`)
	if perPipeline < 50 || perPipeline > 450 {
		t.Errorf("trained models per pipeline = %.0f, want about 150 (paper: 450K over 3000)", perPipeline)
	}
	const rates = `WITH p AS (SELECT pipeline_id, count(*) FILTER (WHERE op_type = 'Trainer') AS n,
		greatest(1, date_diff('second', min(start_time), max(end_time)) / 86400.0) AS active_days
		FROM executions GROUP BY pipeline_id) `
	if mean := queryFloat(t, e, rates+`SELECT avg(n / active_days) FROM p`); mean < 2.5 || mean > 20 {
		t.Errorf("mean retrainings per pipeline per day = %.2f, want near 7", mean)
	}
	if median := queryFloat(t, e, rates+`SELECT median(n / active_days) FROM p`); median > 5 {
		t.Errorf("median retrainings per pipeline per day = %.2f, want well below the mean (a skewed activity)", median)
	}
	if over := queryFloat(t, e, rates+`SELECT avg((n / active_days > 100)::INT) FROM p`); over > 0.1 {
		t.Errorf("share of pipelines above 100 retrainings a day = %.2f, want about 0.01", over)
	}

	// Push outcomes: the store and the ground truth agree, and 30-40% of models are not pushed
	// (make calibrate checks that on every corpus of 300 pipelines or more; with 30, one fast
	// pipeline can hold a third of the Trainer runs and its drift moves the share by 10 points).
	notPushed := queryFloat(t, e, `SELECT 1 - avg(pushed::INT) FROM (`+trainerFacts+`)`)
	if notPushed < 0.2 || notPushed > 0.5 {
		t.Errorf("share of Trainer runs not pushed = %.3f, want 0.30-0.40", notPushed)
	}
	truth := readTruth(t, dir)
	if int64(len(truth)) != st.Trainers {
		t.Fatalf("ground truth has %d lines, want %d", len(truth), st.Trainers)
	}
	rows, err := e.DB().Query(`SELECT execution_id, pushed FROM (` + trainerFacts + `)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var pushed bool
		if err := rows.Scan(&id, &pushed); err != nil {
			t.Fatal(err)
		}
		n++
		if g, ok := truth[id]; !ok || g.Pushed != pushed {
			t.Fatalf("Trainer %d: pushed %v in the store, ground truth %+v", id, pushed, g)
		}
	}
	if n != len(truth) {
		t.Errorf("%d Trainer runs with a known drift, want all %d", n, len(truth))
	}

	// No predictor is perfect: not even the mechanism's own probability.
	var ps []float64
	var ys []bool
	for _, g := range truth {
		ps, ys = append(ps, g.PPush), append(ys, g.Pushed)
	}
	if auc := auc(ps, ys); auc >= 0.95 || auc < 0.65 {
		t.Errorf("AUC of p_push = %.3f, want informative but below 0.95", auc)
	}

	// Causes: drift and structure change move the not-pushed rate more than code changes or
	// the model type do.
	effect := func(cond string) float64 {
		return queryFloat(t, e, `SELECT avg((NOT pushed)::INT) FILTER (WHERE `+cond+`) - avg((NOT pushed)::INT) FILTER (WHERE NOT (`+cond+`)) FROM (`+trainerFacts+`)`)
	}
	drift, structure, code := effect("drift > 0.2"), effect("structure_change"), effect("code_change")
	// Model types are drawn per pipeline, so their raw spread mixes in how much drift and
	// structure change their few pipelines saw: compare pipelines' rates, types with four or more.
	modelType := queryFloat(t, e, `SELECT max(r) - min(r) FROM (SELECT model_type, avg(r) AS r FROM (
		SELECT pipeline_id, any_value(model_type) AS model_type, avg((NOT pushed)::INT) AS r FROM (`+trainerFacts+`) GROUP BY pipeline_id)
		GROUP BY model_type HAVING count(*) >= 4)`)
	t.Logf("not-pushed rate lift: drift %.3f, structure change %.3f, code change %.3f, model type spread %.3f", drift, structure, code, modelType)
	for name, v := range map[string]float64{"drift": drift, "structure change": structure} {
		if v < 0.1 || v <= code || v <= modelType {
			t.Errorf("%s lifts the not-pushed rate by %.3f; want it above 0.1 and above code change (%.3f) and model type (%.3f)", name, v, code, modelType)
		}
	}
}

type truthLine struct {
	ID     int64   `json:"execution_id"`
	PPush  float64 `json:"p_push"`
	Pushed bool    `json:"pushed"`
}

func readTruth(t testing.TB, dir string) map[int64]truthLine {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, synth.GroundTruthFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[int64]truthLine{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l truthLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		if l.PPush < 0 || l.PPush > 1 {
			t.Fatalf("p_push out of [0, 1]: %s", sc.Text())
		}
		m[l.ID] = l
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// auc is the area under the ROC curve of scores against outcomes (ties count half).
func auc(scores []float64, pos []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum, nPos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if pos[idx[k]] {
				rankSum += avg
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(len(scores)) - nPos
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}

func TestAUC(t *testing.T) {
	if got := auc([]float64{0.1, 0.2, 0.3, 0.4}, []bool{false, false, true, true}); got != 1 {
		t.Errorf("separable: %v", got)
	}
	if got := auc([]float64{0.5, 0.5}, []bool{false, true}); got != 0.5 {
		t.Errorf("tied: %v", got)
	}
}

// TestSameSeedSameBytes generates the same small corpus twice in each format, with different
// numbers of workers, and compares every file, then checks that another seed changes them.
func TestSameSeedSameBytes(t *testing.T) {
	for _, format := range engine.FileFormats {
		t.Run(format, func(t *testing.T) {
			cfg := synth.DefaultConfig(4)
			a, _ := generate(t, cfg, format, 1)
			b, _ := generate(t, cfg, format, 3)
			cfg.Seed++
			c, _ := generate(t, cfg, format, 1)
			fa, fb, fc := readDir(t, a), readDir(t, b), readDir(t, c)
			if len(fa) != 5 {
				t.Errorf("wrote %d files, want the four tables and the ground truth", len(fa))
			}
			same := true
			for name, data := range fa {
				if !bytes.Equal(data, fb[name]) {
					t.Errorf("%s differs between two runs with the same seed", name)
				}
				same = same && bytes.Equal(data, fc[name])
			}
			if same {
				t.Error("another seed wrote the same files")
			}
		})
	}
}

func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}

// TestFormatsLoadAlike loads one corpus written in each format and compares the stores.
func TestFormatsLoadAlike(t *testing.T) {
	const digest = `SELECT (SELECT sum(hash(pipeline_id, name, attrs::VARCHAR)) FROM pipelines)
		+ (SELECT sum(hash(execution_id, pipeline_id, run_id, node_id, op_type, category, state, start_time, end_time, cost, attrs::VARCHAR)) FROM executions)
		+ (SELECT sum(hash(artifact_id, pipeline_id, type, uri, span, version, state, create_time, size_bytes, attrs::VARCHAR)) FROM artifacts)
		+ (SELECT sum(hash(execution_id, artifact_id, direction, role, event_time)) FROM events)`
	cfg := synth.DefaultConfig(3)
	var want float64
	for i, format := range engine.FileFormats {
		dir, _ := generate(t, cfg, format, 0)
		got := queryFloat(t, storetest.Loaded(t, &native.Loader{}, dir), `SELECT (`+digest+`)::DOUBLE`)
		if i == 0 {
			want = got
		} else if got != want {
			t.Errorf("%s loads to a different store than %s", format, engine.FileFormats[0])
		}
	}
}

func TestGenerateRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(ctx, synth.DefaultConfig(1), dir, synth.Options{}); err == nil {
		t.Error("generated into a folder that was not empty")
	}
	if _, err := synth.Generate(ctx, synth.DefaultConfig(0), t.TempDir(), synth.Options{}); err == nil {
		t.Error("generated a corpus of no pipeline")
	}
	if _, err := synth.Generate(ctx, synth.DefaultConfig(1), t.TempDir(), synth.Options{Format: "xml"}); err == nil {
		t.Error("generated an unknown format")
	}
	cfg := synth.DefaultConfig(1)
	cfg.Trigger = []synth.Weighted[string]{{Value: "hourly", Weight: 1}}
	if _, err := synth.Generate(ctx, cfg, t.TempDir(), synth.Options{}); !errors.Is(err, synth.ErrConfig) {
		t.Errorf("unknown trigger: %v, want ErrConfig", err)
	}
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := synth.Generate(ctx, synth.DefaultConfig(50), t.TempDir(), synth.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled generation: %v, want context.Canceled", err)
	}
}

// TestPrefix: a pipeline's rows depend only on the seed and its index, so a smaller corpus is
// the beginning of a larger one.
func TestPrefix(t *testing.T) {
	a, _ := generate(t, synth.DefaultConfig(2), "csv", 0)
	b, _ := generate(t, synth.DefaultConfig(5), "csv", 0)
	fa, fb := readDir(t, a), readDir(t, b)
	for _, name := range []string{"executions.csv", "artifacts.csv", "events.csv", synth.GroundTruthFile} {
		if !bytes.HasPrefix(fb[name], fa[name]) || len(fb[name]) == len(fa[name]) {
			t.Errorf("%s of 2 pipelines is not a proper prefix of that of 5", name)
		}
	}
}
