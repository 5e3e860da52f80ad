package synth

import (
	"math"
	"strconv"
)

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
