package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal, where a redrawn progress bar is readable and a
// person may type.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// progress reports long work on w (stderr): on a terminal, a bar whose caption is the current
// step; otherwise plain "PREFIX: STEP" lines, which scripts and tests read, and a count line
// at each tenth of the work. A nil *progress reports nothing. Reporting is best effort: an
// error drawing the bar or writing a line is ignored, as the work itself goes on.
type progress struct {
	w      io.Writer
	prefix string // "load", "gen"
	unit   string // what count counts: "records", "pipelines"
	bar    *progressbar.ProgressBar
	tenth  int64 // the last tenth a plain count line was printed for
}

func newProgress(w io.Writer, prefix, unit string) *progress {
	return &progress{w: w, prefix: prefix, unit: unit, tenth: -1}
}

// step reports a step; warnings are printed as lines even under a bar, so they stay on screen.
func (p *progress) step(s string) {
	if p == nil {
		return
	}
	if p.bar == nil || strings.HasPrefix(s, "warning: ") {
		if p.bar != nil {
			_ = p.bar.Clear()
		}
		fmt.Fprintf(p.w, "%s: %s\n", p.prefix, s)
		return
	}
	p.bar.Describe(p.prefix + ": " + s)
}

// count reports done units of total (total may be unknown, 0).
func (p *progress) count(done, total int64) {
	if p == nil {
		return
	}
	if !isTerminal(p.w) {
		if total >= 100 && done*10/total > p.tenth {
			p.tenth = done * 10 / total
			fmt.Fprintf(p.w, "%s: %d/%d %s\n", p.prefix, done, total, p.unit)
		}
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.prefix),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString(p.unit),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionFullWidth(),
		)
	}
	if total > 0 && p.bar.GetMax64() != total {
		p.bar.ChangeMax64(total)
	}
	_ = p.bar.Set64(done)
}

// done clears the bar, if one was drawn.
func (p *progress) done() {
	if p != nil && p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
