// Package prune is mlprov's pruning study: it learns, from what was known when each Trainer
// started, whether the graphlet will push a model, chooses a threshold on the period it
// learned from, then replays the later part of the history in closed loop skipping the
// graphlets predicted not to push, and measures the waste saved against the pushes lost and
// the staleness added to the deployed models. The model it learns is kept in the store
// (Save), and Advise asks it whether a Trainer about to start should train.
package prune

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Graphlet is one model graphlet as the study sees it.
type Graphlet struct {
	ID            int64
	PipelineID    int64
	TrainerNode   string
	Start         time.Time // when its Trainer started: the moment of the decision
	Finished      time.Time // when its last execution ended, its outcome known; zero if never
	Spans         []int64   // the input spans it trains on, sorted
	Pushed        bool
	PushTime      time.Time // zero when it did not push
	CostExclusive float64   // what skipping it saves
	NewSpans      float64   // spans not read by the previous graphlet; NaN if unknown
	ModelType     string
	Features      []float64 // numeric features, NaN where unknown, in Dataset.Names order
	PPush         float64   // the generator's p_push, NaN when there is no ground truth
}

// Dataset is every graphlet in time order, with the names of the numeric features.
type Dataset struct {
	Names     []string
	Graphlets []Graphlet
}

// numericFeatures are the graphlet_features columns the models read, besides model_type.
var numericFeatures = []string{
	"n_spans", "new_spans", "overlap_prev", "drift", "drift_window", "anomalies",
	"schema_changed", "structure_changed", "runs_since_structure_change", "code_changed", "warm_start",
	"known_outcomes", "pushes_so_far", "pushes_last_5", "push_rate_so_far", "last_known_pushed",
	"hours_since_push", "new_spans_since_push",
}

// Load reads the graphlets and their features from a store's derived tables. The history
// features (historyNames) are computed from the graphlets read, as a replay computes them.
func Load(ctx context.Context, db *sql.DB) (*Dataset, error) {
	return load(ctx, db, "")
}

// loadPipeline is Load for one pipeline's graphlets: the history features are per pipeline,
// so they come out as Load computes them.
func loadPipeline(ctx context.Context, db *sql.DB, pipeline int64) (*Dataset, error) {
	return load(ctx, db, " AND f.pipeline_id = ?", pipeline)
}

func load(ctx context.Context, db *sql.DB, where string, args ...any) (*Dataset, error) {
	q := `SELECT f.graphlet_id, f.pipeline_id, coalesce(f.trainer_node_id, ''), f.trainer_start, g.finished,
		array_to_string(g.input_spans, ','), g.pushed, g.push_time, g.cost_exclusive, f.model_type`
	// The history features are computed from the graphlets read (computeHistory), so their
	// columns are not read.
	var read []int // the positions in numericFeatures of the columns read
	for j, n := range numericFeatures {
		if !slices.Contains(historyNames, n) {
			q += fmt.Sprintf(", (f.%s)::DOUBLE", n)
			read = append(read, j)
		}
	}
	where = ` WHERE f.trainer_start IS NOT NULL` + where
	// How many there are, so that the graphlets are not copied as they are read.
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM graphlet_features f`+where, args...).Scan(&n); err != nil {
		return nil, fmt.Errorf("count graphlet features: %w", err)
	}
	q += ` FROM graphlet_features f JOIN graphlets g USING (graphlet_id)` + where + ` ORDER BY f.trainer_start, f.graphlet_id`
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read graphlet features: %w", err)
	}
	defer rows.Close()
	ds := &Dataset{Names: numericFeatures, Graphlets: make([]Graphlet, 0, n)}
	// Every graphlet's features, one after another in one allocation.
	slab := make([]float64, 0, n*len(numericFeatures))
	var g Graphlet
	var push, finished sql.NullTime
	var spans sql.NullString
	vals := make([]sql.NullFloat64, len(read))
	dest := []any{&g.ID, &g.PipelineID, &g.TrainerNode, &g.Start, &finished, &spans, &g.Pushed, &push, &g.CostExclusive, &g.ModelType}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		g = Graphlet{}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read graphlet features: %w", err)
		}
		g.PushTime, g.Finished = push.Time, finished.Time // zero when NULL
		if g.Spans, err = parseSpans(spans.String); err != nil {
			return nil, fmt.Errorf("read graphlet %d's input spans: %w", g.ID, err)
		}
		if len(slab)+len(numericFeatures) > cap(slab) {
			slab = make([]float64, 0, len(numericFeatures)*1024) // a count that grew since
		}
		at := len(slab)
		for range numericFeatures {
			slab = append(slab, math.NaN())
		}
		g.Features = slab[at:len(slab):len(slab)]
		for i, v := range vals {
			if v.Valid {
				g.Features[read[i]] = v.Float64
			}
		}
		g.PPush = math.NaN()
		ds.Graphlets = append(ds.Graphlets, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read graphlet features: %w", err)
	}
	ds.computeHistory()
	return ds, nil
}

// parseSpans reads a comma-separated list of spans, sorted as graphlets list them.
func parseSpans(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]int64, 0, strings.Count(s, ",")+1)
	for p := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// truthLine is one line of a generated corpus's ground_truth.jsonl.
type truthLine struct {
	ExecutionID int64   `json:"execution_id"`
	PPush       float64 `json:"p_push"`
}

// GroundTruth is a generated corpus's p_push, by Trainer execution id.
type GroundTruth map[int64]float64

// ReadGroundTruth reads a generator's ground_truth.jsonl. It reads no store, so that it can
// run beside Load.
func ReadGroundTruth(path string) (GroundTruth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := GroundTruth{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var t truthLine
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		p[t.ExecutionID] = t.PPush
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// AttachGroundTruth sets each graphlet's PPush from truth. It returns how many graphlets it
// matched.
func (ds *Dataset) AttachGroundTruth(truth GroundTruth) int {
	matched := 0
	for i := range ds.Graphlets {
		if v, ok := truth[ds.Graphlets[i].ID]; ok {
			ds.Graphlets[i].PPush = v
			matched++
		}
	}
	return matched
}

// HasGroundTruth reports whether every graphlet has a p_push.
func (ds *Dataset) HasGroundTruth() bool {
	for _, g := range ds.Graphlets {
		if math.IsNaN(g.PPush) {
			return false
		}
	}
	return len(ds.Graphlets) > 0
}

// splitByTime cuts graphlets (in time order) at the given fraction of their time span.
func splitByTime(gs []Graphlet, frac float64) (before, after []Graphlet) {
	if len(gs) == 0 {
		return nil, nil
	}
	first, last := gs[0].Start, gs[len(gs)-1].Start
	cut := first.Add(time.Duration(frac * float64(last.Sub(first))))
	i := sort.Search(len(gs), func(i int) bool { return gs[i].Start.After(cut) })
	return gs[:i], gs[i:]
}
