package render

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"

	_ "mlprov/internal/golden" // accept -update, which `go test ./... -update` passes to every package
)

// numbers is a result of n rows: i, i*i and a long text.
func numbers(n int) *Result {
	res := &Result{Columns: []string{"i", "square", "note"}}
	for i := 1; i <= n; i++ {
		res.Rows = append(res.Rows, []any{int64(i), int64(i * i), strings.Repeat("ab", i)})
	}
	return res
}

func uris() *Result {
	return &Result{Columns: []string{"artifact_id", "uri", "state"}, Rows: [][]any{
		{int64(1001), "gs://ml/p1/Examples/1001", "live"},
		{int64(1002), "gs://ml/p1/Schema/1002", nil},
	}}
}

func TestWriteTableLimits(t *testing.T) {
	tests := []struct {
		name string
		res  *Result
		opts Options
		want string
	}{
		{"everything", numbers(3), Options{}, `
┌───┬────────┬────────┐
│ i │ square │ note   │
├───┼────────┼────────┤
│ 1 │      1 │ ab     │
│ 2 │      4 │ abab   │
│ 3 │      9 │ ababab │
└───┴────────┴────────┘
(3 rows)
`},
		{"no header", numbers(1), Options{NoHeader: true}, `
┌───┬───┬────┐
│ 1 │ 1 │ ab │
└───┴───┴────┘
(1 row)
`},
		{"max rows keeps head and tail", numbers(7), Options{MaxRows: 3}, `
┌───┬────────┬────────────────┐
│ i │ square │ note           │
├───┼────────┼────────────────┤
│ 1 │      1 │ ab             │
│ 2 │      4 │ abab           │
│ … │      … │ …              │
│ 7 │     49 │ ababababababab │
└───┴────────┴────────────────┘
(7 rows, 3 shown)
`},
		{"max rows above the count", numbers(2), Options{MaxRows: 5}, `
┌───┬────────┬──────┐
│ i │ square │ note │
├───┼────────┼──────┤
│ 1 │      1 │ ab   │
│ 2 │      4 │ abab │
└───┴────────┴──────┘
(2 rows)
`},
		{"long values are cut to fit", numbers(12), Options{MaxWidth: 32, MaxRows: 2}, `
┌────┬────────┬────────────────┐
│ i  │ square │ note           │
├────┼────────┼────────────────┤
│  1 │      1 │ ab             │
│  … │      … │ …              │
│ 12 │    144 │ ababababababa… │
└────┴────────┴────────────────┘
(12 rows, 2 shown; long values cut)
`},
		{"columns are dropped when cutting is not enough", numbers(2), Options{MaxWidth: 18}, `
┌───┬────────┬───┐
│ i │ square │ … │
├───┼────────┼───┤
│ 1 │      1 │ … │
│ 2 │      4 │ … │
└───┴────────┴───┘
(2 rows; 3 columns, 2 shown)
`},
		{"headers stay whole while columns can be left out", uris(), Options{MaxWidth: 30}, `
┌─────────────┬──────────┬───┐
│ artifact_id │ uri      │ … │
├─────────────┼──────────┼───┤
│        1001 │ gs://ml… │ … │
│        1002 │ gs://ml… │ … │
└─────────────┴──────────┴───┘
(2 rows; 3 columns, 2 shown; long values cut)
`},
		{"only the long values are cut", uris(), Options{MaxWidth: 40}, `
┌─────────────┬────────────────┬───────┐
│ artifact_id │ uri            │ state │
├─────────────┼────────────────┼───────┤
│        1001 │ gs://ml/p1/Ex… │ live  │
│        1002 │ gs://ml/p1/Sc… │ NULL  │
└─────────────┴────────────────┴───────┘
(2 rows; long values cut)
`},
		{"a header is cut when nothing else fits", uris(), Options{MaxWidth: 12}, `
┌──────┬───┐
│ art… │ … │
├──────┼───┤
│ 1001 │ … │
│ 1002 │ … │
└──────┴───┘
(2 rows; 3 columns, 1 shown; long values cut)
`},
		{"one column cut to the width", numbers(2), Options{MaxWidth: 10}, `
┌───┬───┐
│ i │ … │
├───┼───┤
│ 1 │ … │
│ 2 │ … │
└───┴───┘
(2 rows; 3 columns, 1 shown)
`},
		{"rows already omitted by ReadSome", &Result{Columns: []string{"x"}, Rows: [][]any{{"a"}, {"b"}, {"y"}, {"z"}}, Omitted: 20, OmittedAt: 2}, Options{MaxRows: 2}, `
┌───┐
│ x │
├───┤
│ a │
│ … │
│ z │
└───┘
(24 rows, 2 shown)
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteWith(&b, "table", tt.res, tt.opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimPrefix(tt.want, "\n"), b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.opts.MaxWidth > 0 {
				for _, line := range strings.Split(b.String(), "\n") {
					if w := textWidth(line); w > tt.opts.MaxWidth && !strings.HasPrefix(line, "(") {
						t.Errorf("line %q is %d wide, over %d", line, w, tt.opts.MaxWidth)
					}
				}
			}
		})
	}
}

func TestReadSome(t *testing.T) {
	db, err := sql.Open("duckdb", "?threads=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range []struct {
		rows, limit int
		want        string // the kept rows, with | where rows were omitted
	}{
		{0, 4, ""},
		{3, 4, "0 1 2"},
		{4, 4, "0 1 2 3"},
		{5, 4, "0 1 | 3 4"},
		{10, 4, "0 1 | 8 9"},
		{10, 3, "0 1 | 9"},
		{10, 1, "0 |"},
		{10, 0, "0 1 2 3 4 5 6 7 8 9"},
	} {
		t.Run(fmt.Sprintf("%d rows limit %d", tt.rows, tt.limit), func(t *testing.T) {
			rows, err := db.QueryContext(context.Background(), "SELECT range FROM range(?)", tt.rows)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			res, err := ReadSome(rows, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, r := range res.Rows {
				if i == res.OmittedAt && res.Omitted > 0 {
					got = append(got, "|")
				}
				got = append(got, fmt.Sprint(r[0]))
			}
			if res.Omitted > 0 && res.OmittedAt == len(res.Rows) {
				got = append(got, "|")
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("kept %q, want %q", s, tt.want)
			}
			if res.Total() != tt.rows {
				t.Errorf("Total() = %d, want %d", res.Total(), tt.rows)
			}
		})
	}
}

func TestWriteRefusesOmittedRows(t *testing.T) {
	res := &Result{Columns: []string{"x"}, Rows: [][]any{{1}}, Omitted: 5, OmittedAt: 1}
	for _, f := range []string{"csv", "json", "markdown", "line"} {
		if err := WriteWith(new(strings.Builder), f, res, Options{}); err == nil {
			t.Errorf("%s: wrote a result with omitted rows", f)
		}
	}
}
