package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPruneJSON runs the study on a small generated corpus and checks the JSON users script
// against: its keys, shares that are fractions, and the ground truth found beside the corpus.
func TestPruneJSON(t *testing.T) {
	db, _, _, _ := genLoad(t, "-q", "--pipelines", "12", "--seed", "3")
	out := filepath.Join(t.TempDir(), "prune")
	code, stdout, errOut := mlprov(t, "prune", "--db", db, "--json", "--out", out)
	if code != 0 {
		t.Fatalf("prune: exit %d: %s", code, errOut)
	}
	var res struct {
		OperatingPoint map[string]any   `json:"operating_point"`
		Hindsight      map[string]any   `json:"hindsight"`
		BestPossible   map[string]any   `json:"best_possible"`
		Baselines      []map[string]any `json:"baselines"`
		Model          map[string]any   `json:"model"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("prune --json printed %q: %v", stdout, err)
	}
	if res.BestPossible == nil {
		t.Error("no best_possible: the generator's ground truth beside the corpus was not found")
	}
	for _, o := range append([]map[string]any{res.OperatingPoint, res.BestPossible}, res.Baselines...) {
		for _, k := range []string{"waste_saved", "pushes_lost", "compute_saved"} {
			v, ok := o[k].(float64)
			if !ok || v < 0 || v > 1 {
				t.Errorf("%v: %s = %v, want a share in [0, 1]", o["name"], k, o[k])
			}
		}
		if _, ok := o["staleness_added_hours_mean"].(float64); !ok {
			t.Errorf("%v: no staleness_added_hours_mean", o["name"])
		}
	}
	if res.OperatingPoint["chosen_in_advance"] != true || res.BestPossible["chosen_in_advance"] != true {
		t.Errorf("chosen_in_advance: operating point %v, best possible %v; want true for both", res.OperatingPoint["chosen_in_advance"], res.BestPossible["chosen_in_advance"])
	}
	if res.Hindsight["chosen_in_advance"] != false || res.Hindsight["pushes_lost"].(float64) > 0.01 {
		t.Errorf("hindsight %v: want chosen_in_advance false and pushes lost within the default bound 0.01", res.Hindsight)
	}
	names := []string{}
	for _, b := range res.Baselines {
		names = append(names, b["name"].(string))
	}
	if got := strings.Join(names, "; "); !strings.Contains(got, "run everything") || !strings.Contains(got, "oracle") || !strings.Contains(got, "no new data") || !strings.Contains(got, "random") {
		t.Errorf("baselines %q lack one of run everything, oracle, no new data, random", got)
	}
	if auc, ok := res.Model["auc"].(float64); !ok || auc <= 0.5 {
		t.Errorf("model AUC %v: want better than chance", res.Model["auc"])
	}
	if code, _, _ := mlprov(t, "prune", "--db", db, "--max-cadence-loss", "2"); code != 2 {
		t.Errorf("--max-cadence-loss 2: exit %d, want a usage error", code)
	}
	// The model is kept in the store, once per run of the study, and the decisions are on disk.
	if _, stdout, _ := mlprov(t, "prune", "--db", db); !strings.Contains(stdout, "kept as pruning model 2 in the store") {
		t.Errorf("a second prune does not say it kept model 2:\n%s", stdout)
	}
	code, stdout, errOut = mlprov(t, "query", "--db", db, "--format", "csv", "SELECT count(*), max(kind), min(threshold) > 0, max(train_until) < min(saved_at) FROM prune_models")
	if code != 0 || !strings.Contains(stdout, "2,"+res.Model["kind"].(string)+",true,true") {
		t.Errorf("prune_models after two studies: exit %d, %q %s", code, stdout, errOut)
	}
	b, err := os.ReadFile(filepath.Join(out, "decisions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "graphlet_id,pipeline_id,trainer_start,p_push,p_push_replayed,skipped" || len(lines)-1 != int(res.Model["eval_graphlets"].(float64)) {
		t.Errorf("decisions.csv: header %q and %d rows; want one row per replayed graphlet (%v)", lines[0], len(lines)-1, res.Model["eval_graphlets"])
	}
	for _, f := range []string{"prune.json", "pruning_tradeoff.png", "pruning_tradeoff.svg", "pruning_features.png", "pruning_features.svg"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("--out wrote no %s: %v", f, err)
		}
	}
}

// TestReportReusesStudy checks that a report of a store whose study mlprov prune kept shows
// that study without running it again, that a load that changes the store makes the next
// report run the study (and keep it, for the report after), and that a reused study reports
// exactly what it did when it ran.
func TestReportReusesStudy(t *testing.T) {
	db, _, _, _ := genLoad(t, "-q", "--pipelines", "12", "--seed", "3")
	if code, _, errOut := mlprov(t, "prune", "--db", db); code != 0 {
		t.Fatalf("prune: exit %d: %s", code, errOut)
	}
	report := func(want ...string) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "report")
		code, _, errOut := mlprov(t, "report", "--db", db, "--out", dir)
		if code != 0 {
			t.Fatalf("report: exit %d: %s", code, errOut)
		}
		for _, w := range want {
			if !strings.Contains(errOut, w) {
				t.Errorf("report's progress lacks %q:\n%s", w, errOut)
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	afterPrune := report("report: reused the pruning study kept with pruning model 1: the store has not changed since")

	// A load that adds a pipeline changes the store the study was made from.
	more := writeSource(t, map[string]string{
		"pipelines.jsonl":  `{"pipeline_id": 900000, "name": "late"}`,
		"executions.jsonl": `{"execution_id": 900001, "pipeline_id": 900000, "op_type": "Trainer", "state": "complete", "cost": 3}`,
		"artifacts.jsonl":  `{"artifact_id": 900002, "pipeline_id": 900000, "type": "Model"}`,
		"events.jsonl":     `{"execution_id": 900001, "artifact_id": 900002, "direction": "out", "role": "model"}`,
	})
	if code, _, errOut := mlprov(t, "load", "-q", "--db", db, more); code != 0 {
		t.Fatalf("load: exit %d: %s", code, errOut)
	}
	ran := report("report: ran the pruning study in ", "report: kept the pruning study with pruning model 2, for the next report of this store")
	reused := report("report: reused the pruning study kept with pruning model 2")
	if ran != reused {
		t.Error("results.json of a report that reused the study differs from the one that ran it")
	}
	if afterPrune == "" {
		t.Error("no results.json")
	}
}
