package synth

import (
	"math"
	"strconv"

	"mlprov/engine"
)

// Execution states, as the store spells them.
const (
	stComplete uint8 = iota
	stFailed
	stCached
)

var stateNames = [...]string{engine.StateComplete, engine.StateFailed, engine.StateCached}

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
