package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
)

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

// newSim draws pipeline idx's profile; classes are cfg's rate classes (rateClasses).
func newSim(cfg *Config, classes []rateClass, idx int, b *batch) *sim {
	s := &sim{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, uint64(idx))), pid: int64(idx) + 1, b: b, schema: -1, hp: -1}
	s.drawProfile(classes)
	return s
}

const day = 86400.0

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

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
		trainIn = []link{{s.tf.ex, "examples"}, {s.tf.graph, "transform_graph"}}
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
