package prune_test

import (
	"context"
	"encoding/json"
	"testing"

	"mlprov/prune"
)

// TestAdviseEach checks that advising each of a pipeline's graphlets at once answers, for
// each, what Advise answers asked at its Trainer's start.
func TestAdviseEach(t *testing.T) {
	ctx := context.Background()
	e := generated(t, 12, 3)
	ds, err := prune.Load(ctx, e.DB())
	if err != nil {
		t.Fatal(err)
	}
	res, err := prune.Study(ds, prune.Options{TrainFraction: 0.6, MaxCadenceLoss: 0.01, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := prune.Save(ctx, e.DB(), res.Saved()); err != nil {
		t.Fatal(err)
	}
	m, err := prune.Latest(ctx, e.DB())
	if err != nil {
		t.Fatal(err)
	}
	var pipeline int64
	if err := e.DB().QueryRow(`SELECT pipeline_id FROM graphlets WHERE trainer_start IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).Scan(&pipeline); err != nil {
		t.Fatal(err)
	}
	each, err := prune.AdviseEach(ctx, e.DB(), m, pipeline)
	if err != nil {
		t.Fatal(err)
	}
	if len(each) < 10 {
		t.Fatalf("pipeline %d: %d answers", pipeline, len(each))
	}
	skips := 0
	for i, a := range each {
		if a.Decision == "skip" {
			skips++
		}
		if i%5 != 0 && i != len(each)-1 {
			continue // Advise reads the store for every answer: compare some
		}
		one, err := prune.Advise(ctx, e.DB(), m, pipeline, a.At)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(a)
		want, _ := json.Marshal(one)
		if string(got) != string(want) {
			t.Errorf("graphlet %d:\n%s\nwant what Advise answers:\n%s", *a.GraphletID, got, want)
		}
	}
	t.Logf("pipeline %d: %d graphlets, %d skipped", pipeline, len(each), skips)
}
