package catalog

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantErr fails t unless err is an error containing want or, with want empty, no error. It
// reports whether the case wanted an error, which ends it.
func wantErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one containing %q", err, want)
	}
	return true
}

// TestParseHeader checks the rules every .sql header follows, views and queries included.
func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []Field
		err        string
	}{
		{name: "view", text: "-- name: v\n-- description: one row per thing\n--\n-- Upstream: prose.\nSELECT 1\n",
			want: []Field{{"name", "v", 1}, {"description", "one row per thing", 2}}},
		{name: "misspelt key", text: "-- name: v\n-- descripton: d\nSELECT 1\n", err: `views/v.sql:2: unknown header key "descripton" (want name or description)`}, //nolint:misspell // the misspelt key is the input under test
		{name: "no description", text: "-- name: v\nSELECT 1\n", err: `views/v.sql: the header has no "description" line`},
		{name: "name differs from file", text: "-- name: w\n-- description: d\n", err: `views/v.sql: the header names it "w"`},
		{name: "twice", text: "-- name: v\n-- description: d\n-- description: e\n", err: "views/v.sql:3: description is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHeader("views/v.sql", []byte(tc.text), "name", "description")
			if wantErr(t, err, tc.err) {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
