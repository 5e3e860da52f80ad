package bench

import (
	"context"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
)

// TestAlternativesAgree checks that every way of deriving graphlets finds the same members
// as the default, on the hand-made example (where warm starts and baselines must stop the walk).
func TestAlternativesAgree(t *testing.T) {
	ctx := context.Background()
	e, err := engine.Open(ctx, ":memory:", engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Load(ctx, &native.Loader{}, "../testdata/example", engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	var want Members
	if err := e.DB().QueryRowContext(ctx, summarise("SELECT graphlet_id, execution_id FROM graphlet_executions")).Scan(&want.Pairs, &want.Graphlets, &want.Checksum); err != nil {
		t.Fatal(err)
	}
	if want.Pairs != 37 || want.Graphlets != 5 {
		t.Fatalf("the example has %d members in %d graphlets, want 37 in 5", want.Pairs, want.Graphlets)
	}
	for _, a := range Alternatives() {
		got, err := a.Run(ctx, e.DB())
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		if got != want {
			t.Errorf("%s found %+v, want %+v", a.Name, got, want)
		}
	}
}
