package render

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Result is a query result read into memory.
type Result struct {
	Columns []string
	Rows    [][]any
	// Omitted counts rows that were read but not kept (see ReadSome); they stood between
	// Rows[:OmittedAt] and Rows[OmittedAt:].
	Omitted   int
	OmittedAt int
}

// Total is the number of rows the query returned, kept or not.
func (r *Result) Total() int { return len(r.Rows) + r.Omitted }

// Query runs q on db and reads its whole result.
func Query(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) (*Result, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return Read(rows)
}

// Read reads every row of rows; the caller still closes rows.
func Read(rows *sql.Rows) (*Result, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	kinds, err := columnKinds(rows)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	for rows.Next() {
		vals, err := scanRow(rows, kinds)
		if err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// ReadSome reads every row of rows but keeps at most limit of them, the first and the last
// half, and counts the rest in Omitted, so that a huge result can be shown in bounded memory.
// limit <= 0 keeps every row. The caller still closes rows.
func ReadSome(rows *sql.Rows, limit int) (*Result, error) {
	if limit <= 0 {
		return Read(rows)
	}
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	head := (limit + 1) / 2
	tail := make([][]any, limit-head) // a ring of the last rows read
	kinds, err := columnKinds(rows)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	n := 0
	for rows.Next() {
		vals, err := scanRow(rows, kinds)
		if err != nil {
			return nil, err
		}
		switch {
		case n < head:
			res.Rows = append(res.Rows, vals)
		case len(tail) > 0:
			tail[(n-head)%len(tail)] = vals
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	after := max(n-head, 0) // rows read after the head
	kept := min(after, len(tail))
	res.OmittedAt = len(res.Rows)
	res.Omitted = after - kept
	for i := range kept {
		// The ring's oldest row sits where the next one would have gone.
		res.Rows = append(res.Rows, tail[(after-kept+i)%len(tail)])
	}
	return res, nil
}

// scanRow scans the current row of rows into values of the driver's types, but for the
// types the driver gives as another's (see columnKinds).
func scanRow(rows *sql.Rows, kinds []string) ([]any, error) {
	vals := make([]any, len(kinds))
	ptrs := make([]any, len(kinds))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, k := range kinds {
		switch v := vals[i].(type) {
		case []byte:
			if k == "UUID" && len(v) == 16 {
				vals[i] = fmt.Sprintf("%x-%x-%x-%x-%x", v[:4], v[4:6], v[6:8], v[8:10], v[10:])
			}
		case time.Time:
			// A time of day, which the driver gives on 1 January of the year 1.
			switch k {
			case "TIME":
				vals[i] = clockText(timeOfDay(v))
			case "TIMETZ":
				_, off := v.Zone()
				vals[i] = clockText(timeOfDay(v)) + fmt.Sprintf("%+03d", off/3600)
				if m := off / 60 % 60; m != 0 {
					vals[i] = vals[i].(string) + fmt.Sprintf(":%02d", max(m, -m))
				}
			}
		}
	}
	return vals, nil
}

func timeOfDay(t time.Time) int64 {
	return int64(t.Hour())*3_600_000_000 + int64(t.Minute())*60_000_000 + int64(t.Second())*1_000_000 + int64(t.Nanosecond()/1000)
}

// columnKinds returns the database's type name of every column of rows, which tells a UUID
// from a BLOB and a TIME from a TIMESTAMP, alike in the Go types the driver gives.
func columnKinds(rows *sql.Rows) ([]string, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	kinds := make([]string, len(types))
	for i, t := range types {
		kinds[i] = t.DatabaseTypeName()
	}
	return kinds, nil
}
