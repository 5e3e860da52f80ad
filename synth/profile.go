package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

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

// drawProfile draws the pipeline's profile: its training rate (cadence, trigger, trainers)
// from classes and its lifespan at the pipeline's quantiles (see quantiles), the rest from
// its own generator.
func (s *sim) drawProfile(classes []rateClass) {
	c, r, p := s.cfg, s.r, &s.p
	q := quantilesOf(c.Seed, int(s.pid-1))
	rc := classAt(classes, q.rate)
	window := float64(c.Days) * day
	if q.start >= c.AlreadyRunning {
		p.start = int64((q.start - c.AlreadyRunning) / (1 - c.AlreadyRunning) * window * 0.95)
	}
	life := c.LifespanDays.at(q.life) * day
	p.cadence = int64(rc.cadence / time.Second)
	p.latency = int64(r.Float64() * 0.2 * float64(p.cadence))
	p.trigger, p.k, p.period = rc.trigger, rc.k, int64(rc.period/time.Second)
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
	p.episodeRate = c.DriftEpisodesPerDay.at(q.episodes) / day
	p.codeRate = c.CodeChangesPerDay.draw(r) / day
	p.configRate = c.ConfigChangesPerDay.draw(r) / day
	p.structureRate = c.StructureChangesPerDay.draw(r) / day
	p.schemaRate = c.SchemaChangesPerDay.draw(r) / day

	s.topo = p.topo
	for i := range rc.trainers {
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
