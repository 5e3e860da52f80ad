package render

import (
	"context"
	"database/sql"
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
	res := &Result{Columns: cols}
	for rows.Next() {
		vals, err := scanRow(rows, len(cols))
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
	res := &Result{Columns: cols}
	n := 0
	for rows.Next() {
		vals, err := scanRow(rows, len(cols))
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

// scanRow scans the current row of rows, which has n columns, into values of the driver's types.
func scanRow(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}
