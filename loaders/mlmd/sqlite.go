package mlmd

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// sqliteDB is an MLMD store in an SQLite file, opened read-only (see openReadOnly).
type sqliteDB struct {
	*sql.DB
}

var _ backend = sqliteDB{}

func (db sqliteDB) tables(ctx context.Context) ([]string, error) {
	return catalogNames(ctx, db, "SELECT name FROM sqlite_master WHERE type = 'table'")
}

func (db sqliteDB) columns(ctx context.Context, table string) ([]string, error) {
	return catalogNames(ctx, db, "SELECT name FROM pragma_table_info(?)", table)
}

func (sqliteDB) quote(name string) string { return "`" + name + "`" }

// explain adds what an SQLite error most likely means for a file a user hands us.
func (sqliteDB) explain(what string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "malformed") || strings.Contains(msg, "not a database") || strings.Contains(msg, "disk I/O error") {
		return fmt.Errorf("%w: %s: %w", ErrDamaged, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// parallel is true: the file is read on several connections at once, since reading SQLite is
// most of a load's time.
func (sqliteDB) parallel() bool { return true }

// catalogNames runs a query of a backend's catalog that returns one name per row.
func catalogNames(ctx context.Context, db interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close() // free the connection for the reads that follow
}
