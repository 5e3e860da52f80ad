package engine_test

import (
	"context"
	"fmt"
	"log"

	"mlprov/engine"
	"mlprov/loaders/native"
)

// openExample opens a store in memory and loads the hand-made example corpus into it.
func openExample(ctx context.Context) *engine.Engine {
	e, err := engine.Open(ctx, ":memory:", engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := e.Load(ctx, &native.Loader{}, "../testdata/example", engine.LoadOptions{}); err != nil {
		e.Close()
		log.Fatal(err)
	}
	return e
}

// ExampleOpen opens a store in memory, loads the example corpus in one transaction and
// queries the graphlets derived from it.
func ExampleOpen() {
	ctx := context.Background()
	e, err := engine.Open(ctx, ":memory:", engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	res, err := e.Load(ctx, &native.Loader{}, "../testdata/example", engine.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loaded %s: %d pipelines, %d executions, %d artifacts, %d events\n",
		res.Format, res.Pipelines, res.Executions, res.Artifacts, res.Events)

	rows, err := e.DB().QueryContext(ctx,
		"SELECT graphlet_id, pushed, cost_exclusive FROM graphlets ORDER BY graphlet_id")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var pushed bool
		var cost float64
		if err := rows.Scan(&id, &pushed, &cost); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("graphlet %d: pushed %t, exclusive cost %g\n", id, pushed, cost)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// loaded native: 2 pipelines, 36 executions, 41 artifacts, 103 events
	// graphlet 106: pushed true, exclusive cost 1260
	// graphlet 116: pushed false, exclusive cost 1337
	// graphlet 125: pushed true, exclusive cost 1381
	// graphlet 204: pushed true, exclusive cost 485
	// graphlet 213: pushed true, exclusive cost 545
}

// ExampleEngine_Graphlet reads one graphlet, the day-2 taxi model that was not pushed, with
// its members and the events between them.
func ExampleEngine_Graphlet() {
	ctx := context.Background()
	e := openExample(ctx)
	defer e.Close()

	g, err := e.Graphlet(ctx, 116)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("graphlet %d of pipeline %d: pushed %t, %d members, %d edges\n",
		g.ID, g.PipelineID, g.Pushed, len(g.Nodes), len(g.Edges))
	for _, n := range g.Nodes {
		if n.Kind == "execution" {
			fmt.Printf("  %s %d %s (%s)\n", n.Side, n.ID, n.Type, n.State)
		}
	}
	// Output:
	// graphlet 116 of pipeline 1: pushed false, 19 members, 24 edges
	//   upstream 101 CsvExampleGen (complete)
	//   upstream 102 StatisticsGen (complete)
	//   upstream 103 SchemaGen (complete)
	//   upstream 111 CsvExampleGen (complete)
	//   upstream 115 Transform (complete)
	//   trainer 116 Trainer (complete)
	//   downstream 117 Evaluator (complete)
	//   downstream 118 Pusher (complete)
}

// ExampleWalkLineage walks upstream from the day-1 taxi model to everything it was made from.
func ExampleWalkLineage() {
	ctx := context.Background()
	e := openExample(ctx)
	defer e.Close()

	l, err := engine.WalkLineage(ctx, e.DB(), engine.Node{Kind: "artifact", ID: 1007}, engine.LineageOptions{Up: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Options.Describe())
	for _, n := range l.Nodes {
		fmt.Printf("hop %d: %s %s\n", n.Hops, engine.Node{Kind: n.Kind, ID: n.ID}, n.Type)
	}
	// Output:
	// upstream, all hops
	// hop 5: e:101 CsvExampleGen
	// hop 5: e:102 StatisticsGen
	// hop 4: a:1001 Examples
	// hop 4: a:1002 ExampleStatistics
	// hop 3: e:103 SchemaGen
	// hop 3: e:105 Transform
	// hop 2: a:1003 Schema
	// hop 2: a:1005 TransformGraph
	// hop 2: a:1006 Examples
	// hop 1: e:106 Trainer
	// hop 0: a:1007 Model
}
