package runner_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"mlprov/engine"
	"mlprov/loaders/native"
	"mlprov/report"
	"mlprov/report/runner"
)

// Example loads the example corpus into a store in memory, runs what a report shows, prints
// the start of the headline and writes the report folder.
func Example() {
	ctx := context.Background()
	e, err := engine.Open(ctx, ":memory:", engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Load(ctx, &native.Loader{}, "../../testdata/example", engine.LoadOptions{}); err != nil {
		log.Fatal(err)
	}
	in, err := runner.Run(ctx, e, runner.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range in.Analyses {
		if a.Name == report.HeadlineName {
			for _, row := range a.Result.Rows[:2] {
				fmt.Printf("%s: %s (paper: %s)\n", row[0], row[2], row[1])
			}
			last := a.Result.Rows[len(a.Result.Rows)-1]
			fmt.Printf("%s: %s\n", last[0], last[2])
		}
	}
	dir, err := os.MkdirTemp("", "mlprov-report")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := report.Write(ctx, filepath.Join(dir, "report"), *in); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(in.Analyses), "sections")
	// Output:
	// pipelines: 2 (paper: 3,000)
	// trained models: 5 (paper: > 450,000)
	// waste saved by pruning, chosen in advance for at most 1.0% of pushes lost: not run: too few graphlets to study pruning
	// 19 sections
}
