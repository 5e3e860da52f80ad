package synth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"mlprov/engine"
)

// Formats are the file formats of the native layout Generate writes; the native loader reads
// each of them. Generate also writes FormatMLMD.
var Formats = []string{"parquet", "csv", "jsonl"}

// FormatMLMD makes Generate write the corpus as one MLMD SQLite store, MLMDFile, which
// loaders/mlmd reads, instead of the native layout.
const FormatMLMD = "mlmd"

// MLMDFile is the MLMD store's name in the folder, the name TFX gives its local store.
const MLMDFile = "metadata.sqlite"

// Stats counts what Generate wrote.
type Stats struct {
	Pipelines, Executions, Artifacts, Events int64
	// Trainers is the number of Trainer executions (lines of ground_truth.jsonl), Trained how
	// many of them completed (the trained models), Pushed how many pushed a model.
	Trainers, Trained, Pushed int64
	// Bytes is the size of the written files.
	Bytes int64
}

// Rows is the number of rows over the four tables.
func (s Stats) Rows() int64 { return s.Pipelines + s.Executions + s.Artifacts + s.Events }

// Options tune a run of Generate.
type Options struct {
	// Format is parquet (the default), csv or jsonl.
	Format string
	// Workers simulate pipelines in parallel; 0 means one per core.
	Workers int
	// Progress, when set, is called after each pipeline with the number done so far.
	Progress func(done, total int)
	// Step, when set, receives a short line per phase of the run.
	Step func(step string)
}

// GroundTruthFile is the side file, beside the tables, with one line per Trainer execution:
// the probability of a push the hidden mechanism used, and the outcome it drew.
const GroundTruthFile = "ground_truth.jsonl"

// Generate writes the corpus cfg describes into dir (created if needed; it must be empty) in
// mlprov's native layout, or as an MLMD store (FormatMLMD), plus GroundTruthFile. The same
// cfg always gives the same bytes. It stops at ctx's cancellation and leaves a partial dir
// behind.
func Generate(ctx context.Context, cfg Config, dir string, opts Options) (Stats, error) {
	var st Stats
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	format := opts.Format
	if format == "" {
		format = "parquet"
	}
	if !validFormat(format) {
		return st, fmt.Errorf("unknown format %q (want parquet, csv, jsonl or mlmd)", format)
	}
	if err := emptyDir(dir); err != nil {
		return st, err
	}
	step := func(format string, args ...any) {
		if opts.Step != nil {
			opts.Step(fmt.Sprintf(format, args...))
		}
	}
	// Parquet goes through CSV files that DuckDB converts: its readers and writer are faster
	// than anything we would write in Go, and they keep the files' order. MLMD goes through
	// the same CSV files, read back as canonical rows.
	textFormat, textDir := format, dir
	if format == "parquet" || format == FormatMLMD {
		textFormat, textDir = "csv", filepath.Join(dir, ".gen-csv")
		if err := os.MkdirAll(textDir, 0o755); err != nil {
			return st, fmt.Errorf("generate: %w", err)
		}
	}
	step("simulating %d pipelines over %d days (seed %d)", cfg.Pipelines, cfg.Days, cfg.Seed)
	w, err := newCorpusWriter(dir, textDir, textFormat, cfg.Start)
	if err != nil {
		return st, err
	}
	if err := simulateAll(ctx, &cfg, opts, w); err != nil {
		w.close()
		return st, err
	}
	if err := w.close(); err != nil {
		return st, fmt.Errorf("generate: %w", err)
	}
	st = w.stats
	switch format {
	case "parquet":
		step("writing Parquet")
		if err := toParquet(ctx, textDir, dir); err != nil {
			return st, err
		}
	case FormatMLMD:
		step("writing the MLMD store %s", MLMDFile)
		if err := toMLMD(ctx, textDir, filepath.Join(dir, MLMDFile)); err != nil {
			return st, err
		}
	}
	if textDir != dir {
		if err := os.RemoveAll(textDir); err != nil {
			return st, fmt.Errorf("generate: %w", err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return st, fmt.Errorf("generate: %w", err)
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			st.Bytes += fi.Size()
		}
	}
	return st, nil
}

func validFormat(f string) bool {
	for _, v := range append(Formats, FormatMLMD) {
		if v == f {
			return true
		}
	}
	return false
}

func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("generate: %s is not empty: choose a new folder", dir)
	}
	return nil
}

// simulateAll runs the pipelines on worker goroutines and hands their batches to the writer
// in pipeline order, so ids and bytes do not depend on scheduling. At most a few batches per
// worker wait in memory.
func simulateAll(ctx context.Context, cfg *Config, opts Options, w *corpusWriter) error {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	n := cfg.Pipelines
	type result struct {
		b    *batch
		name string
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	pool := sync.Pool{New: func() any { return new(batch) }}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// tokens bound how far the workers run ahead of the writer.
	tokens := make(chan struct{}, 2*workers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				b := pool.Get().(*batch)
				b.reset()
				s := newSim(cfg, i, b)
				s.simulate()
				results[i] <- result{b, s.name()}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range n {
		// select picks at random among ready cases: check first, so cancellation always wins.
		if err = ctx.Err(); err != nil {
			break
		}
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		<-tokens
		if err = w.write(int64(i)+1, r.name, r.b); err != nil {
			break
		}
		pool.Put(r.b)
		if opts.Progress != nil {
			opts.Progress(i+1, n)
		}
	}
	// Cancelling stops the dispatcher, which closes next; results are buffered, so no
	// worker is left blocked.
	cancel()
	wg.Wait()
	return err
}

// tableSpec names each table's columns in the store's order (sql/schema/001_store.sql).
var tableSpec = []struct {
	name string
	cols []string
	typ  []string
}{
	{"pipelines", []string{"pipeline_id", "name", "attrs"}, []string{"BIGINT", "VARCHAR", "JSON"}},
	{"executions", []string{"execution_id", "pipeline_id", "run_id", "node_id", "op_type", "category", "state", "start_time", "end_time", "cost", "attrs"},
		[]string{"BIGINT", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMP", "TIMESTAMP", "DOUBLE", "JSON"}},
	{"artifacts", []string{"artifact_id", "pipeline_id", "type", "uri", "span", "version", "state", "create_time", "size_bytes", "attrs"},
		[]string{"BIGINT", "BIGINT", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR", "TIMESTAMP", "BIGINT", "JSON"}},
	{"events", []string{"execution_id", "artifact_id", "direction", "role", "event_time"},
		[]string{"BIGINT", "BIGINT", "VARCHAR", "VARCHAR", "TIMESTAMP"}},
}

// corpusWriter appends each pipeline's batch to the four table files and the ground truth,
// giving rows their corpus-wide ids.
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
	for _, t := range tableSpec {
		f, err := os.Create(filepath.Join(textDir, t.name+ext))
		if err != nil {
			w.close()
			return nil, fmt.Errorf("generate: %w", err)
		}
		w.files = append(w.files, f)
		w.bufs = append(w.bufs, bufio.NewWriterSize(f, 1<<20))
		e := &encoder{json: format == "jsonl", cols: t.cols, baseUnix: start.Unix()}
		w.encs = append(w.encs, e)
		if !e.json {
			w.bufs[len(w.bufs)-1].WriteString(strings.Join(t.cols, ",") + "\n")
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
	"CsvExampleGen": "ingest", "ImportExampleGen": "ingest", "BigQueryExampleGen": "ingest",
	"StatisticsGen": "analyze", "SchemaGen": "analyze", "ExampleValidator": "analyze",
	"Transform": "transform", "Trainer": "train", "Tuner": "train",
	"Evaluator": "validate", "InfraValidator": "validate", "Pusher": "deploy", "Resolver": "other",
}

func category(op string) string {
	if c, ok := categories[op]; ok {
		return c
	}
	return "other"
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
		e.str("live")
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
			e.str("out")
		} else {
			e.str("in")
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

// toParquet converts each table's CSV file into Parquet with DuckDB, typed as the store's
// columns. Each table gets its own single-threaded DuckDB: a parallel COPY keeps the rows in
// order but now and then cuts a row group short where its threads meet (seen at paper scale,
// on a busy machine), so the bytes would change from run to run. The tables are converted concurrently, which keeps both cores busy.
func toParquet(ctx context.Context, textDir, dir string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(tableSpec))
	var wg sync.WaitGroup
	for i := range tableSpec {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = convertTable(ctx, textDir, dir, i); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		// The first real failure, not the cancellations it caused.
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

func convertTable(ctx context.Context, textDir, dir string, i int) error {
	t := tableSpec[i]
	e, err := engine.Open(ctx, ":memory:", engine.Options{Threads: 1, MemoryLimit: "1GB", TempDir: filepath.Join(textDir, "spill-"+t.name)})
	if err != nil {
		return fmt.Errorf("write %s.parquet: %w", t.name, err)
	}
	defer e.Close()
	dst := sqlQuote(filepath.Join(dir, t.name+".parquet"))
	q := fmt.Sprintf(`COPY (SELECT * FROM %s) TO %s (FORMAT parquet, COMPRESSION zstd)`, readCSV(textDir, i), dst)
	if _, err := e.DB().ExecContext(ctx, q); err != nil {
		return fmt.Errorf("write %s.parquet: %w", t.name, err)
	}
	return e.Close()
}

// readCSV is the table function that reads table i's CSV file typed as the store's columns.
func readCSV(textDir string, i int) string {
	t := tableSpec[i]
	cols := make([]string, len(t.cols))
	for i, c := range t.cols {
		cols[i] = fmt.Sprintf("'%s': '%s'", c, t.typ[i])
	}
	return fmt.Sprintf(`read_csv(%s, header = true, auto_detect = false, columns = {%s}, timestampformat = '%%Y-%%m-%%d %%H:%%M:%%S')`,
		sqlQuote(filepath.Join(textDir, t.name+".csv")), strings.Join(cols, ", "))
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// encoder writes one row at a time as CSV (RFC 4180) or as a JSON object per line.
type encoder struct {
	json bool
	cols []string
	i    int
	buf  []byte
	// baseUnix is the window's first instant; times arrive as seconds since then.
	baseUnix int64
	// The date part of the last timestamp, which most rows share with their neighbours.
	lastDay int64
	dayText []byte
	hasDay  bool
}

func (e *encoder) begin() {
	e.i = 0
	if e.json {
		e.buf = append(e.buf, '{')
	}
}

func (e *encoder) sep() {
	if e.json {
		if e.i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, e.cols[e.i]...)
		e.buf = append(e.buf, '"', ':')
	} else if e.i > 0 {
		e.buf = append(e.buf, ',')
	}
	e.i++
}

func (e *encoder) end() {
	if e.json {
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, '\n')
}

func (e *encoder) int(v int64) {
	e.sep()
	e.buf = strconv.AppendInt(e.buf, v, 10)
}

func (e *encoder) optInt(v int64) {
	if v < 0 {
		e.null()
		return
	}
	e.int(v)
}

func (e *encoder) null() {
	e.sep()
	if e.json {
		e.buf = append(e.buf, "null"...)
	}
}

func (e *encoder) float(v float64, prec int) {
	e.sep()
	e.buf = strconv.AppendFloat(e.buf, v, 'f', prec, 64)
}

// str writes a value that holds no quote, comma, backslash or control character: the
// generator's names, types and roles.
func (e *encoder) str(s string) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, s...)
		e.buf = append(e.buf, '"')
		return
	}
	e.buf = append(e.buf, s...)
}

func (e *encoder) strPrefixed(prefix string, n int64) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, '"')
	}
	e.buf = append(e.buf, prefix...)
	e.buf = strconv.AppendInt(e.buf, n, 10)
	if e.json {
		e.buf = append(e.buf, '"')
	}
}

func (e *encoder) uri(pid, typ string, id int64) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, '"')
	}
	e.buf = append(e.buf, "synth://p"...)
	e.buf = append(e.buf, pid...)
	e.buf = append(e.buf, '/')
	e.buf = append(e.buf, typ...)
	e.buf = append(e.buf, '/')
	e.buf = strconv.AppendInt(e.buf, id, 10)
	if e.json {
		e.buf = append(e.buf, '"')
	}
}

// raw writes a JSON value: as is in JSON lines, quoted in CSV.
func (e *encoder) raw(j []byte) {
	e.sep()
	if e.json {
		e.buf = append(e.buf, j...)
		return
	}
	e.buf = append(e.buf, '"')
	for _, c := range j {
		if c == '"' {
			e.buf = append(e.buf, '"')
		}
		e.buf = append(e.buf, c)
	}
	e.buf = append(e.buf, '"')
}

// time writes a UTC instant given in seconds since the window opened.
func (e *encoder) time(t int64) {
	e.sep()
	u := e.baseUnix + t
	d := u / 86400
	if !e.hasDay || d != e.lastDay {
		e.dayText = time.Unix(d*86400, 0).UTC().AppendFormat(e.dayText[:0], "2006-01-02")
		e.lastDay, e.hasDay = d, true
	}
	if e.json {
		e.buf = append(e.buf, '"')
	}
	e.buf = append(e.buf, e.dayText...)
	if e.json {
		e.buf = append(e.buf, 'T')
	} else {
		e.buf = append(e.buf, ' ')
	}
	s := u - d*86400
	e.buf = append2(e.buf, s/3600)
	e.buf = append(e.buf, ':')
	e.buf = append2(e.buf, s/60%60)
	e.buf = append(e.buf, ':')
	e.buf = append2(e.buf, s%60)
	if e.json {
		e.buf = append(e.buf, 'Z', '"')
	}
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
