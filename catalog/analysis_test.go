package catalog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAnalysis(t *testing.T) {
	const body = "\nSELECT 1 AS x ORDER BY x;\n"
	for _, tc := range []struct {
		name, header string
		want         Analysis // File and SQL are filled in by the test
		err          string
	}{
		{name: "full", header: "-- name: a\n-- description: one line\n-- topic: waste\n-- plot: bar x=k y=v series=s\n-- order: 7\n",
			want: Analysis{Name: "a", Description: "one line", Topic: "waste", Plot: Plot{Kind: "bar", X: "k", Y: "v", Series: "s"}, Order: 7}},
		{name: "prose and blank lines", header: "-- name: a\n\n-- Why: prose with a colon.\n--\n-- description: d\n-- topic: reuse\n-- plot: cdf x=v\n",
			want: Analysis{Name: "a", Description: "d", Topic: "reuse", Plot: Plot{Kind: "cdf", X: "v"}, Order: DefaultOrder}},
		{name: "none", header: "--name:a\n-- description: d\n-- topic: corpus\n-- plot: none\n",
			want: Analysis{Name: "a", Description: "d", Topic: "corpus", Plot: Plot{Kind: "none"}, Order: DefaultOrder}},
		{name: "fields after the SQL are not header", header: "-- name: a\n-- description: d\n-- topic: corpus\nSELECT 1;\n-- plot: none\n", err: `no "plot" line`},
		{name: "name differs from file", header: "-- name: b\n-- description: d\n-- topic: corpus\n-- plot: none\n", err: "must agree"},
		{name: "misspelt key", header: "-- name: a\n-- decription: d\n-- topic: corpus\n-- plot: none\n", err: `analyses/a.sql:2: unknown header key "decription"`},
		{name: "twice", header: "-- name: a\n-- name: a\n", err: "name is given twice"},
		{name: "empty", header: "-- name: a\n-- description:\n", err: "description is empty"},
		{name: "topic", header: "-- name: a\n-- description: d\n-- topic: money\n", err: `unknown topic "money"`},
		{name: "order", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: none\n-- order: first\n", err: "not an integer"},
		{name: "plot kind", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: pie x=a\n", err: `unknown plot kind "pie"`},
		{name: "bar without y", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: bar x=a\n", err: "bar needs x=COL and y=COL"},
		{name: "cdf with y", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: cdf x=a y=b\n", err: "cdf needs x=COL and takes no y"},
		{name: "hist with series", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: hist x=a series=b\n", err: "hist takes no series"},
		{name: "none with columns", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: none x=a\n", err: "none takes no columns"},
		{name: "plot key", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: bar x=a z=b\n", err: `unknown key "z"`},
		{name: "plot column", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: bar x=a y=b-c\n", err: `"y=b-c" is not KEY=COLUMN`},
		{name: "plot key twice", header: "-- name: a\n-- description: d\n-- topic: corpus\n-- plot: bar x=a x=b y=c\n", err: "x is given twice"},
		{name: "name not lowercase", header: "-- name: A\n", err: "not a lowercase identifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.header + body
			got, err := ParseAnalysis("analyses/a.sql", []byte(text))
			if wantErr(t, err, tc.err) {
				return
			}
			tc.want.File, tc.want.SQL = "analyses/a.sql", text
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
