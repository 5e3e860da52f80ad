package synth

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mlprov/engine"
)

// corpusWriter appends each pipeline's batch to the four table files and the ground truth,
// giving rows their corpus-wide ids. Its files and encoders follow engine.Tables, and write
// writes each table's layout columns in order (a test checks the files against them).
type corpusWriter struct {
	files  []*os.File
	bufs   []*bufio.Writer
	encs   []*encoder
	truthF *os.File
	truth  *bufio.Writer
	stats  Stats
	line   []byte
}

func newCorpusWriter(dir, textDir, format string, start time.Time) (*corpusWriter, error) {
	w := &corpusWriter{}
	ext := "." + format
	for _, t := range engine.Tables {
		cols := engine.Names(t.Layout())
		f, err := os.Create(filepath.Join(textDir, t.Name+ext))
		if err != nil {
			w.close()
			return nil, fmt.Errorf("generate: %w", err)
		}
		w.files = append(w.files, f)
		w.bufs = append(w.bufs, bufio.NewWriterSize(f, 1<<20))
		e := &encoder{json: format == "jsonl", cols: cols, baseUnix: start.Unix()}
		w.encs = append(w.encs, e)
		if !e.json {
			// A bufio.Writer keeps its first error and returns it from Flush, which is checked.
			_, _ = w.bufs[len(w.bufs)-1].WriteString(strings.Join(cols, ",") + "\n")
		}
	}
	f, err := os.Create(filepath.Join(dir, GroundTruthFile))
	if err != nil {
		w.close()
		return nil, fmt.Errorf("generate: %w", err)
	}
	w.truthF, w.truth = f, bufio.NewWriterSize(f, 1<<16)
	return w, nil
}

// categories mirrors the seeded op_categories table, so files carry the category the store
// would derive (custom components are 'other').
var categories = map[string]string{
	"CsvExampleGen": engine.CategoryIngest, "ImportExampleGen": engine.CategoryIngest, "BigQueryExampleGen": engine.CategoryIngest,
	"StatisticsGen": engine.CategoryAnalyze, "SchemaGen": engine.CategoryAnalyze, "ExampleValidator": engine.CategoryAnalyze,
	"Transform": engine.CategoryTransform, "Trainer": engine.CategoryTrain, "Tuner": engine.CategoryTrain,
	"Evaluator": engine.CategoryValidate, "InfraValidator": engine.CategoryValidate, "Pusher": engine.CategoryDeploy,
	"Resolver": engine.CategoryOther,
}

func category(op string) string {
	if c, ok := categories[op]; ok {
		return c
	}
	return engine.CategoryOther
}

func (w *corpusWriter) write(pid int64, name string, b *batch) error {
	ex0, art0 := w.stats.Executions, w.stats.Artifacts
	pidText := strconv.FormatInt(pid, 10)

	e := w.encs[0]
	e.begin()
	e.int(pid)
	e.str(name)
	e.raw([]byte(`{"orchestrator":"tfx","owner":"team-` + strconv.FormatInt(pid%97, 10) + `"}`))
	w.flush(0)

	e = w.encs[1]
	runPrefix := "p" + pidText + "-r"
	for i := range b.execs {
		x := &b.execs[i]
		e.begin()
		e.int(ex0 + int64(i) + 1)
		e.int(pid)
		e.strPrefixed(runPrefix, int64(x.run))
		e.str(x.node)
		e.str(x.op)
		e.str(category(x.op))
		e.str(stateNames[x.state])
		e.time(x.start)
		e.time(x.end)
		e.float(x.cost, 2)
		e.raw(b.arena[x.attrs[0]:x.attrs[1]])
		if err := w.flush(1); err != nil {
			return err
		}
	}
	e = w.encs[2]
	for i := range b.arts {
		a := &b.arts[i]
		id := art0 + int64(i) + 1
		e.begin()
		e.int(id)
		e.int(pid)
		e.str(a.typ)
		e.uri(pidText, a.typ, id)
		e.optInt(a.span)
		e.optInt(a.version)
		e.str(engine.ArtifactLive)
		e.time(a.create)
		e.optInt(a.size)
		e.raw(b.arena[a.attrs[0]:a.attrs[1]])
		if err := w.flush(2); err != nil {
			return err
		}
	}
	e = w.encs[3]
	for i := range b.events {
		v := &b.events[i]
		e.begin()
		e.int(ex0 + int64(v.exec) + 1)
		e.int(art0 + int64(v.art) + 1)
		if v.out {
			e.str(engine.DirectionOut)
		} else {
			e.str(engine.DirectionIn)
		}
		e.str(v.role)
		e.time(v.t)
		if err := w.flush(3); err != nil {
			return err
		}
	}
	for _, t := range b.truths {
		l := append(w.line[:0], `{"execution_id":`...)
		l = strconv.AppendInt(l, ex0+int64(t.exec)+1, 10)
		l = append(l, `,"p_push":`...)
		l = strconv.AppendFloat(l, t.p, 'f', 6, 64)
		l = append(l, `,"pushed":`...)
		l = strconv.AppendBool(l, t.pushed)
		l = append(l, "}\n"...)
		w.line = l
		if _, err := w.truth.Write(l); err != nil {
			return err
		}
		if t.pushed {
			w.stats.Pushed++
		}
		if b.execs[t.exec].state == stComplete {
			w.stats.Trained++
		}
	}
	w.stats.Pipelines++
	w.stats.Executions += int64(len(b.execs))
	w.stats.Artifacts += int64(len(b.arts))
	w.stats.Events += int64(len(b.events))
	w.stats.Trainers += int64(len(b.truths))
	return nil
}

// flush ends the current row of table i and hands it to the file's buffer.
func (w *corpusWriter) flush(i int) error {
	e := w.encs[i]
	e.end()
	_, err := w.bufs[i].Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

func (w *corpusWriter) close() error {
	var errs []error
	for i, f := range w.files {
		if i < len(w.bufs) {
			errs = append(errs, w.bufs[i].Flush())
		}
		errs = append(errs, f.Close())
	}
	if w.truthF != nil {
		errs = append(errs, w.truth.Flush(), w.truthF.Close())
	}
	w.files, w.truthF = nil, nil
	return errors.Join(errs...)
}
