// Command growth draws the plots of time, peak memory and spill against scale that
// bench/growth/growth.sh measures: growth-seconds.png, growth-memory.png and growth-spill.png
// in DIR (or in --to), from DIR/results.tsv.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mlprov/catalog"
	"mlprov/internal/plot"
	"mlprov/internal/render"
)

// step is one line of results.tsv.
type step struct {
	scale, name      string
	secs, rss, spill float64 // seconds, GiB, GiB
}

func main() {
	to := flag.String("to", "", "where to write the plots (default: DIR)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/growth [--to DIR] RESULTS_DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if *to == "" {
		*to = dir
	}
	if err := draw(filepath.Join(dir, "results.tsv"), *to); err != nil {
		fmt.Fprintln(os.Stderr, "growth:", err)
		os.Exit(1)
	}
}

func draw(results, to string) error {
	steps, err := read(results)
	if err != nil {
		return err
	}
	for _, m := range []struct {
		file, column string
		value        func(step) float64
	}{
		{"growth-seconds.png", "seconds", func(s step) float64 { return s.secs }},
		{"growth-memory.png", "peak_RSS_GiB", func(s step) float64 { return s.rss }},
		{"growth-spill.png", "spill_GiB", func(s step) float64 { return s.spill }},
	} {
		res := &render.Result{Columns: []string{"step", "scale", m.column}}
		for _, s := range steps {
			if m.file == "growth-spill.png" && s.name == "gen" {
				continue // gen writes no store
			}
			res.Rows = append(res.Rows, []any{s.name, s.scale, m.value(s)})
		}
		fig, err := plot.Draw(catalog.Analysis{Name: "growth: " + m.column + " against scale", Result: res,
			Plot: catalog.Plot{Kind: "line", X: "scale", Y: m.column, Series: "step"}})
		var zero *plot.AllZeroError
		if errors.As(err, &zero) {
			fmt.Fprintf(os.Stderr, "growth: %s not drawn: every %s is 0\n", m.file, m.column)
			continue
		}
		if err != nil {
			return fmt.Errorf("plot %s: %w", m.column, err)
		}
		if err := os.WriteFile(filepath.Join(to, m.file), fig.PNG, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// read returns the steps of results.tsv that finished (exit status 0).
func read(path string) ([]step, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var steps []step
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		p := strings.Split(sc.Text(), "\t")
		if line == 1 || len(p) < 6 || p[2] != "0" {
			continue
		}
		var v [3]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(p[3+i], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, line, err)
			}
		}
		steps = append(steps, step{scale: p[0], name: p[1], secs: v[0], rss: v[1] / 1024, spill: v[2] / 1024})
	}
	return steps, sc.Err()
}
