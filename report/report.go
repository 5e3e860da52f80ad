// Package report writes the report of a store's analyses into one folder: report.md, a
// self-contained report.html (plots embedded, readable offline), a PNG and an SVG per plot
// under plots/, results.json (every result in full) and manifest.json (what the report was
// made from and with). The same input gives the same report.md and results.json, byte for
// byte, so that two reports can be compared with diff. Package report/runner runs what a
// report of a store shows; this package only renders, and needs no database.
//
// Plots are titled in words and drawn from the data: a cdf whose largest value is at least
// 50 times its median, all values positive, has a logarithmic x axis (time_between_pushes on
// the demo corpus); bars, lines and histograms keep linear axes, since bars compare lengths
// from 0 and a log axis has no place for 0. A plot whose values are all 0, or a result with
// no rows, is not drawn: its section says so in one sentence, with what would fill it.
package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"mlprov/catalog"
	"mlprov/internal/plot"
	"mlprov/internal/render"
)

// ErrNotReportFolder means the output folder holds files, and no earlier report, so writing
// there could destroy someone's work.
var ErrNotReportFolder = errors.New("the folder is not empty and holds no mlprov report")

// HeadlineName is the analysis the report opens with, when there is one: the paper's figures
// beside this corpus's (columns metric, paper, corpus).
const HeadlineName = "headline"

// maxTableRows is how many rows of a result the report's tables show; results.json has all.
const maxTableRows = 25

// Input is everything a report is made of.
type Input struct {
	// Version is mlprov's version.
	Version string
	// Fingerprint identifies the store's content (engine.StoreInfo.Fingerprint).
	Fingerprint string
	// Seed is the generator's seed, when the store came from mlprov gen.
	Seed    string
	Sources []catalog.Source
	// Params are the command's parameters; manifest.json records them with the report's own.
	Params map[string]any
	// Analyses are the results, in the order the report shows them.
	Analyses []catalog.Analysis
	// NoTrainingRuns says the store holds no training runs: the headline then says how to map
	// them, and sections on graphlets say that mapping them would fill them.
	NoTrainingRuns bool
	// Progress, when set, receives a short line per step.
	Progress func(step string)
}

// Summary says what Write wrote.
type Summary struct {
	// Files are the paths written, relative to the folder, sorted.
	Files []string
	Plots int
}

// Write writes the report of in into dir. dir must be new, empty, or hold an earlier report
// (one whose manifest.json mlprov wrote); otherwise Write returns ErrNotReportFolder and
// leaves dir as it is. The report is built in a new folder beside dir and swapped in whole, so
// that a run that fails, is cancelled through ctx or is killed leaves the earlier report as
// it was. Of the earlier report, only the files its manifest.json lists are removed: anything
// else in the folder (a reader's notes) is kept in the new one.
func Write(ctx context.Context, dir string, in Input) (*Summary, error) {
	t, err := inspect(dir)
	if err != nil {
		return nil, err
	}
	files, sum, err := build(ctx, in)
	if err != nil {
		return nil, err
	}
	progress := in.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if err := t.install(ctx, files, func() { progress("moving the report into " + dir) }); err != nil {
		return nil, err
	}
	return sum, nil
}

// Files renders the report of in as Write writes it, without writing: each file by its path
// in the folder (report.html, results.json, plots/NAME.png, ...).
func Files(ctx context.Context, in Input) (map[string][]byte, error) {
	files, _, err := build(ctx, in)
	return files, err
}

// build renders every file of the report of in, by path in the folder.
func build(ctx context.Context, in Input) (map[string][]byte, *Summary, error) {
	progress := in.Progress
	if progress == nil {
		progress = func(string) {}
	}
	files := map[string][]byte{}
	secs := make([]*section, len(in.Analyses))
	var plots []manifestAnalysis
	for i, a := range in.Analyses {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		normalise(a.Result)
		sec := newSection(a)
		secs[i] = sec
		ma := manifestAnalysis{Name: a.Name, SQLSHA256: digest([]byte(a.SQL)), Rows: len(a.Result.Rows), Plot: a.Plot.String()}
		switch {
		case len(a.Result.Rows) == 0:
			sec.Empty = a.Note
			if sec.Empty == "" {
				sec.Empty = fmt.Sprintf("Nothing to show: the store holds nothing this analysis counts; %s.", in.fill(a))
			}
		case a.Plot.Kind != "" && a.Plot.Kind != "none":
			progress(fmt.Sprintf("plotting %s (%s)", a.Name, a.Plot.Kind))
			fig, err := plot.Draw(a)
			var zero *plot.AllZeroError
			switch {
			case errors.Is(err, plot.ErrNothingToPlot):
				sec.Note = fmt.Sprintf("No plot: no row has a value to plot; %s.", in.fill(a))
			case errors.As(err, &zero):
				sec.Note = fmt.Sprintf("No plot: every %s is 0; %s.", zero.Column, in.fill(a))
			case err != nil:
				return nil, nil, fmt.Errorf("plot %s: %w", a.Name, err)
			default:
				sec.PNG, sec.SVG = "plots/"+a.Name+".png", "plots/"+a.Name+".svg"
				sec.Image = "data:image/png;base64," + base64.StdEncoding.EncodeToString(fig.PNG)
				sec.Note = fig.Note
				files[sec.PNG], files[sec.SVG] = fig.PNG, fig.SVG
				ma.Files = []string{sec.PNG, sec.SVG}
			}
		}
		plots = append(plots, ma)
	}
	doc := &document{Version: in.Version, Fingerprint: in.Fingerprint, Seed: in.Seed, Sources: len(in.Sources)}
	for _, s := range secs {
		if s.Name == HeadlineName && doc.Headline == nil {
			if in.NoTrainingRuns {
				s.Lead = NoTrainingRunsHint
			}
			doc.Headline = s
			continue
		}
		doc.Sections = append(doc.Sections, s)
	}
	progress("writing report.md, report.html and results.json")
	files["report.md"] = markdown(doc)
	var err error
	if files["report.html"], err = html(doc); err != nil {
		return nil, nil, fmt.Errorf("report.html: %w", err)
	}
	if files["results.json"], err = results(in); err != nil {
		return nil, nil, fmt.Errorf("results.json: %w", err)
	}
	m := manifest{
		Version:  in.Version,
		Store:    manifestStore{Fingerprint: in.Fingerprint, Seed: in.Seed, Sources: in.Sources},
		Params:   map[string]any{},
		Analyses: plots,
		Files:    map[string]string{},
	}
	for k, v := range in.Params {
		m.Params[k] = v
	}
	m.Params["table_rows"] = maxTableRows
	m.Params["plot_width_in"] = plot.WidthInches
	m.Params["plot_height_in"] = plot.HeightInches
	m.Params["png_dpi"] = plot.DPI
	m.Params["float_digits"] = jsonDigits
	names := make([]string, 0, len(files)+1)
	for name, b := range files {
		names = append(names, name)
		m.Files[name] = digest(b)
	}
	if files["manifest.json"], err = marshal(m); err != nil {
		return nil, nil, fmt.Errorf("manifest.json: %w", err)
	}
	names = append(names, "manifest.json")
	slices.Sort(names)
	n := 0
	for _, p := range plots {
		if len(p.Files) > 0 {
			n++
		}
	}
	return files, &Summary{Files: names, Plots: n}, nil
}

// NoTrainingRunsHint is what the report says, under the headline, of a store that holds no
// training runs: how to map them.
const NoTrainingRunsHint = "This store holds no training runs (executions of category train), so the figures on " +
	"models and graphlets are empty. Kubeflow v2 and custom components record no Trainer type: map the " +
	"operator type of your training jobs with mlprov query \"INSERT INTO op_categories VALUES ('<op_type>', 'train')\" " +
	"and load the sources again (mlprov load --replace PATH), adding --deploy-rule REGEXP to name the jobs that deploy a model."

// fill says what would give a's section something to show: training runs, for an analysis
// of graphlets or trainings in a store that has none; otherwise more history.
func (in Input) fill(a catalog.Analysis) string {
	if in.NoTrainingRuns && readsTrainings(a.SQL) {
		return "mapping the store's training jobs to category train in op_categories would fill it (see the headline)"
	}
	return "a store with more history would fill it"
}

// readsTrainings tells whether an analysis's SQL reads the relations derived from training
// runs: the graphlets and the pipelines' training rates.
func readsTrainings(sql string) bool {
	for _, rel := range []string{"graphlet", "trainers", "pipeline_activity", "'train'"} {
		if strings.Contains(sql, rel) {
			return true
		}
	}
	return false
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// jsonDigits is how many significant digits floats keep. Parallel sums in DuckDB may differ
// in their last bits from run to run; rounding keeps results.json byte-identical.
const jsonDigits = 12

// normalise rounds every float of res to jsonDigits significant digits.
func normalise(res *render.Result) {
	for _, r := range res.Rows {
		for i, v := range r {
			if f, ok := v.(float64); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
				r[i] = render.RoundSig(f, jsonDigits)
			}
		}
	}
}

// table is a result as text cells.
type table struct {
	Columns []string
	Numeric []bool // right-aligned columns
	Rows    [][]string
}

func newTable(res *render.Result, limit int) table {
	t := table{Columns: res.Columns, Numeric: make([]bool, len(res.Columns))}
	for i := range res.Columns {
		t.Numeric[i] = len(res.Rows) > 0
		for _, r := range res.Rows {
			if _, _, ok := plot.Number(r[i]); r[i] != nil && (!ok || isTimeOrBool(r[i])) {
				t.Numeric[i] = false
				break
			}
		}
	}
	for i, r := range res.Rows {
		if i == limit {
			break
		}
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = render.Cell(v)
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

func isTimeOrBool(v any) bool {
	switch v.(type) {
	case time.Time, bool:
		return true
	}
	return false
}

// section is one analysis in the report.
type section struct {
	Name, Description, Topic, Plot string
	// PNG and SVG are the plot's files, relative to the report; Image is the PNG as a data
	// URL for report.html. All empty when there is no plot.
	PNG, SVG, Image string
	Note            string // on the plot: what it leaves out, or why there is none
	// Lead opens the section; Empty is all it says when its result has no rows.
	Lead, Empty string
	Summary     *table // the distribution of a cdf's or hist's x, when it has one
	SummaryOf   string
	Table       table
	Total       int
	SQL         string
}

func newSection(a catalog.Analysis) *section {
	s := &section{
		Name: a.Name, Description: a.Description, Topic: a.Topic, Plot: a.Plot.String(),
		Table: newTable(a.Result, maxTableRows), Total: len(a.Result.Rows), SQL: strings.TrimSpace(a.SQL),
	}
	if len(a.Result.Rows) > 0 {
		s.Lead = a.Note
	}
	if a.Plot.Kind == "cdf" || a.Plot.Kind == "hist" {
		if t := distribution(a); t != nil {
			s.Summary, s.SummaryOf = t, a.Plot.X
		}
	}
	return s
}

// Shown is how many rows the section's table shows.
func (s *section) Shown() int { return len(s.Table.Rows) }

// document is the whole report, for the Markdown and HTML writers.
type document struct {
	Version, Fingerprint, Seed string
	Sources                    int
	Headline                   *section
	Sections                   []*section
}

// results is results.json: every result in full, in report order, one row per line so
// that two reports diff well.
func results(in Input) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\n  \"store_fingerprint\": ")
	if err := writeJSON(&b, in.Fingerprint); err != nil {
		return nil, err
	}
	b.WriteString(",\n  \"analyses\": [")
	for i, a := range in.Analyses {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n    {")
		for j, kv := range []struct {
			k string
			v any
		}{{"name", a.Name}, {"description", a.Description}, {"topic", a.Topic}, {"plot", a.Plot.String()}, {"columns", a.Result.Columns}} {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n      \"" + kv.k + "\": ")
			if err := writeJSON(&b, kv.v); err != nil {
				return nil, fmt.Errorf("%s: %w", a.Name, err)
			}
		}
		b.WriteString(",\n      \"rows\": [")
		for k, r := range a.Result.Rows {
			if k > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n        ")
			vals := make([]any, len(r))
			for c, v := range r {
				vals[c] = render.JSONValue(v)
			}
			if err := writeJSON(&b, vals); err != nil {
				return nil, fmt.Errorf("%s: %w", a.Name, err)
			}
		}
		if len(a.Result.Rows) > 0 {
			b.WriteString("\n      ")
		}
		b.WriteString("]\n    }")
	}
	if len(in.Analyses) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("]\n}\n")
	return b.Bytes(), nil
}

// writeJSON appends v without HTML escaping, which JSON files need not.
func writeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode ends with a newline
	return nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// manifest is manifest.json: what the report was made from and with, and a digest of every
// file it wrote, so that a copy can be checked.
type manifest struct {
	Version  string             `json:"mlprov_version"`
	Store    manifestStore      `json:"store"`
	Params   map[string]any     `json:"parameters"`
	Analyses []manifestAnalysis `json:"analyses"`
	Files    map[string]string  `json:"files"`
}

type manifestStore struct {
	Fingerprint string           `json:"fingerprint"`
	Seed        string           `json:"seed,omitempty"`
	Sources     []catalog.Source `json:"sources"`
}

type manifestAnalysis struct {
	Name      string   `json:"name"`
	SQLSHA256 string   `json:"sql"`
	Rows      int      `json:"rows"`
	Plot      string   `json:"plot"`
	Files     []string `json:"files,omitempty"`
}
