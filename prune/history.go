package prune

import (
	"math"
	"slices"
	"sort"
	"time"
)

// historyNames are the features that depend on which of a pipeline's earlier graphlets
// trained: the spans new since the previous trained graphlet of the same Trainer node, and
// the outcomes of the graphlets that had finished. They are computed here, from the sequence
// of graphlets per pipeline, so that a replay that skips graphlets sees the history it
// produced; over the whole history they equal graphlet_features' columns of the same names
// (a test checks it), which the analyses read.
var historyNames = []string{
	"new_spans", "overlap_prev", "known_outcomes", "pushes_so_far", "pushes_last_5",
	"push_rate_so_far", "last_known_pushed", "hours_since_push", "new_spans_since_push",
}

// recent is how many of the latest outcomes pushes_last_5 counts.
const recent = 5

// tracker follows, graphlet by graphlet in time order, the history each pipeline has made:
// which graphlets trained and which of those had finished, and so were known.
type tracker struct {
	gs  []Graphlet
	col map[string]int // position in Features of each history feature the dataset has
	at  []int          // the same, in historyNames' order, -1 where absent
	by  map[int64]*pipelineState
}

// pipelineState is one pipeline's history as of the latest Trainer start.
type pipelineState struct {
	prev    []nodeLast // the last graphlet trained, per Trainer node
	running []int      // trained graphlets not yet finished, by (finish time, id)
	known   int        // finished graphlets
	pushes  int
	last    [recent]bool // outcomes of the latest finished graphlets, a ring indexed by known
	// lastPushed is the outcome of the latest finished graphlet; lastPush the latest push
	// time among them; lastPushedSpans the spans of the latest that pushed.
	lastPushed      bool
	lastPush        time.Time
	lastPushedSpans []int64
}

// nodeLast is the last graphlet trained of a Trainer node. A pipeline has few Trainer nodes,
// most often one, so they are kept in a slice.
type nodeLast struct {
	node string
	last int
}

// node returns where prev holds a Trainer node, -1 if it does not.
func (s *pipelineState) node(name string) int {
	return slices.IndexFunc(s.prev, func(n nodeLast) bool { return n.node == name })
}

func newTracker(ds *Dataset) *tracker {
	t := &tracker{gs: ds.Graphlets, col: map[string]int{}, by: map[int64]*pipelineState{}}
	for j, n := range ds.Names {
		if slices.Contains(historyNames, n) {
			t.col[n] = j
		}
	}
	for _, n := range historyNames {
		j, ok := t.col[n]
		if !ok {
			j = -1
		}
		t.at = append(t.at, j)
	}
	return t
}

// clone copies the tracker, so that several replays can start from one point in time.
func (t *tracker) clone() *tracker {
	c := &tracker{gs: t.gs, col: t.col, at: t.at, by: make(map[int64]*pipelineState, len(t.by))}
	for id, s := range t.by {
		cs := *s
		cs.prev = slices.Clone(s.prev)
		cs.running = slices.Clone(s.running)
		c.by[id] = &cs
	}
	return c
}

func (t *tracker) state(pipeline int64) *pipelineState {
	s := t.by[pipeline]
	if s == nil {
		s = &pipelineState{}
		t.by[pipeline] = s
	}
	return s
}

// advance brings graphlet i's pipeline's history up to its Trainer's start: the outcomes of
// the graphlets that finished strictly before it become known. It returns the pipeline's
// state.
func (t *tracker) advance(i int) *pipelineState {
	g := &t.gs[i]
	s := t.state(g.PipelineID)
	for len(s.running) > 0 && t.gs[s.running[0]].Finished.Before(g.Start) {
		s.finish(&t.gs[s.running[0]])
		s.running = s.running[1:]
	}
	return s
}

// The positions of the history features in historyNames.
const (
	hNewSpans = iota
	hOverlapPrev
	hKnownOutcomes
	hPushesSoFar
	hPushesLast5
	hPushRateSoFar
	hLastKnownPushed
	hHoursSincePush
	hNewSpansSincePush
)

// features returns graphlet i's features as its Trainer's start sees the history so far: its
// own features with the history features computed again, in dst's room when it has enough.
// An outcome counts once its graphlet finished strictly before the start.
func (t *tracker) features(i int, dst []float64) []float64 {
	g := &t.gs[i]
	s := t.advance(i)
	x := append(dst[:0], g.Features...)
	set := func(k int, v float64) {
		if j := t.at[k]; j >= 0 {
			x[j] = v
		}
	}
	nan := math.NaN()
	if k := s.node(g.TrainerNode); k >= 0 {
		p := s.prev[k].last
		fresh := notIn(g.Spans, t.gs[p].Spans)
		set(hNewSpans, float64(fresh))
		overlap := nan
		if len(g.Spans) > 0 {
			overlap = float64(len(g.Spans)-fresh) / float64(len(g.Spans))
		}
		set(hOverlapPrev, overlap)
	} else {
		set(hNewSpans, float64(len(g.Spans)))
		set(hOverlapPrev, nan)
	}
	set(hKnownOutcomes, float64(s.known))
	set(hPushesSoFar, float64(s.pushes))
	var last int
	for _, p := range s.last[:min(s.known, recent)] {
		last += int(b2f(p))
	}
	set(hPushesLast5, float64(last))
	rate, lastPushed := nan, nan
	if s.known > 0 {
		rate, lastPushed = float64(s.pushes)/float64(s.known), b2f(s.lastPushed)
	}
	set(hPushRateSoFar, rate)
	set(hLastKnownPushed, lastPushed)
	since, spans := nan, nan
	if !s.lastPush.IsZero() {
		// Whole seconds, as SQL's date_diff('second', ...) counts them.
		since = float64(g.Start.Unix()-s.lastPush.Unix()) / 3600
		spans = float64(notIn(g.Spans, s.lastPushedSpans))
	}
	set(hHoursSincePush, since)
	set(hNewSpansSincePush, spans)
	return x
}

// trained records that graphlet i, whose features were just read, ran: it becomes its Trainer
// node's previous graphlet, and its outcome is known once it finishes.
func (t *tracker) trained(i int) {
	g := &t.gs[i]
	s := t.state(g.PipelineID)
	if k := s.node(g.TrainerNode); k >= 0 {
		s.prev[k].last = i
	} else {
		s.prev = append(s.prev, nodeLast{g.TrainerNode, i})
	}
	if g.Finished.IsZero() {
		return
	}
	at := sort.Search(len(s.running), func(k int) bool {
		r := &t.gs[s.running[k]]
		return r.Finished.After(g.Finished) || r.Finished.Equal(g.Finished) && r.ID > g.ID
	})
	s.running = slices.Insert(s.running, at, i)
}

// finish makes a trained graphlet's outcome known.
func (s *pipelineState) finish(g *Graphlet) {
	s.last[s.known%recent] = g.Pushed
	s.known++
	s.lastPushed = g.Pushed
	if g.Pushed {
		s.pushes++
		s.lastPushedSpans = g.Spans
		if g.PushTime.After(s.lastPush) {
			s.lastPush = g.PushTime
		}
	}
}

// notIn counts the spans of a that b does not hold; both are sorted.
func notIn(a, b []int64) int {
	n, j := 0, 0
	for _, v := range a {
		for j < len(b) && b[j] < v {
			j++
		}
		if j == len(b) || b[j] != v {
			n++
		}
	}
	return n
}

// computeHistory sets every graphlet's history features from the whole history, every
// graphlet trained, and returns the tracker as it stands after the last one.
func (ds *Dataset) computeHistory() {
	t := newTracker(ds)
	for i := range ds.Graphlets {
		// In place: features copies the graphlet's own features before it sets the history's.
		t.features(i, ds.Graphlets[i].Features)
		t.trained(i)
	}
	if j, ok := t.col["new_spans"]; ok {
		for i := range ds.Graphlets {
			ds.Graphlets[i].NewSpans = ds.Graphlets[i].Features[j]
		}
	}
}

// trackerAt returns the history as it stands when graphlet from starts, every graphlet
// before it trained.
func (ds *Dataset) trackerAt(from int) *tracker {
	t := newTracker(ds)
	for i := 0; i < from; i++ {
		t.advance(i)
		t.trained(i)
	}
	return t
}

// closedLoop replays graphlets from..to-1 from the history t holds (t is used up): each one's
// history features come from the graphlets kept so far, skip decides on them, and a kept
// graphlet joins the history. It returns the decisions, indexed from from. skip may not keep
// x past its call.
func (t *tracker) closedLoop(from, to int, skip func(i int, x []float64) bool) []bool {
	out := make([]bool, to-from)
	var x []float64
	for i := from; i < to; i++ {
		x = t.features(i, x)
		if out[i-from] = skip(i, x); !out[i-from] {
			t.trained(i)
		}
	}
	return out
}

// only returns a tracker that holds pipeline p's history as t does, and no other's.
func (t *tracker) only(p int64) *tracker {
	c := &tracker{gs: t.gs, col: t.col, at: t.at, by: map[int64]*pipelineState{}}
	if s := t.by[p]; s != nil {
		cs := *s
		cs.prev = slices.Clone(s.prev)
		cs.running = slices.Clone(s.running)
		c.by[p] = &cs
	}
	return c
}

// HistoryFeatures returns the names of the features that depend on which earlier graphlets
// trained, which a replay computes from the history it produced.
func HistoryFeatures() []string { return slices.Clone(historyNames) }

// scorer scores graphlets with a fitted model. base holds the scores of graphlets from..
// on the store's history; a replay whose features are the same reuses them.
type scorer struct {
	model Model
	enc   *encoder
	gs    []Graphlet
	from  int
	base  []float64
}

// memo keeps, in one pipeline's replays at many thresholds, the scores of its graphlets on
// the histories they were scored on. Replays at neighbouring thresholds mostly leave a
// graphlet a history that a model which bins its features (binKeyer) scores the same, as
// its history features fall in the same bins.
type memo struct {
	cols   []int // the positions of the history features
	scores map[memoKey]float64
}

// newMemo returns an empty memo for the history features t computes, which come first among
// the encoded features, at the same positions.
func newMemo(t *tracker) *memo {
	m := &memo{scores: map[memoKey]float64{}}
	for _, j := range t.at {
		if j >= 0 {
			m.cols = append(m.cols, j)
		}
	}
	return m
}

type memoKey struct {
	graphlet int
	bins     uint64 // the bins of its history features
}

// binKeyer is a model whose score depends on each feature only through the bin its value
// falls in (Boosted). binKey packs the bins of x's features cols into one key; ok is false
// when they do not fit in one.
type binKeyer interface {
	binKey(x []float64, cols []int) (key uint64, ok bool)
}

// score returns the model's score of graphlet i on its features x; memo, when not nil,
// keeps the scores of the pipeline's replays.
func (s *scorer) score(i int, x []float64, m *memo) float64 {
	if sameFeatures(x, s.gs[i].Features) {
		return s.base[i-s.from]
	}
	var key memoKey
	keyed := false
	if b, ok := s.model.(binKeyer); ok && m != nil {
		key.graphlet = i
		key.bins, keyed = b.binKey(x, m.cols)
		if p, ok := m.scores[key]; keyed && ok {
			return p
		}
	}
	p := s.model.Predict(s.enc.encodeOne(&s.gs[i], x))
	if keyed {
		m.scores[key] = p
	}
	return p
}

func sameFeatures(a, b []float64) bool {
	for j := range a {
		if a[j] != b[j] && !(math.IsNaN(a[j]) && math.IsNaN(b[j])) {
			return false
		}
	}
	return true
}

// replayAt replays graphlets from..to-1 in closed loop from the history start holds (left
// as it was), skipping a graphlet when the model scores it below threshold; it returns the
// decisions and the scores they were made on. The pipelines replay apart, side by side, as
// in a sweep of one threshold.
func (s *scorer) replayAt(start *tracker, to int, threshold float64) (skip []bool, scores []float64) {
	order, byPipeline := s.pipelines(to)
	each(len(order), func(k int) {
		s.replays(byPipeline[order[k]], order[k], start, []float64{threshold})
	})
	skip, scores = make([]bool, to-s.from), make([]float64, to-s.from)
	for _, r := range byPipeline {
		for k, i := range r.idx {
			skip[i-s.from], scores[i-s.from] = r.skip[k], r.scores[k]
		}
	}
	return skip, scores
}

// pipelines groups graphlets from..to-1 by pipeline, in the order each first appears.
func (s *scorer) pipelines(to int) (order []int64, byPipeline map[int64]*pipelineReplay) {
	byPipeline = map[int64]*pipelineReplay{}
	for i := s.from; i < to; i++ {
		p := s.gs[i].PipelineID
		r := byPipeline[p]
		if r == nil {
			r = &pipelineReplay{}
			byPipeline[p] = r
			order = append(order, p)
		}
		r.idx = append(r.idx, i)
	}
	return order, byPipeline
}

// pipelineReplay is one pipeline's replays in a sweep.
type pipelineReplay struct {
	idx    []int     // its graphlets, in time order
	scores []float64 // their scores in the latest replay
	skip   []bool    // and the decisions
	at     float64   // the latest replay's threshold
	done   bool
	// changes are its decisions at each threshold where they changed, from the first
	// graphlet decided otherwise on, in threshold order.
	changes []decisions
}

// decisions are a pipeline's decisions at a sweep's at-th threshold, from its first-th
// graphlet on.
type decisions struct {
	at, first int
	skip      []bool
}

// firstChange returns the first graphlet the replay at threshold t could decide otherwise,
// the first whose score lies between the replay's threshold and t; -1 when there is none, and
// the replay at t is this one.
func (r *pipelineReplay) firstChange(t float64) int {
	for k, p := range r.scores {
		if (p < t) != (p < r.at) {
			return k
		}
	}
	return -1
}

// replays replays one pipeline in closed loop at each of thresholds in turn, from the
// history start holds. Its replay at one threshold is its replay at the one before unless
// it scored a graphlet between the two: until then it skipped the same graphlets, saw the
// same history and scored the same. So it is replayed again only when its decisions change,
// and from the first graphlet it decides otherwise.
func (s *scorer) replays(r *pipelineReplay, p int64, start *tracker, thresholds []float64) {
	m := newMemo(start)
	var x []float64
	for at, t := range thresholds {
		first := 0
		if r.done {
			if first = r.firstChange(t); first < 0 {
				continue
			}
		} else {
			r.scores, r.skip = make([]float64, len(r.idx)), make([]bool, len(r.idx))
		}
		// Up to the first graphlet decided otherwise, the replay is the last one: its
		// history is only brought along.
		tr := start.only(p)
		for k, i := range r.idx {
			if k < first {
				tr.advance(i)
			} else {
				x = tr.features(i, x)
				r.scores[k] = s.score(i, x, m)
				r.skip[k] = r.scores[k] < t
			}
			if !r.skip[k] {
				tr.trained(i)
			}
		}
		r.at, r.done = t, true
		r.changes = append(r.changes, decisions{at: at, first: first, skip: slices.Clone(r.skip[first:])})
	}
}

// sweep replays graphlets from..to-1 in closed loop once per threshold, in order. The
// pipelines replay apart, as their histories are apart, side by side (replays); then each
// threshold's decisions are put together from the pipelines' and scored, side by side too.
func (s *scorer) sweep(name string, start *tracker, to int, end time.Time, thresholds []float64) []Outcome {
	order, byPipeline := s.pipelines(to)
	each(len(order), func(k int) {
		s.replays(byPipeline[order[k]], order[k], start, thresholds)
	})
	skips := make([][]bool, len(thresholds))
	skip := make([]bool, to-s.from)
	seen := make(map[int64]int, len(order)) // how many of each pipeline's changes are in skip
	for at := range thresholds {
		for _, p := range order {
			r := byPipeline[p]
			for ; seen[p] < len(r.changes) && r.changes[seen[p]].at == at; seen[p]++ {
				c := r.changes[seen[p]]
				for k, d := range c.skip {
					skip[r.idx[c.first+k]-s.from] = d
				}
			}
		}
		skips[at] = slices.Clone(skip)
	}
	rp := newReplayer(s.gs[s.from:to], end)
	out := make([]Outcome, len(thresholds))
	each(len(thresholds), func(at int) {
		out[at] = rp.replay(name, skips[at])
		out[at].Threshold = &thresholds[at]
	})
	return out
}
