package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAdvise asks advise about Trainer runs the study replayed: its p_push is their score in
// decisions.csv, its decision follows the threshold unless it warns, and --exit-code carries
// the decision.
func TestAdvise(t *testing.T) {
	db, _, _, _ := genLoad(t, "-q", "--pipelines", "12", "--seed", "3")
	code, _, errOut := mlprov(t, "advise", "--db", db, "--pipeline", "1")
	if code != 1 || !strings.Contains(errOut, "the store keeps no pruning model") || !strings.Contains(errOut, "try: mlprov prune --db "+db) {
		t.Errorf("advise before prune: exit %d, %q; want an error that says to run prune", code, errOut)
	}
	out := filepath.Join(t.TempDir(), "prune")
	if code, _, errOut := mlprov(t, "prune", "--db", db, "--out", out); code != 0 {
		t.Fatalf("prune: exit %d: %s", code, errOut)
	}
	f, err := os.Open(filepath.Join(out, "decisions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var asked, skips int
	for _, r := range rows[1:] {
		skipped := r[5] == "true"
		if skipped && skips >= 3 || !skipped && asked-skips >= 3 {
			continue
		}
		asked++
		if skipped {
			skips++
		}
		code, stdout, errOut := mlprov(t, "advise", "--db", db, "--pipeline", r[1], "--at", r[2], "--json", "--exit-code")
		var a struct {
			PipelineID int64    `json:"pipeline_id"`
			Decision   string   `json:"decision"`
			PPush      float64  `json:"p_push"`
			Threshold  float64  `json:"threshold"`
			GraphletID int64    `json:"graphlet_id"`
			Warnings   []string `json:"warnings"`
			Reasons    []struct {
				Feature      string  `json:"feature"`
				Contribution float64 `json:"contribution"`
			} `json:"reasons"`
		}
		if err := json.Unmarshal([]byte(stdout), &a); err != nil {
			t.Fatalf("advise --json printed %q (%s): %v", stdout, errOut, err)
		}
		want, _ := strconv.ParseFloat(r[3], 64)
		if a.PPush != want || strconv.FormatInt(a.GraphletID, 10) != r[0] {
			t.Errorf("graphlet %s: advise's p_push %v for graphlet %d, decisions.csv's %v", r[0], a.PPush, a.GraphletID, want)
		}
		wantDecision := "train"
		if a.PPush < a.Threshold && len(a.Warnings) == 0 {
			wantDecision = "skip"
		}
		wantCode := map[string]int{"train": 0, "skip": 10}[wantDecision]
		if a.Decision != wantDecision || code != wantCode {
			t.Errorf("graphlet %s: decision %q, exit %d, for p_push %v, threshold %v, warnings %q; want %q, exit %d",
				r[0], a.Decision, code, a.PPush, a.Threshold, a.Warnings, wantDecision, wantCode)
		}
		if len(a.Reasons) == 0 || a.Reasons[0].Contribution == 0 {
			t.Errorf("graphlet %s: reasons %+v, want the features that moved the score", r[0], a.Reasons)
		}
	}
	if skips == 0 {
		t.Error("the study skipped nothing to ask about")
	}
	if code, _, errOut := mlprov(t, "advise", "--db", db, "--pipeline", "nope"); code != 1 || !strings.Contains(errOut, `no pipeline "nope"`) {
		t.Errorf("an unknown pipeline: exit %d, %q", code, errOut)
	}
	if code, _, _ := mlprov(t, "advise", "--db", db, "--pipeline", "1", "--at", "tomorrow"); code != 2 {
		t.Errorf("--at tomorrow: exit %d, want a usage error", code)
	}
	// Now, long after the model's training period: a warning, and train.
	code, stdout, _ := mlprov(t, "advise", "--db", db, "--pipeline", rows[1][1], "--exit-code")
	if code != 0 || !strings.Contains(stdout, ": train (") || !strings.Contains(stdout, "warning: model 1 learned until") {
		t.Errorf("advise now: exit %d:\n%s", code, stdout)
	}
}

// TestAdviseTooLittleHistory asks about a pipeline's first Trainer runs: too few outcomes are
// known to judge, so the answer is train, with a warning that says so.
func TestAdviseTooLittleHistory(t *testing.T) {
	db, _, _, _ := genLoad(t, "-q", "--pipelines", "12", "--seed", "3")
	if code, _, errOut := mlprov(t, "prune", "--db", db); code != 0 {
		t.Fatalf("prune: exit %d: %s", code, errOut)
	}
	_, first, _ := mlprov(t, "query", "--db", db, "--format", "csv", "SELECT pipeline_id, strftime(min(trainer_start), '%Y-%m-%dT%H:%M:%S.%fZ') FROM graphlets GROUP BY 1 ORDER BY 1 LIMIT 1")
	r := strings.Split(strings.Split(strings.TrimSpace(first), "\n")[1], ",")
	code, stdout, errOut := mlprov(t, "advise", "--db", db, "--pipeline", r[0], "--at", r[1])
	if code != 0 || !strings.Contains(stdout, ": train (") || !strings.Contains(stdout, "0 finished training runs before") {
		t.Errorf("advise at pipeline %s's first Trainer: exit %d:\n%s%s", r[0], code, stdout, errOut)
	}
	// Before its first Trainer, a pipeline has nothing to judge by: train, never an error
	// that would stop the pipeline's step.
	code, stdout, errOut = mlprov(t, "advise", "--db", db, "--pipeline", r[0], "--at", "2000-01-01", "--exit-code", "--json")
	if code != 0 || !strings.Contains(stdout, `"decision": "train"`) || !strings.Contains(stdout, `"p_push": null`) || !strings.Contains(stdout, "no Trainer run to judge by before 2000-01-01") {
		t.Errorf("advise before any Trainer: exit %d:\n%s%s", code, stdout, errOut)
	}
}

// TestTooSmallToLearn checks that prune and advise, on a store too small to learn from, say
// how many graphlets it holds, pushed and not, and what they need.
func TestTooSmallToLearn(t *testing.T) {
	db := exampleStore(t)
	code, _, errOut := mlprov(t, "prune", "--db", db)
	for _, want := range []string{"too few graphlets to study pruning: 5 graphlets (4 pushed, 1 not)", "at least 10 graphlets in each of three parts", "to learn from 2 graphlets (2 pushed, 0 not)"} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("prune on the example: exit %d, %q lacks %q", code, errOut, want)
		}
	}
	code, _, errOut = mlprov(t, "advise", "--db", db, "--pipeline", "taxi")
	if code != 1 || !strings.Contains(errOut, "the store keeps no pruning model") || !strings.Contains(errOut, "the store's 5 graphlets (4 pushed, 1 not)") {
		t.Errorf("advise on the example: exit %d, %q", code, errOut)
	}
}
