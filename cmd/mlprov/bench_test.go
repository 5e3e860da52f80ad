package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBench runs two benchmarks at a tiny scale and checks what a user reads and scripts
// against: the table, the benchstat lines, results.json with its documented fields, the
// plot of time against scale and the EXPLAIN ANALYZE of each SQL alternative.
func TestBench(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	code, stdout, errOut := mlprov(t, "bench", "--scale", "0.001", "--only", "graphlets,load", "--min-time", "1ms",
		"--cache", filepath.Join(dir, "cache"), "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"│ graphlets │ union", "│ load      │ mlmd", "goos: ", "load average"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	line := regexp.MustCompile(`(?m)^BenchmarkGraphlets/scale=0\.001/alt=go_bfs-\d+\t\d+\t\d+ ns/op\t\d+ members/s\t\d+ graphlets/s$`)
	if !line.MatchString(stdout) {
		t.Errorf("no benchstat line for go_bfs in:\n%s", stdout)
	}
	if !strings.Contains(errOut, "bench: generated the corpus at scale 0.001") || !strings.Contains(errOut, "bench: scale 0.001: graphlets/mlmd_walk") {
		t.Errorf("stderr:\n%s", errOut)
	}
	var res struct {
		Results []map[string]any `json:"results"`
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 7 {
		t.Errorf("%d results, want 2 loads and 5 graphlet alternatives", len(res.Results))
	}
	for _, r := range res.Results {
		for _, k := range []string{"name", "alternative", "scale", "seconds", "graphlets", "agree"} {
			if _, ok := r[k]; !ok {
				t.Errorf("result %v lacks %q", r["benchmark"], k)
			}
		}
		if r["agree"] != true {
			t.Errorf("%v: agree = %v", r["benchmark"], r["agree"])
		}
	}
	for _, f := range []string{"bench.txt", "graphlets.png", "graphlets.svg", "load.png", "explain/graphlets-union-scale=0.001.txt", "explain/graphlets-using_key-scale=0.001.txt", "explain/graphlets-fixed_depth-scale=0.001.txt"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("--out wrote no %s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "explain", "graphlets-union-scale=0.001.txt")); !strings.Contains(string(b), "RECURSIVE_CTE") {
		t.Errorf("the EXPLAIN ANALYZE of union shows no recursive CTE:\n%s", b)
	}
	// --json prints the same results to stdout, from the cache this time.
	code, stdout, errOut = mlprov(t, "bench", "--json", "-q", "--scale", "0.001", "--only", "graphlets/go_bfs", "--min-time", "1ms", "--cache", filepath.Join(dir, "cache"))
	if code != 0 || errOut != "" {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res.Results) != 2 {
		t.Errorf("--json printed %d results (%v):\n%s", len(res.Results), err, stdout)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--scale", "-1"},
		{"bench", "--only", "nope"},
		{"bench", "extra"},
	} {
		if code, _, errOut := mlprov(t, args...); code != 2 || !strings.Contains(errOut, "try: mlprov bench --help") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
}
