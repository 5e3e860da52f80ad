package mlmd

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// The fixtures below build MLMD stores the way TFX and Kubeflow write them, from the schema
// facts in shared/docs/formats.md. Each returns nothing: it writes through w.

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func at(day int, minute int) time.Time {
	return t0.Add(time.Duration(day)*24*time.Hour + time.Duration(minute)*time.Minute)
}

// buildStore writes a fixture at the schema version into a fresh file and returns its path.
func buildStore(tb testing.TB, version int, fixture func(*Writer)) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "metadata.sqlite")
	w, err := Create(context.Background(), path, version)
	if err != nil {
		tb.Fatal(err)
	}
	fixture(w)
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// tfxIR is a TFX pipeline under the current (IR) orchestration: three runs of taxi with a
// push, a warm start that is not blessed, a cache hit that re-links an old Schema, two
// unfinished Trainers, a failed Pusher, a custom Trainer with an mlmd.Train base type, a custom component
// of unknown category, and a Windows push destination.
func tfxIR(w *Writer) {
	v10 := w.Version() >= 10
	pipe := w.Context("pipeline", "taxi", t0)
	types := map[string]int64{}
	for op, path := range map[string]string{
		"CsvExampleGen": "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen",
		"StatisticsGen": "tfx.components.statistics_gen.component.StatisticsGen",
		"SchemaGen":     "tfx.components.schema_gen.component.SchemaGen",
		"Transform":     "tfx.components.transform.component.Transform",
		"Trainer":       "tfx.components.trainer.component.Trainer",
		"Evaluator":     "tfx.components.evaluator.component.Evaluator",
		"Pusher":        "tfx.components.pusher.component.Pusher",
	} {
		types[op] = w.Type(path, "execution", "")
	}
	types["FeatureSelector"] = w.Type("acme.components.feature_selector.FeatureSelector", "execution", "")
	types["BoostedTrainer"] = w.Type("acme.components.boosted.BoostedTrainer", "execution", "mlmd.Train")
	art := func(name string) int64 { return w.Type(name, "artifact", "") }
	nodes := map[string]int64{}
	var run int64
	var day int
	exec := func(op string, state, start, minutes int, props ...Prop) int64 {
		id := w.Execution(types[op], state, at(day, start), at(day, start+minutes), props...)
		w.Associate(pipe, id)
		if run != 0 {
			w.Associate(run, id)
		}
		node, ok := nodes[op]
		if !ok {
			node = w.Context("node", "taxi."+op, t0, pipe)
			nodes[op] = node
		}
		w.Associate(node, id)
		return id
	}
	artifact := func(typ, uri string, state, minute int, props ...Prop) int64 {
		id := w.Artifact(art(typ), uri, state, at(day, minute), props...)
		w.Attribute(pipe, id)
		return id
	}
	in := func(x, a int64, key string, minute int) { w.Event(x, a, EventInput, at(day, minute), key, 0) }
	out := func(x, a int64, key string, minute int) { w.Event(x, a, EventOutput, at(day, minute), key, 0) }

	// Run 1: everything runs, the model is blessed and pushed.
	run = w.Context("pipeline_run", "taxi-run-1", at(0, 0))
	x := exec("CsvExampleGen", ExecComplete, 0, 10)
	ex1 := artifact("Examples", "gs://ml/taxi/CsvExampleGen/examples/1", ArtLive, 10,
		Prop{"span", false, 1}, Prop{"version", false, 0}, Prop{"split_names", false, `["train", "eval"]`},
		Prop{"input_fingerprint", true, "split:single_split,num_files:1,total_bytes:1000"})
	w.Event(x, ex1, EventDeclaredOutput, at(0, 10), "examples", 0) // a duplicate the loader folds
	out(x, ex1, "examples", 10)
	x = exec("StatisticsGen", ExecComplete, 10, 5)
	in(x, ex1, "examples", 10)
	st1 := artifact("ExampleStatistics", "gs://ml/taxi/StatisticsGen/statistics/2", ArtLive, 15, Prop{"span", false, 1}, Prop{"drift", true, 0.02})
	out(x, st1, "statistics", 15)
	x = exec("SchemaGen", ExecComplete, 15, 1)
	in(x, st1, "statistics", 15)
	schema := artifact("Schema", "gs://ml/taxi/SchemaGen/schema/3", ArtLive, 16)
	out(x, schema, "schema", 16)
	x = exec("Transform", ExecComplete, 16, 20)
	in(x, ex1, "examples", 16)
	in(x, schema, "schema", 16)
	tg1 := artifact("TransformGraph", "gs://ml/taxi/Transform/transform_graph/4", ArtLive, 36)
	out(x, tg1, "transform_graph", 36)
	trainProps := []Prop{
		{"train_args", false, Struct{"num_steps": 100.0, "splits": []any{"train"}}},
		{"code_version", true, "v1"},
		{"model_type", true, "wide_deep"},
	}
	if v10 {
		cfg, _ := anypb.New(&structpb.Struct{Fields: map[string]*structpb.Value{"lr": structpb.NewNumberValue(0.1)}})
		trainProps = append(trainProps, Prop{"custom_config", true, cfg}, Prop{"is_warm_start", true, false})
	}
	trainer1 := exec("Trainer", ExecComplete, 36, 60, trainProps...)
	in(trainer1, ex1, "examples", 36)
	in(trainer1, tg1, "transform_graph", 36)
	in(trainer1, schema, "schema", 36)
	model1 := artifact("Model", "gs://ml/taxi/Trainer/model/5", ArtLive, 96)
	out(trainer1, model1, "model", 96)
	x = exec("Evaluator", ExecComplete, 96, 10)
	in(x, model1, "model", 96)
	in(x, ex1, "examples", 96)
	out(x, artifact("ModelEvaluation", "gs://ml/taxi/Evaluator/evaluation/6", ArtLive, 106), "evaluation", 106)
	bless1 := artifact("ModelBlessing", "gs://ml/taxi/Evaluator/blessing/7", ArtLive, 106, Prop{"blessed", true, 1})
	out(x, bless1, "blessing", 106)
	x = exec("Pusher", ExecComplete, 106, 2)
	in(x, model1, "model", 106)
	in(x, bless1, "model_blessing", 106)
	out(x, artifact("PushedModel", `C:\serving\taxi\1709251680`, ArtLive, 108,
		Prop{"pushed", true, 1}, Prop{"pushed_destination", true, `C:\serving\taxi`}, Prop{"pushed_version", true, "1709251680"}), "pushed_model", 108)

	// Run 2: new span; SchemaGen is a cache hit that re-links run 1's Schema; the Trainer warm
	// starts from run 1's model and is not blessed against it, so nothing is pushed.
	day = 1
	run = w.Context("pipeline_run", "taxi-run-2", at(1, 0))
	x = exec("CsvExampleGen", ExecComplete, 0, 10)
	ex2 := artifact("Examples", "gs://ml/taxi/CsvExampleGen/examples/9", ArtLive, 10, Prop{"span", false, 2}, Prop{"version", false, 0})
	out(x, ex2, "examples", 10)
	x = exec("StatisticsGen", ExecComplete, 10, 5)
	in(x, ex2, "examples", 10)
	st2 := artifact("ExampleStatistics", "gs://ml/taxi/StatisticsGen/statistics/10", ArtLive, 15, Prop{"span", false, 2}, Prop{"drift", true, 0.4})
	out(x, st2, "statistics", 15)
	x = exec("SchemaGen", ExecCached, 15, 0)
	in(x, st2, "statistics", 15)
	out(x, schema, "schema", 15)
	w.Associate(w.Context("execution_cache", "cache-key-schema", at(1, 15)), x)
	x = exec("Transform", ExecComplete, 15, 20)
	in(x, ex2, "examples", 15)
	in(x, schema, "schema", 15)
	tg2 := artifact("TransformGraph", "gs://ml/taxi/Transform/transform_graph/11", ArtLive, 35)
	out(x, tg2, "transform_graph", 35)
	trainer2 := exec("Trainer", ExecComplete, 35, 30, Prop{"code_version", true, "v1"}, Prop{"model_type", true, "wide_deep"})
	in(trainer2, ex2, "examples", 35)
	in(trainer2, tg2, "transform_graph", 35)
	in(trainer2, schema, "schema", 35)
	in(trainer2, model1, "base_model", 35)
	model2 := artifact("Model", "gs://ml/taxi/Trainer/model/12", ArtLive, 65)
	out(trainer2, model2, "model", 65)
	x = exec("Evaluator", ExecComplete, 65, 10)
	in(x, model2, "model", 65)
	in(x, model1, "baseline_model", 65)
	in(x, ex2, "examples", 65)
	out(x, artifact("ModelEvaluation", "gs://ml/taxi/Evaluator/evaluation/13", ArtLive, 75), "evaluation", 75)
	bless2 := artifact("ModelBlessing", "gs://ml/taxi/Evaluator/blessing/14", ArtLive, 75, Prop{"blessed", true, 0})
	out(x, bless2, "blessing", 75)
	x = exec("Pusher", ExecComplete, 75, 1)
	in(x, model2, "model", 75)
	in(x, bless2, "model_blessing", 75)
	out(x, artifact("PushedModel", "gs://ml/taxi/Pusher/pushed_model/15", ArtLive, 76, Prop{"pushed", true, 0}), "pushed_model", 76)

	// Run 3: ExampleGen is a cache hit; a custom FeatureSelector feeds a custom BoostedTrainer
	// whose push fails; a stock Trainer left RUNNING with no outputs and a second one RUNNING
	// with its model recorded but not yet published both count as running: the store's last
	// write is only minutes later, too soon to call either abandoned.
	day = 2
	run = w.Context("pipeline_run", "taxi-run-3", at(2, 0))
	x = exec("CsvExampleGen", ExecCached, 0, 0)
	out(x, ex2, "examples", 0)
	x = exec("FeatureSelector", ExecComplete, 0, 5)
	in(x, ex2, "examples", 0)
	sel := artifact("Examples", "gs://ml/taxi/FeatureSelector/examples/16", ArtLive, 5, Prop{"span", false, 2})
	out(x, sel, "examples", 5)
	boosted := exec("BoostedTrainer", ExecComplete, 5, 40)
	in(boosted, sel, "examples", 5)
	model3 := artifact("Model", "gs://ml/taxi/BoostedTrainer/model/17", ArtLive, 45)
	out(boosted, model3, "model", 45)
	x = exec("Pusher", ExecFailed, 45, 3)
	in(x, model3, "model", 45)
	w.Event(x, artifact("PushedModel", "gs://ml/taxi/Pusher/pushed_model/18", ArtPending, 45), EventPendingOutput, at(2, 45), "pushed_model", 0)
	x = exec("Trainer", ExecRunning, 50, 0)
	in(x, ex2, "examples", 50)
	x = exec("Trainer", ExecRunning, 55, 0)
	in(x, sel, "examples", 55)
	out(x, artifact("Model", "gs://ml/taxi/Trainer/model/20", ArtPending, 60), "model", 60)
}

// tfxLegacy is a notebook's InteractiveContext store under the legacy orchestration, at
// schema 7, on Windows: each component call is its own run; executions leave
// last_known_state unset and keep state, component_id, pipeline_name and run_id properties;
// one Trainer crashed (RUNNING forever) before a retry was pushed; a later StatisticsGen is
// a cache hit associated with no pipeline context at all.
func tfxLegacy(w *Writer) {
	pipe := w.Context("pipeline", "penguin", t0)
	root := `C:\Users\ana\tfx\pipelines\penguin\`
	minute := 0
	call := func(component, typePath string, state int, legacy string, minutes int, inPipe bool) int64 {
		runID := at(4, minute).Format("2006-01-02T15:04:05.000000")
		run := w.Context("run", runID, at(4, minute))
		crun := w.Context("component_run", "penguin."+runID+"."+component, at(4, minute))
		x := w.Execution(w.Type(typePath, "execution", ""), state, at(4, minute), at(4, minute+minutes),
			Prop{"state", false, legacy}, Prop{"component_id", false, component},
			Prop{"pipeline_name", false, "penguin"}, Prop{"run_id", false, runID},
			Prop{"pipeline_root", false, root})
		if inPipe {
			w.Associate(pipe, x)
		}
		w.Associate(run, x)
		w.Associate(crun, x)
		minute += minutes + 1
		return x
	}
	artifact := func(typ, rel string, props ...Prop) int64 {
		id := w.Artifact(w.Type(typ, "artifact", ""), root+rel, ArtLive, at(4, minute), props...)
		w.Attribute(pipe, id)
		return id
	}
	in := func(x, a int64, key string) { w.Event(x, a, EventInput, at(4, minute), key, 0) }
	out := func(x, a int64, key string) { w.Event(x, a, EventOutput, at(4, minute), key, 0) }

	const legacyPath = "tfx.components."
	x := call("ImportExampleGen", legacyPath+"example_gen.import_example_gen.component.ImportExampleGen", -1, "complete", 3, true)
	ex := artifact("Examples", `ImportExampleGen\examples\1`, Prop{"span", false, 0}, Prop{"split_names", false, `["train", "eval"]`})
	out(x, ex, "examples")
	x = call("StatisticsGen", legacyPath+"statistics_gen.component.StatisticsGen", -1, "complete", 2, true)
	in(x, ex, "examples")
	stats := artifact("ExampleStatistics", `StatisticsGen\statistics\2`, Prop{"span", false, 0})
	out(x, stats, "statistics")
	x = call("SchemaGen", legacyPath+"schema_gen.component.SchemaGen", -1, "complete", 1, true)
	in(x, stats, "statistics")
	schema := artifact("Schema", `SchemaGen\schema\3`)
	out(x, schema, "schema")
	x = call("Trainer", legacyPath+"trainer.component.Trainer", ExecRunning, "new", 0, true)
	in(x, ex, "examples")
	in(x, schema, "schema")
	trainer := call("Trainer", legacyPath+"trainer.component.Trainer", -1, "complete", 12, true)
	in(trainer, ex, "examples")
	in(trainer, schema, "schema")
	model := artifact("Model", `Trainer\model\5`)
	out(trainer, model, "model")
	x = call("Evaluator", legacyPath+"evaluator.component.Evaluator", -1, "complete", 4, true)
	in(x, model, "model")
	in(x, ex, "examples")
	bless := artifact("ModelBlessing", `Evaluator\blessing\6`, Prop{"blessed", true, 1})
	out(x, bless, "blessing")
	x = call("Pusher", legacyPath+"pusher.component.Pusher", -1, "complete", 1, true)
	in(x, model, "model")
	in(x, bless, "model_blessing")
	out(x, artifact("PushedModel", `serving_model\penguin\1709546400`, Prop{"pushed", true, 1},
		Prop{"pushed_destination", true, `C:\Users\ana\serving_model\penguin`}), "pushed_model")
	x = call("StatisticsGen", legacyPath+"statistics_gen.component.StatisticsGen", ExecComplete, "cached", 0, false)
	in(x, ex, "examples")
	out(x, stats, "statistics")
}

// kubeflow is a Kubeflow Pipelines v2 store: system.Pipeline and system.PipelineRun contexts
// linked by ParentContext, a DAG execution per run, an importer, container tasks named by
// task_name; the second run has a cache hit, a failed training and canceled tasks. No TFX
// Pusher exists: deployment comes from the deploy rule.
func kubeflow(w *Writer) {
	pipe := w.Context("system.Pipeline", "iris-training", t0)
	dag := w.Type("system.DAGExecution", "execution", "")
	container := w.Type("system.ContainerExecution", "execution", "")
	importer := w.Type("system.ImporterExecution", "execution", "")
	dataset := w.Type("system.Dataset", "artifact", "")
	model := w.Type("system.Model", "artifact", "")
	metrics := w.Type("system.Metrics", "artifact", "")
	var run int64
	var day int
	task := func(typ int64, name string, state, start, minutes int, extra ...Prop) int64 {
		props := append([]Prop{{"task_name", true, name}, {"display_name", true, name}}, extra...)
		x := w.Execution(typ, state, at(day, start), at(day, start+minutes), props...)
		w.Associate(run, x)
		return x
	}
	artifact := func(typ int64, uri string, minute int) int64 {
		a := w.Artifact(typ, uri, ArtLive, at(day, minute))
		w.Attribute(run, a)
		return a
	}
	in := func(x, a int64, key string, minute int) { w.Event(x, a, EventInput, at(day, minute), key, 0) }
	out := func(x, a int64, key string, minute int) { w.Event(x, a, EventOutput, at(day, minute), key, 0) }

	day = 7
	run = w.Context("system.PipelineRun", "3f1c2a9e-run-1", at(day, 0), pipe)
	root := task(dag, "iris-training", ExecComplete, 0, 30)
	x := task(importer, "importer", ExecComplete, 0, 1)
	raw := artifact(dataset, "gs://kfp/iris/iris.csv", 1)
	out(x, raw, "artifact", 1)
	x = task(container, "preprocess", ExecComplete, 1, 5, Prop{"cache_fingerprint", true, "fp-pre-1"}, Prop{"parent_dag_id", true, root})
	in(x, raw, "dataset", 1)
	clean := artifact(dataset, "gs://kfp/iris/preprocess/clean", 6)
	out(x, clean, "clean_data", 6)
	x = task(container, "train-model", ExecComplete, 6, 15, Prop{"parent_dag_id", true, root})
	in(x, clean, "clean_data", 6)
	m := artifact(model, "gs://kfp/iris/train-model/model", 21)
	out(x, m, "model", 21)
	out(root, m, "model", 30) // the DAG re-exposes its task's output
	x = task(container, "evaluate", ExecComplete, 21, 3)
	in(x, m, "model", 21)
	out(x, artifact(metrics, "gs://kfp/iris/evaluate/metrics", 24), "metrics", 24)
	x = task(container, "deploy-model", ExecComplete, 24, 5)
	in(x, m, "model", 24)

	day = 8
	run = w.Context("system.PipelineRun", "3f1c2a9e-run-2", at(day, 0), pipe)
	root = task(dag, "iris-training", ExecFailed, 0, 20)
	x = task(importer, "importer", ExecComplete, 0, 1)
	raw2 := artifact(dataset, "gs://kfp/iris/iris.csv#2", 1)
	out(x, raw2, "artifact", 1)
	x = task(container, "preprocess", ExecCached, 1, 0, Prop{"cached_execution_id", true, "3"}, Prop{"parent_dag_id", true, root})
	in(x, raw2, "dataset", 1)
	out(x, clean, "clean_data", 1)
	x = task(container, "train-model", ExecFailed, 1, 19, Prop{"parent_dag_id", true, root})
	in(x, clean, "clean_data", 1)
	task(container, "evaluate", ExecCanceled, 20, 0)
	task(container, "deploy-model", ExecCanceled, 20, 0)
}
