package serve

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"mlprov/engine"
	"mlprov/internal/render"
	"mlprov/internal/shell"
)

var (
	// ErrNotRead means a query is not a single read statement.
	ErrNotRead = errors.New("only a single read statement (SELECT, FROM, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) may run here")
	// ErrQueryTimeout means a query ran out of its time and was interrupted.
	ErrQueryTimeout = errors.New("the query ran out of time and was interrupted")
)

// reads are the statement types a query may be: those that only read.
var reads = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_SELECT:  true,
	duckdb.STATEMENT_TYPE_EXPLAIN: true,
}

// statementNames name the statement types a user is most likely to try, for the refusal.
var statementNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE", duckdb.STATEMENT_TYPE_DELETE: "DELETE",
	duckdb.STATEMENT_TYPE_CREATE: "CREATE", duckdb.STATEMENT_TYPE_DROP: "DROP", duckdb.STATEMENT_TYPE_ALTER: "ALTER",
	duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_ATTACH: "ATTACH", duckdb.STATEMENT_TYPE_DETACH: "DETACH",
	duckdb.STATEMENT_TYPE_SET: "SET", duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE", duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA",
	duckdb.STATEMENT_TYPE_LOAD: "INSTALL or LOAD", duckdb.STATEMENT_TYPE_EXPORT: "EXPORT", duckdb.STATEMENT_TYPE_CALL: "CALL",
	duckdb.STATEMENT_TYPE_TRANSACTION: "a transaction", duckdb.STATEMENT_TYPE_VACUUM: "VACUUM", duckdb.STATEMENT_TYPE_PREPARE: "PREPARE",
	duckdb.STATEMENT_TYPE_EXECUTE: "EXECUTE", duckdb.STATEMENT_TYPE_EXTENSION: "an extension statement",
}

// querier runs users' SQL on a connection of its own, one query at a time: a single read
// statement, in a transaction that is always rolled back, for at most timeout and rows rows.
// The store is locked down (engine.Engine.Lockdown), so not even a read can reach a file.
type querier struct {
	conn    *sql.Conn
	turn    chan struct{} // holds a token while a query runs
	timeout time.Duration
	rows    int
}

func newQuerier(ctx context.Context, eng *engine.Engine, timeout time.Duration, rows int) (*querier, error) {
	conn, err := eng.DB().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("query connection: %w", err)
	}
	return &querier{conn: conn, turn: make(chan struct{}, 1), timeout: timeout, rows: rows}, nil
}

// run runs q and returns its rows, at most q.rows of them, and whether more were cut off.
func (qr *querier) run(ctx context.Context, q string) (res *render.Result, cut bool, err error) {
	if stmts, rest := shell.Split(q); len(stmts)+btoi(shell.HasCode(rest)) != 1 {
		return nil, false, fmt.Errorf("%w: the text holds %d statements", ErrNotRead, len(stmts)+btoi(shell.HasCode(rest)))
	}
	ctx, cancel := context.WithTimeout(ctx, qr.timeout)
	defer cancel()
	select {
	case qr.turn <- struct{}{}:
		defer func() { <-qr.turn }()
	case <-ctx.Done():
		return nil, false, fmt.Errorf("%w: waiting for the query before it", ErrQueryTimeout)
	}
	if _, err := qr.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, false, err
	}
	// A query changes nothing it could keep: whatever it did is rolled back.
	defer func() { _, _ = qr.conn.ExecContext(context.Background(), "ROLLBACK") }()
	if err := qr.check(q); err != nil {
		return nil, false, err
	}
	rows, err := qr.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, false, timedOut(ctx, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, false, err
	}
	res = &render.Result{Columns: cols}
	for rows.Next() {
		if len(res.Rows) == qr.rows {
			return res, true, nil
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, false, err
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, false, timedOut(ctx, err)
	}
	return res, false, nil
}

// check refuses q unless DuckDB takes it for one statement that reads. The driver's
// Prepare, unlike PrepareContext, refuses text of several statements instead of running
// all but the last.
func (qr *querier) check(q string) error {
	return qr.conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("the store's driver is %T, not DuckDB", dc)
		}
		st, err := c.Prepare(q)
		if err != nil {
			return err
		}
		defer st.Close()
		typ, err := st.(*duckdb.Stmt).StatementType()
		if err != nil {
			return err
		}
		if !reads[typ] {
			name := statementNames[typ]
			if name == "" {
				name = fmt.Sprintf("a statement of type %d", typ)
			}
			return fmt.Errorf("%w, not %s", ErrNotRead, name)
		}
		return nil
	})
}

// timedOut says the query ran out of time when that is why err came.
func timedOut(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (%s)", ErrQueryTimeout, strings.TrimSpace(err.Error()))
	}
	return err
}

func (qr *querier) close() error { return qr.conn.Close() }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
