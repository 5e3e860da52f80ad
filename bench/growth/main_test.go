package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A step that failed is left out of the plots, and a measure that is 0 at every scale is
// not drawn.
func TestDraw(t *testing.T) {
	dir := t.TempDir()
	tsv := "scale\tstep\trc\tseconds\tpeak_rss_mb\tmax_spill_mb\tload_before\tload_after\tat\n" +
		"0.1\tgen\t0\t3.42\t371\t0\t1.15\t1.06\t12:33:53\n" +
		"0.1\tload\t0\t14.22\t1053\t0\t1.06\t1.11\t12:34:09\n" +
		"1\tgen\t0\t39.39\t695\t0\t1.63\t2.58\t12:34:59\n" +
		"1\tload\t1\t198.48\t8904\t0\t2.58\t3.29\t12:38:18\n"
	results := filepath.Join(dir, "results.tsv")
	if err := os.WriteFile(results, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	steps, err := read(results)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || steps[2] != (step{scale: "1", name: "gen", secs: 39.39, rss: 695.0 / 1024}) {
		t.Errorf("steps = %+v, want the three that finished", steps)
	}
	if err := draw(results, dir); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]bool{"growth-seconds.png": true, "growth-memory.png": true, "growth-spill.png": false} {
		if _, err := os.Stat(filepath.Join(dir, file)); (err == nil) != want {
			t.Errorf("%s drawn: %v, want %v", file, err == nil, want)
		}
	}
}
