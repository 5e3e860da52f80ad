//go:build study

// The pruning study's acceptance, on generated corpora at a tenth of the paper's scale:
// `make study` (about a minute), or `make study STUDY_SEEDS=4,5`. It is not part of `make test`.
package prune_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
	"mlprov/prune"
	"mlprov/synth"
)

// TestStudyAtScale checks, for the seeds STUDY_SEEDS lists (1,2,3 when unset), that the
// operating point, its threshold chosen in advance for at most 1% of pushes lost, saves at
// least half of the wasted compute with at most 1.5% of pushes lost on the replay, beats
// every baseline but the oracle, and reaches 90% of the best possible predictor's saving at
// the same bound.
func TestStudyAtScale(t *testing.T) {
	ctx := context.Background()
	var seeds []uint64
	for _, s := range strings.Split(cmp.Or(os.Getenv("STUDY_SEEDS"), "1,2,3"), ",") {
		seed, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			t.Fatalf("STUDY_SEEDS=%s: %v", os.Getenv("STUDY_SEEDS"), err)
		}
		seeds = append(seeds, seed)
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "corpus")
			cfg := synth.DefaultConfig(synth.ScalePipelines(0.1))
			cfg.Seed = seed
			if _, err := synth.Generate(ctx, cfg, dir, synth.Options{}); err != nil {
				t.Fatal(err)
			}
			e, err := engine.Open(ctx, ":memory:", engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if _, err := e.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			ds, err := prune.Load(ctx, e.DB())
			if err != nil {
				t.Fatal(err)
			}
			truth, err := prune.ReadGroundTruth(filepath.Join(dir, "ground_truth.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			ds.AttachGroundTruth(truth)
			res, err := prune.Study(ds, prune.Options{TrainFraction: 0.6, MaxCadenceLoss: 0.01, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			op := res.OperatingPoint
			t.Logf("%s: AUC %.3f; saves %.1f%% of the waste, %.1f%% of pushes lost; best possible %.1f%%",
				res.Model.Kind, res.Model.AUC, 100*op.WasteSaved, 100*op.PushesLost, 100*res.BestPossible.WasteSaved)
			if op.WasteSaved < 0.5 || op.PushesLost > 0.015 {
				t.Errorf("operating point saves %.3f of the waste and loses %.3f of pushes; want >= 0.5 and <= 0.015", op.WasteSaved, op.PushesLost)
			}
			if op.WasteSaved < 0.9*res.BestPossible.WasteSaved {
				t.Errorf("operating point saves %.3f, under 90%% of the best possible %.3f", op.WasteSaved, res.BestPossible.WasteSaved)
			}
			for _, b := range res.Baselines {
				if strings.HasPrefix(b.Name, "oracle") || strings.HasPrefix(b.Name, "run everything") {
					continue
				}
				// Beating a baseline: saving more of the waste while losing no more pushes, or
				// losing fewer pushes for as much saving.
				if !(op.WasteSaved > b.WasteSaved && op.PushesLost <= b.PushesLost+1e-9 || op.PushesLost < b.PushesLost) {
					t.Errorf("operating point (%.3f saved, %.3f lost) does not beat %q (%.3f saved, %.3f lost)",
						op.WasteSaved, op.PushesLost, b.Name, b.WasteSaved, b.PushesLost)
				}
			}
		})
	}
}
