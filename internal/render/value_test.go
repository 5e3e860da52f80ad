package render

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTextAsDuckDB checks that values of the types the driver gives as Go structs or as
// another type's (INTERVAL, MAP, UNION, UUID, TIME, DECIMAL) print as DuckDB itself casts
// them to text, and go into JSON as values rather than as the driver's structs.
func TestTextAsDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "?threads=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, expr := range []string{
		"INTERVAL 90 MINUTE", "INTERVAL '1 year 2 days 3.5 seconds'", "INTERVAL 1 MONTH", "INTERVAL 14 MONTH",
		"INTERVAL 0 SECOND", "-INTERVAL 90 MINUTE", "INTERVAL '-1 day 2 hours'", "INTERVAL 1000 HOUR",
		"INTERVAL '-13 months'", "INTERVAL '0.000001 seconds'", "TIMESTAMP '2024-03-01 10:00' - TIMESTAMP '2024-01-01 09:59:30.25'",
		"MAP {'a': 1, 'b': 2}", "MAP {1: 'x'}", "MAP {'k': NULL}", "union_value(num := 2)", "union_value(s := 'x')",
		"'7d1e2b3c-0a4f-4e5d-9c8b-1a2b3c4d5e6f'::UUID", "TIME '10:11:12.5'", "TIME '00:00:00'", "TIMETZ '10:11:12+05:30'",
		"TIMETZ '23:59:59.000001-08'", "1.25::DECIMAL(10,2)", "-0.001::DECIMAL(18,3)",
	} {
		res, err := Query(context.Background(), db, "SELECT "+expr+", ("+expr+")::VARCHAR")
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got, want := Text(res.Rows[0][0], "NULL"), res.Rows[0][1].(string); got != want {
			t.Errorf("%s prints as %q, DuckDB as %q", expr, got, want)
		}
	}
	res, err := Query(context.Background(), db, `SELECT INTERVAL 90 MINUTE AS i, MAP {'a': 1} AS m, MAP {2: 'x'} AS n,
		union_value(num := 2) AS u, 1.25::DECIMAL(10,2) AS d, '7d1e2b3c-0a4f-4e5d-9c8b-1a2b3c4d5e6f'::UUID AS id, TIME '10:11:12' AS t`)
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]any{}
	for i, c := range res.Columns {
		row[c] = JSONValue(res.Rows[0][i])
	}
	got, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"d":1.25,"i":"01:30:00","id":"7d1e2b3c-0a4f-4e5d-9c8b-1a2b3c4d5e6f","m":{"a":1},"n":[{"key":2,"value":"x"}],"t":"10:11:12","u":2}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}
