package synth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
)

// TestCorpusWriterWritesLayout checks the encoder's rows against engine.Tables: each table's
// file carries its layout columns by name, in order, and every row has a value for each.
func TestCorpusWriterWritesLayout(t *testing.T) {
	cfg := DefaultConfig(3)
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			w, err := newCorpusWriter(dir, dir, format, cfg.Start)
			if err != nil {
				t.Fatal(err)
			}
			classes := rateClasses(&cfg)
			for i := range cfg.Pipelines {
				b := new(batch)
				s := newSim(&cfg, classes, i, b)
				s.simulate()
				if err := w.write(int64(i)+1, s.name(), b); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.close(); err != nil {
				t.Fatal(err)
			}
			for _, table := range engine.Tables {
				want := engine.Names(table.Layout())
				path := filepath.Join(dir, table.Name+"."+format)
				var rows int
				if format == "csv" {
					rows = checkCSV(t, path, want)
				} else {
					rows = checkJSONL(t, path, want)
				}
				if rows == 0 {
					t.Errorf("%s: no rows", path)
				}
			}
		})
	}
}

// checkCSV checks that the file's header is cols and that every record has len(cols) fields.
func checkCSV(t *testing.T, path string, cols []string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll() // a record of another length is an error
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if diff := cmp.Diff(cols, records[0]); diff != "" {
		t.Errorf("%s: header differs from engine.Tables (-want +got):\n%s", path, diff)
	}
	return len(records) - 1
}

// checkJSONL checks that every line's object has the keys cols, in order.
func checkJSONL(t *testing.T, path string, cols []string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		var keys []string
		if _, err := dec.Token(); err != nil { // {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			keys = append(keys, k.(string))
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
		}
		if !slices.Equal(keys, cols) {
			t.Fatalf("%s:%d: keys %v, want engine.Tables' %v", path, n, keys, cols)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCategoriesMatchSeed checks the generator's categories against the op_categories the
// store seeds: every operator type it maps has the seeded category, and every custom
// component is one the seed does not list, so that it falls to other.
func TestCategoriesMatchSeed(t *testing.T) {
	ctx := context.Background()
	e, err := engine.Open(ctx, ":memory:", engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rows, err := e.DB().QueryContext(ctx, `SELECT op_type, category FROM op_categories`)
	if err != nil {
		t.Fatal(err)
	}
	seed := map[string]string{}
	for rows.Next() {
		var op, c string
		if err := rows.Scan(&op, &c); err != nil {
			t.Fatal(err)
		}
		seed[op] = c
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for op, c := range categories {
		if seed[op] != c {
			t.Errorf("%s: the generator gives category %q, the seed %q", op, c, seed[op])
		}
	}
	for _, c := range slices.Concat(customPre, customPost) {
		if cat, ok := seed[c.op]; ok {
			t.Errorf("custom component %s: the seed gives it category %q, the generator %q", c.op, cat, category(c.op))
		}
	}
}
