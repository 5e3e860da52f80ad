package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Execution states, as the store spells them.
const (
	stComplete uint8 = iota
	stFailed
	stCached
)

var stateNames = [...]string{"complete", "failed", "cached"}

// exec, art, event and truth are one pipeline's rows with pipeline-local ids (indexes into
// the batch's slices); the writer adds each table's running offset, so pipelines can be
// simulated independently and still get ids that are contiguous and unique in the corpus.
type exec struct {
	run        int32
	node, op   string
	state      uint8
	start, end int64 // seconds since the window opened
	cost       float64
	attrs      [2]int32 // range in batch.arena
}

type art struct {
	typ     string
	span    int64 // -1 for none
	version int64 // -1 for none
	create  int64
	size    int64 // -1 for unknown
	attrs   [2]int32
}

type event struct {
	exec, art int32
	out       bool
	role      string
	t         int64
}

type truth struct {
	exec   int32
	p      float64
	pushed bool
}

// batch is everything one pipeline wrote; attrs JSON objects live in one arena.
type batch struct {
	execs  []exec
	arts   []art
	events []event
	truths []truth
	arena  []byte
}

func (b *batch) reset() {
	b.execs, b.arts, b.events, b.truths, b.arena = b.execs[:0], b.arts[:0], b.events[:0], b.truths[:0], b.arena[:0]
}

// attrs builds a JSON object in the arena, one key at a time.
type attrs struct {
	b     *batch
	start int32
}

func (b *batch) obj() attrs {
	b.arena = append(b.arena, '{')
	return attrs{b: b, start: int32(len(b.arena) - 1)}
}

func (a attrs) key(k string) {
	if a.b.arena[len(a.b.arena)-1] != '{' {
		a.b.arena = append(a.b.arena, ',')
	}
	a.b.arena = append(a.b.arena, '"')
	a.b.arena = append(a.b.arena, k...)
	a.b.arena = append(a.b.arena, '"', ':')
}

func (a attrs) int(k string, v int64) attrs {
	a.key(k)
	a.b.arena = strconv.AppendInt(a.b.arena, v, 10)
	return a
}

// float adds v rounded to prec decimals, in its shortest form: the form DuckDB's JSON reader
// gives back, so that every output format loads to the same text.
func (a attrs) float(k string, v float64, prec int) attrs {
	a.key(k)
	scale := math.Pow10(prec)
	a.b.arena = strconv.AppendFloat(a.b.arena, math.Round(v*scale)/scale, 'f', -1, 64)
	return a
}

// str adds a string value; callers pass only plain ASCII without quotes or backslashes.
func (a attrs) str(k, v string) attrs {
	a.key(k)
	a.b.arena = append(a.b.arena, '"')
	a.b.arena = append(a.b.arena, v...)
	a.b.arena = append(a.b.arena, '"')
	return a
}

func (a attrs) done() [2]int32 {
	a.b.arena = append(a.b.arena, '}')
	return [2]int32{a.start, int32(len(a.b.arena))}
}

// Optional components of a pipeline's topology, as bits; a structure change flips one.
const (
	hasTransform uint8 = 1 << iota
	hasValidator
	hasInfra
	hasTuner
	hasCustomPre
	hasCustomPost
	nComponents = 6
)

// custom is a user-written component: op types that are not TFX's, so they fall in the
// 'other' category.
type custom struct{ op, artType, role string }

var (
	customPre = []custom{
		{"FeatureSelector", "FeatureSelection", "feature_selection"},
		{"LabelAuditor", "LabelReport", "label_report"},
		{"EmbeddingGen", "Embeddings", "embeddings"},
	}
	customPost = []custom{
		{"ModelCardGenerator", "ModelCard", "model_card"},
		{"FairnessAuditor", "FairnessReport", "fairness_report"},
		{"SliceAnalyzer", "SliceMetrics", "slice_metrics"},
	}
	exampleGens = []Weighted[string]{{"CsvExampleGen", 35}, {"ImportExampleGen", 25}, {"BigQueryExampleGen", 40}}
	domains     = []string{"ads", "search", "play", "video", "maps", "news", "shopping", "payments", "mail", "assistant", "photos", "translate"}
	tasks       = []string{"ctr", "ranking", "churn", "eta", "quality", "spam", "intent", "retrieval", "fraud", "forecast"}
)

// profile is what a pipeline drew once: fixed for its whole life.
type profile struct {
	start, end    int64 // seconds since the window opened
	cadence       int64 // seconds between spans
	latency       int64 // delay between a span's end and its arrival
	trigger       string
	k             int
	period        int64
	window        int
	exampleGen    string
	topo          uint8
	pre, post     custom
	tuneEvery     int
	warmStart     bool
	caching       bool
	spanBytes     float64
	costScale     float64
	fail          float64
	base          float64
	driftNoise    float64
	episodeRate   float64 // per second
	codeRate      float64 // per second
	configRate    float64
	structureRate float64
	schemaRate    float64
}

type model struct {
	id        int32
	created   int64
	blessedAt int64 // -1 when not blessed
}

type trainerState struct {
	node, evaluator, infra, pusher, post, latestResolver, blessedResolver string
	mt                                                                    ModelType
	models                                                                []model // most recent last
	ran                                                                   bool
	lastSpan                                                              int // newest span of its previous run
	lastCode, lastConfig                                                  int
	lastSchema                                                            int32
	sinceStructure                                                        int // runs since the last structure change
	lastTopo                                                              uint8
}

type spanState struct {
	ex, stats   int32 // latest Examples and ExampleStatistics artifacts
	anom        int32 // latest ExampleAnomalies artifact
	anomSchema  int32 // the Schema it was validated against
	exAt        int64 // when ex was created
	drift       float64
	anomalies   int64
	bytes       int64
	fingerprint uint64
}

// sim runs one pipeline. Every random draw comes from its own generator, seeded by the corpus
// seed and the pipeline's index, so a pipeline's rows do not depend on any other pipeline.
type sim struct {
	cfg  *Config
	r    *rand.Rand
	pid  int64
	p    profile
	b    *batch
	runs int32

	spans        []spanState
	nextSpan     int // first span not yet ingested
	schema       int32
	schemaNo     int
	schemaDue    bool
	hp           int32
	tunedAtRun   int
	trainerRuns  int
	topo         uint8
	code, config int
	configHash   uint32
	tf           struct {
		ok          bool
		first, last int
		schema      int32
		graph, ex   int32
	}
	trainers []trainerState

	nextCode, nextConfig, nextStructure, nextSchema, nextEpisode float64
	episodeEnd                                                   float64
	episodeLevel                                                 float64
}

func newSim(cfg *Config, idx int, b *batch) *sim {
	s := &sim{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, uint64(idx))), pid: int64(idx) + 1, b: b, schema: -1, hp: -1}
	s.drawProfile()
	return s
}

const day = 86400.0

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func (s *sim) drawProfile() {
	c, r, p := s.cfg, s.r, &s.p
	window := float64(c.Days) * day
	if r.Float64() >= c.AlreadyRunning {
		p.start = int64(r.Float64() * window * 0.95)
	}
	life := c.LifespanDays.draw(r) * day
	p.cadence = int64(pick(r, c.SpanCadence) / time.Second)
	p.latency = int64(r.Float64() * 0.2 * float64(p.cadence))
	p.trigger = pick(r, c.Trigger)
	p.k = pick(r, c.EveryK)
	p.period = int64(pick(r, c.SchedulePeriod) / time.Second)
	// Every pipeline in the corpus trains at least once: a slow one that would start too
	// late to reach its first training run started earlier, and lives at least that long.
	first := p.cadence + p.latency
	switch p.trigger {
	case "every_k_spans":
		first = int64(p.k)*p.cadence + p.latency
	case "schedule":
		first += p.period
	}
	first += 3600
	p.start = max(0, min(p.start, int64(window)-first))
	p.end = min(p.start+max(int64(life), first), int64(window))
	p.window = int(clamp(math.Round(c.WindowSpans.draw(r)), 1, float64(c.MaxWindowSpans)))
	p.exampleGen = pick(r, exampleGens)
	for i, share := range []float64{c.Transform, c.ExampleValidator, c.InfraValidator, c.Tuner, c.CustomPre, c.CustomPost} {
		if r.Float64() < share {
			p.topo |= 1 << i
		}
	}
	p.pre = customPre[r.IntN(len(customPre))]
	p.post = customPost[r.IntN(len(customPost))]
	p.tuneEvery = max(2, int(c.TuneEveryRuns.draw(r)))
	p.warmStart = r.Float64() < c.WarmStart
	p.caching = r.Float64() < c.Caching
	p.spanBytes = c.SpanBytes.draw(r)
	p.costScale = math.Exp(c.PipelineCost * r.NormFloat64())
	p.fail = math.Min(c.FailureRate.draw(r), c.MaxFailure)
	p.base = c.Push.BaseMean + c.Push.BaseSD*r.NormFloat64()
	p.driftNoise = c.DriftNoise.draw(r)
	p.episodeRate = c.DriftEpisodesPerDay.draw(r) / day
	p.codeRate = c.CodeChangesPerDay.draw(r) / day
	p.configRate = c.ConfigChangesPerDay.draw(r) / day
	p.structureRate = c.StructureChangesPerDay.draw(r) / day
	p.schemaRate = c.SchemaChangesPerDay.draw(r) / day

	s.topo = p.topo
	n := pick(r, c.Trainers)
	for i := range n {
		suffix := ""
		if i > 0 {
			suffix = "_" + strconv.Itoa(i+1)
		}
		mt := pick(r, c.ModelTypes)
		s.trainers = append(s.trainers, trainerState{
			node: "Trainer" + suffix, evaluator: "Evaluator" + suffix, infra: "InfraValidator" + suffix,
			pusher: "Pusher" + suffix, post: p.post.op + suffix,
			latestResolver: "latest_model_resolver" + suffix, blessedResolver: "latest_blessed_model_resolver" + suffix,
			// sinceStructure starts past the structure effect: a new pipeline is not a change.
			mt: mt, lastSchema: -1, lastSpan: -1, sinceStructure: 8,
		})
	}
	s.configHash = r.Uint32()
	s.code, s.config = 1, 1
	t := float64(p.start)
	s.nextCode = t + r.ExpFloat64()/p.codeRate
	s.nextConfig = t + r.ExpFloat64()/p.configRate
	s.nextStructure = t + r.ExpFloat64()/p.structureRate
	s.nextSchema = t + r.ExpFloat64()/p.schemaRate
	s.nextEpisode = t + r.ExpFloat64()/p.episodeRate
	s.episodeEnd = -1
}

// name is the pipeline's human-readable name; the number keeps it unique. It has its own
// generator so that naming does not shift the draws of the simulation.
func (s *sim) name() string {
	r := rand.New(rand.NewPCG(s.cfg.Seed^0x6e616d65, uint64(s.pid)))
	return domains[r.IntN(len(domains))] + "-" + tasks[r.IntN(len(tasks))] + "-" + strconv.FormatInt(s.pid, 10)
}

// simulate runs the pipeline from its start to its end (or the window's).
func (s *sim) simulate() {
	p := &s.p
	arrival := func(i int) int64 { return p.start + int64(i+1)*p.cadence + p.latency }
	switch p.trigger {
	case "every_span", "every_k_spans":
		k := 1
		if p.trigger == "every_k_spans" {
			k = p.k
		}
		for i := k - 1; ; i += k {
			t := arrival(i)
			if t >= p.end {
				return
			}
			s.run(t+s.jitter(120), i+1)
		}
	default:
		offset := int64(s.r.Float64() * float64(p.period))
		for t := p.start + offset; t < p.end; t += p.period {
			arrived := 0
			if t >= arrival(0) {
				arrived = int((t - p.start - p.latency) / p.cadence)
			}
			if arrived == 0 {
				continue
			}
			s.run(t+s.jitter(120), arrived)
		}
	}
}

func (s *sim) jitter(n int64) int64 { return s.r.Int64N(n) }

// span returns span i's state, drawing its data (size, drift, anomalies) the first time.
func (s *sim) span(i int) *spanState {
	for len(s.spans) <= i {
		j := len(s.spans)
		t := float64(s.p.start + int64(j+1)*s.p.cadence)
		for s.nextEpisode <= t {
			length := s.cfg.DriftEpisodeDays.draw(s.r) * day
			s.episodeEnd = s.nextEpisode + length
			lo, hi := s.cfg.DriftLevel[0], s.cfg.DriftLevel[1]
			s.episodeLevel = lo + (hi-lo)*s.r.Float64()
			if s.r.Float64() < s.cfg.SchemaOnDrift {
				s.schemaDue = true
			}
			s.nextEpisode += s.r.ExpFloat64() / s.p.episodeRate
		}
		drift := s.p.driftNoise * math.Abs(s.r.NormFloat64())
		if t < s.episodeEnd {
			drift += s.episodeLevel * (0.7 + 0.6*s.r.Float64())
		}
		lambda := 0.05 + 8*math.Max(0, drift-0.1)
		s.spans = append(s.spans, spanState{
			ex: -1, stats: -1, anom: -1, drift: drift, anomalies: poisson(s.r, lambda),
			bytes:       int64(s.p.spanBytes * math.Exp(0.2*s.r.NormFloat64())),
			fingerprint: s.r.Uint64(),
		})
	}
	return &s.spans[i]
}

func poisson(r *rand.Rand, lambda float64) int64 {
	l, k, p := math.Exp(-lambda), int64(0), 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// applyChanges plays the pipeline's change processes up to time t.
func (s *sim) applyChanges(t int64) {
	ft := float64(t)
	for s.nextCode <= ft {
		s.code++
		s.nextCode += s.r.ExpFloat64() / s.p.codeRate
	}
	for s.nextConfig <= ft {
		s.config++
		s.configHash = s.r.Uint32()
		s.nextConfig += s.r.ExpFloat64() / s.p.configRate
	}
	for s.nextStructure <= ft {
		// Add or remove one optional component; the Tuner is left alone, it only re-tunes.
		bit := uint8(1) << []uint8{0, 1, 2, 4, 5}[s.r.IntN(5)]
		s.topo ^= bit
		s.nextStructure += s.r.ExpFloat64() / s.p.structureRate
	}
	for s.nextSchema <= ft {
		s.schemaDue = true
		s.nextSchema += s.r.ExpFloat64() / s.p.schemaRate
	}
}

// cost draws an execution's compute (CPU-seconds) around base.
func (s *sim) cost(base float64) float64 {
	return base * s.p.costScale * math.Exp(s.cfg.CostNoise*s.r.NormFloat64())
}

// duration is the wall time of a run of the given cost: bigger jobs get more workers.
func duration(cost float64) int64 {
	if cost <= 60 {
		return int64(cost) + 5
	}
	return int64(math.Sqrt(60*cost)) + 5
}

// link is an artifact an execution reads or writes, under its channel-key role.
type link struct {
	art  int32
	role string
}

func (s *sim) addExec(run int32, node, op string, state uint8, start int64, cost float64, a [2]int32) (int32, int64) {
	end := start + duration(cost)
	if state == stCached {
		end = start + 1 + s.r.Int64N(3)
	}
	s.b.execs = append(s.b.execs, exec{run: run, node: node, op: op, state: state, start: start, end: end, cost: cost, attrs: a})
	return int32(len(s.b.execs) - 1), end
}

func (s *sim) noAttrs() [2]int32 { return s.b.obj().done() }

func (s *sim) in(x int32, t int64, ins ...link) {
	for _, i := range ins {
		if i.art >= 0 {
			s.b.events = append(s.b.events, event{exec: x, art: i.art, role: i.role, t: t})
		}
	}
}

func (s *sim) out(x int32, t int64, a int32, role string) {
	s.b.events = append(s.b.events, event{exec: x, art: a, out: true, role: role, t: t})
}

func (s *sim) artifact(typ string, span, version, create, size int64, a [2]int32) int32 {
	s.b.arts = append(s.b.arts, art{typ: typ, span: span, version: version, create: create, size: size, attrs: a})
	return int32(len(s.b.arts) - 1)
}

// step runs one data or training step with retries: each failed attempt is a failed
// execution that read its inputs and wrote nothing. It returns the successful execution, or
// ok false when every attempt failed (the run stops there).
func (s *sim) step(run int32, node, op string, t int64, base float64, a [2]int32, ins ...link) (x int32, end int64, ok bool) {
	for try := 0; ; try++ {
		c := s.cost(base)
		if s.r.Float64() < s.p.fail {
			x, end = s.addExec(run, node, op, stFailed, t, c*(0.05+0.95*s.r.Float64()), a)
			s.in(x, t, ins...)
			if try >= s.cfg.Retries {
				return x, end, false
			}
			t = end + 60 + s.r.Int64N(600)
			continue
		}
		x, end = s.addExec(run, node, op, stComplete, t, c, a)
		s.in(x, t, ins...)
		return x, end, true
	}
}

// cached records a cache hit: cost 0, and out events that re-link the earlier artifacts.
func (s *sim) cached(run int32, node, op string, t int64, ins []link, outs ...link) int64 {
	x, end := s.addExec(run, node, op, stCached, t, 0, s.noAttrs())
	s.in(x, t, ins...)
	for _, o := range outs {
		s.out(x, end, o.art, o.role)
	}
	return end
}

func gb(bytes int64) float64 { return float64(bytes) / 1e9 }

// run is one pipeline run at time t, with spans [0, arrived) available.
func (s *sim) run(t int64, arrived int) {
	s.applyChanges(t)
	s.runs++
	run := s.runs
	clock := t
	latest := arrived - 1

	// Ingest: ExampleGen and StatisticsGen per new span; a run with no new span re-reads the
	// latest one (a cache hit, or a recomputation of identical input without the cache).
	newSpans := s.nextSpan < arrived
	first := s.nextSpan
	if !newSpans {
		first = latest
	}
	for i := first; i <= latest; i++ {
		sp := s.span(i)
		if !newSpans && s.p.caching && sp.ex >= 0 {
			clock = s.cached(run, s.p.exampleGen, s.p.exampleGen, clock, nil, link{sp.ex, "examples"})
			clock = s.cached(run, "StatisticsGen", "StatisticsGen", clock, []link{{sp.ex, "examples"}}, link{sp.stats, "statistics"})
			continue
		}
		x, end, ok := s.step(run, s.p.exampleGen, s.p.exampleGen, clock, 30+400*gb(sp.bytes), s.b.obj().int("span", int64(i)).done())
		if !ok {
			return
		}
		fp := strconv.FormatUint(sp.fingerprint, 16)
		sp.ex = s.artifact("Examples", int64(i), 0, end, sp.bytes,
			s.b.obj().int("span", int64(i)).int("version", 0).str("input_fingerprint", fp).done())
		sp.exAt = end
		s.out(x, end, sp.ex, "examples")
		clock = end
		x, end, ok = s.step(run, "StatisticsGen", "StatisticsGen", clock, 10+250*gb(sp.bytes), s.noAttrs(), link{sp.ex, "examples"})
		if !ok {
			return
		}
		sp.stats = s.artifact("ExampleStatistics", int64(i), -1, end, -1,
			s.b.obj().int("span", int64(i)).float("drift", sp.drift, 4).done())
		s.out(x, end, sp.stats, "statistics")
		clock = end
		if newSpans {
			s.nextSpan = i + 1
		}
	}
	stats := s.spans[latest].stats

	// Schema: a new one when the data calls for it, else the cache re-links the current one.
	if s.schema < 0 || s.schemaDue {
		x, end, ok := s.step(run, "SchemaGen", "SchemaGen", clock, 5, s.noAttrs(), link{stats, "statistics"})
		if !ok {
			return
		}
		s.schemaNo++
		s.schema = s.artifact("Schema", -1, -1, end, -1, s.noAttrs())
		s.out(x, end, s.schema, "schema")
		s.schemaDue = false
		clock = end
	} else if s.p.caching {
		clock = s.cached(run, "SchemaGen", "SchemaGen", clock, []link{{stats, "statistics"}}, link{s.schema, "schema"})
	}

	if s.topo&hasValidator != 0 {
		for i := first; i <= latest; i++ {
			sp := s.span(i)
			if !newSpans && s.p.caching && sp.anom >= 0 && sp.anomSchema == s.schema {
				clock = s.cached(run, "ExampleValidator", "ExampleValidator", clock, []link{{sp.stats, "statistics"}, {s.schema, "schema"}}, link{sp.anom, "anomalies"})
				continue
			}
			x, end, ok := s.step(run, "ExampleValidator", "ExampleValidator", clock, 3+20*gb(sp.bytes), s.noAttrs(),
				link{sp.stats, "statistics"}, link{s.schema, "schema"})
			if !ok {
				return
			}
			a := s.artifact("ExampleAnomalies", int64(i), -1, end, -1,
				s.b.obj().int("span", int64(i)).int("anomaly_count", sp.anomalies).done())
			s.out(x, end, a, "anomalies")
			sp.anom, sp.anomSchema = a, s.schema
			clock = end
		}
	}

	// The rolling window: the latest Examples of the last W spans that exist by now.
	lo := max(0, latest-s.p.window+1)
	var window []link
	var windowBytes int64
	for i := lo; i <= latest; i++ {
		if sp := &s.spans[i]; sp.ex >= 0 && sp.exAt <= clock {
			window = append(window, link{sp.ex, "examples"})
			windowBytes += sp.bytes
		}
	}
	trainIn := window
	graph := int32(-1)
	if s.topo&hasTransform != 0 {
		ins := append(window[:len(window):len(window)], link{s.schema, "schema"})
		if s.p.caching && s.tf.ok && s.tf.first == lo && s.tf.last == latest && s.tf.schema == s.schema {
			clock = s.cached(run, "Transform", "Transform", clock, ins, link{s.tf.graph, "transform_graph"}, link{s.tf.ex, "transformed_examples"})
		} else {
			x, end, ok := s.step(run, "Transform", "Transform", clock, 30+500*gb(windowBytes),
				s.b.obj().str("code_version", "v"+strconv.Itoa(s.code)).done(), ins...)
			if !ok {
				return
			}
			g := s.artifact("TransformGraph", -1, -1, end, -1, s.noAttrs())
			te := s.artifact("Examples", int64(latest), 0, end, windowBytes*4/5, s.b.obj().int("span", int64(latest)).int("transformed", 1).done())
			s.out(x, end, g, "transform_graph")
			s.out(x, end, te, "transformed_examples")
			s.tf.ok, s.tf.first, s.tf.last, s.tf.schema, s.tf.graph, s.tf.ex = true, lo, latest, s.schema, g, te
			clock = end
		}
		graph = s.tf.graph
		trainIn = []link{{s.tf.ex, "examples"}, {graph, "transform_graph"}}
	}
	trainIn = append(trainIn[:len(trainIn):len(trainIn)], link{s.schema, "schema"})

	if s.topo&hasCustomPre != 0 {
		sp := &s.spans[latest]
		x, end, ok := s.step(run, s.p.pre.op, s.p.pre.op, clock, 20+100*gb(sp.bytes), s.noAttrs(),
			link{sp.ex, "examples"}, link{sp.stats, "statistics"})
		if !ok {
			return
		}
		a := s.artifact(s.p.pre.artType, -1, -1, end, -1, s.noAttrs())
		s.out(x, end, a, s.p.pre.role)
		trainIn = append(trainIn, link{a, s.p.pre.role})
		clock = end
	}

	baseTrain := 60 + 900*gb(windowBytes)
	if s.topo&hasTuner != 0 && (s.hp < 0 || s.trainerRuns-s.tunedAtRun >= s.p.tuneEvery) {
		x, end, ok := s.step(run, "Tuner", "Tuner", clock, 10*baseTrain*s.trainers[0].mt.CostFactor, s.noAttrs(), trainIn...)
		if !ok {
			return
		}
		s.hp = s.artifact("HyperParameters", -1, -1, end, -1, s.noAttrs())
		s.out(x, end, s.hp, "best_hyperparameters")
		s.tunedAtRun = s.trainerRuns
		clock = end
	}
	if s.topo&hasTuner != 0 && s.hp >= 0 {
		trainIn = append(trainIn, link{s.hp, "hyperparameters"})
	}

	// Drift, anomalies and whether there is new data: what this run's training sees.
	evalSpan := &s.spans[latest]
	for i := range s.trainers {
		s.train(run, clock, &s.trainers[i], trainIn, baseTrain, latest, evalSpan)
	}
	s.trainerRuns++
}

// train runs one trainer's branch: Resolvers, Trainer (retried on failure), Evaluator,
// InfraValidator, an optional custom consumer of the model, and Pusher.
func (s *sim) train(run int32, clock int64, tr *trainerState, trainIn []link, baseTrain float64, latest int, evalSpan *spanState) {
	pp := &s.cfg.Push
	drift, anomalies := 0.0, false
	for i := tr.lastSpan + 1; i <= latest; i++ {
		if !tr.ran && i < latest-s.p.window+1 {
			continue
		}
		drift = math.Max(drift, s.spans[i].drift)
		anomalies = anomalies || s.spans[i].anomalies > 0
	}
	noNew := tr.ran && latest <= tr.lastSpan
	// A change of what the Trainer's data comes through (its upstream topology) unsettles the
	// model; validators and consumers downstream do not change what it learns.
	if tr.ran && (tr.lastTopo^s.topo)&(hasTransform|hasCustomPre) != 0 {
		tr.sinceStructure = 0
	}
	infra := s.topo&hasInfra != 0
	z := s.p.base + tr.mt.PushEffect - pp.Drift*math.Max(0, drift-pp.DriftFloor)
	if tr.ran {
		z -= pp.Structure * math.Exp(-float64(tr.sinceStructure)/pp.StructureRuns) * b2f(tr.sinceStructure < 8)
		z -= pp.Code*b2f(tr.lastCode != s.code) + pp.Config*b2f(tr.lastConfig != s.config) + pp.Schema*b2f(tr.lastSchema != s.schema)
	}
	z -= pp.NoNewData*b2f(noNew) + pp.Anomalies*b2f(anomalies)
	z += pp.Noise * s.r.NormFloat64()
	bless := 1 / (1 + math.Exp(-z))
	infraOK := 1.0
	if infra {
		infraOK = 1 - pp.InfraRejects - pp.StructureInfra*math.Exp(-float64(tr.sinceStructure)/pp.StructureRuns)*b2f(tr.ran && tr.sinceStructure < 8)
	}
	f := s.p.fail
	pPush := (1 - f) * (1 - f) * bless * infraOK
	if infra {
		pPush *= 1 - f
	}
	pPush *= 1 - f

	tr.ran, tr.lastSpan, tr.lastCode, tr.lastConfig, tr.lastSchema, tr.lastTopo = true, latest, s.code, s.config, s.schema, s.topo
	tr.sinceStructure++

	ins := trainIn
	warm := false
	if s.p.warmStart {
		if m := tr.latest(clock, false); m >= 0 {
			x, end := s.addExec(run, tr.latestResolver, "Resolver", stComplete, clock, s.cost(0.5), s.noAttrs())
			s.out(x, end, m, "model")
			ins = append(ins[:len(ins):len(ins)], link{m, "base_model"})
			clock, warm = end, true
		}
	}
	cost := baseTrain * tr.mt.CostFactor
	if warm {
		cost *= 0.6
	}
	a := s.b.obj().str("model_type", tr.mt.Name).str("code_version", "v"+strconv.Itoa(s.code)).
		str("config_hash", hex8(s.configHash)).int("warm_start", int64(b2i(warm))).done()
	var x int32
	var end int64
	for try := 0; ; try++ {
		c := s.cost(cost)
		if s.r.Float64() < f {
			x, end = s.addExec(run, tr.node, "Trainer", stFailed, clock, c*(0.05+0.95*s.r.Float64()), a)
			s.in(x, clock, ins...)
			s.b.truths = append(s.b.truths, truth{exec: x, p: pPush})
			if try >= s.cfg.Retries {
				return
			}
			clock = end + 60 + s.r.Int64N(600)
			continue
		}
		x, end = s.addExec(run, tr.node, "Trainer", stComplete, clock, c, a)
		s.in(x, clock, ins...)
		break
	}
	trainer := x
	m := s.artifact("Model", -1, -1, end, int64(1e6*tr.mt.CostFactor*(1+s.r.Float64())), s.noAttrs())
	s.out(x, end, m, "model")
	tr.models = append(tr.models, model{id: m, created: end, blessedAt: -1})
	if len(tr.models) > 16 {
		tr.models = tr.models[1:]
	}
	mi := len(tr.models) - 1
	clock = end
	pushed := false
	defer func() { s.b.truths = append(s.b.truths, truth{exec: trainer, p: pPush, pushed: pushed}) }()

	// InfraValidator and custom consumers of the model start beside the Evaluator as soon as
	// the model exists; the Pusher waits for all of them.
	modelAt := clock
	if s.topo&hasCustomPost != 0 {
		x, end := s.addExec(run, tr.post, s.p.post.op, stComplete, modelAt, s.cost(20+10*tr.mt.CostFactor), s.noAttrs())
		s.in(x, modelAt, link{m, "model"})
		s.out(x, end, s.artifact(s.p.post.artType, -1, -1, end, -1, s.noAttrs()), s.p.post.role)
	}
	ok, infraFailed := true, false
	var pushIn []link
	if infra {
		infraIn := []link{{m, "model"}, {evalSpan.ex, "examples"}}
		if s.r.Float64() < f {
			x, _ := s.addExec(run, tr.infra, "InfraValidator", stFailed, modelAt, s.cost(60+30*tr.mt.CostFactor)*s.r.Float64(), s.noAttrs())
			s.in(x, modelAt, infraIn...)
			infraFailed = true
		} else {
			x, end := s.addExec(run, tr.infra, "InfraValidator", stComplete, modelAt, s.cost(60+30*tr.mt.CostFactor), s.noAttrs())
			s.in(x, modelAt, infraIn...)
			ok = s.r.Float64() < infraOK
			ib := s.artifact("InfraBlessing", -1, -1, end, -1, s.b.obj().int("blessed", int64(b2i(ok))).done())
			s.out(x, end, ib, "blessing")
			pushIn = append(pushIn, link{ib, "infra_blessing"})
			clock = max(clock, end)
		}
	}

	evalIn := []link{{evalSpan.ex, "examples"}, {m, "model"}}
	evalAt := modelAt
	if base := tr.latest(evalAt, true); base >= 0 {
		x, end := s.addExec(run, tr.blessedResolver, "Resolver", stComplete, evalAt, s.cost(0.5), s.noAttrs())
		s.out(x, end, base, "model")
		evalIn = append(evalIn, link{base, "baseline_model"})
		evalAt = end
	}
	evalCost := (20 + 150*gb(evalSpan.bytes)) * math.Sqrt(tr.mt.CostFactor)
	if s.r.Float64() < f {
		x, _ := s.addExec(run, tr.evaluator, "Evaluator", stFailed, evalAt, s.cost(evalCost)*s.r.Float64(), s.noAttrs())
		s.in(x, evalAt, evalIn...)
		return
	}
	x, end = s.addExec(run, tr.evaluator, "Evaluator", stComplete, evalAt, s.cost(evalCost), s.noAttrs())
	s.in(x, evalAt, evalIn...)
	blessed := s.r.Float64() < bless
	ev := s.artifact("ModelEvaluation", -1, -1, end, -1, s.noAttrs())
	bl := s.artifact("ModelBlessing", -1, -1, end, -1, s.b.obj().int("blessed", int64(b2i(blessed))).done())
	s.out(x, end, ev, "evaluation")
	s.out(x, end, bl, "blessing")
	if blessed {
		tr.models[mi].blessedAt = end
	}
	clock = max(clock, end)
	if infraFailed {
		return
	}
	ok = ok && blessed
	pushIn = append([]link{{m, "model"}, {bl, "model_blessing"}}, pushIn...)
	if s.r.Float64() < f {
		x, _ := s.addExec(run, tr.pusher, "Pusher", stFailed, clock, s.cost(5)*s.r.Float64(), s.noAttrs())
		s.in(x, clock, pushIn...)
		return
	}
	x, end = s.addExec(run, tr.pusher, "Pusher", stComplete, clock, s.cost(5+5*b2f(ok)), s.noAttrs())
	s.in(x, clock, pushIn...)
	pa := s.b.obj().int("pushed", int64(b2i(ok)))
	if ok {
		pa = pa.str("pushed_destination", "serving/p"+strconv.FormatInt(s.pid, 10)+"/"+tr.node)
	}
	s.out(x, end, s.artifact("PushedModel", -1, -1, end, -1, pa.done()), "pushed_model")
	pushed = ok
}

// latest returns the trainer's newest model created (or, when blessed is set, blessed)
// by time t, or -1.
func (tr *trainerState) latest(t int64, blessed bool) int32 {
	for i := len(tr.models) - 1; i >= 0; i-- {
		m := tr.models[i]
		if blessed {
			if m.blessedAt >= 0 && m.blessedAt <= t {
				return m.id
			}
		} else if m.created <= t {
			return m.id
		}
	}
	return -1
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func hex8(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}
