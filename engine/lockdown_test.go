package engine_test

import (
	"context"
	"testing"

	"mlprov/internal/storetest"
)

// TestLockdown: once locked down, no connection, old or new, reaches a file or changes a
// setting, and new connections still use the store in UTC.
func TestLockdown(t *testing.T) {
	ctx := context.Background()
	e := storetest.Open(t)
	old, err := e.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := e.Lockdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Lockdown ran on a connection the pool keeps idle: hold it, so that fresh is new.
	idle, err := e.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fresh, err := e.DB().Conn(ctx)
	if err != nil {
		t.Fatalf("a connection after the lockdown: %v", err)
	}
	defer fresh.Close()
	for _, conn := range []struct {
		name string
		q    func(string) error
	}{
		{"old", func(q string) error { _, err := old.ExecContext(ctx, q); return err }},
		{"new", func(q string) error { _, err := fresh.ExecContext(ctx, q); return err }},
	} {
		for _, q := range []string{
			`SELECT * FROM read_csv('/etc/passwd')`,
			`COPY (SELECT 1) TO '/tmp/mlprov-lockdown.csv'`,
			`SET enable_external_access = true`,
			`SET lock_configuration = false`,
			`SET TimeZone = 'Europe/Paris'`,
		} {
			if err := conn.q(q); err == nil {
				t.Errorf("%s connection: %s ran after the lockdown", conn.name, q)
			}
		}
	}
	var tz string
	if err := fresh.QueryRowContext(ctx, `SELECT current_setting('TimeZone')`).Scan(&tz); err != nil || tz != "UTC" {
		t.Errorf("new connection's TimeZone: %q, %v; want UTC", tz, err)
	}
	var n int64
	if err := fresh.QueryRowContext(ctx, `SELECT count(*) FROM executions`).Scan(&n); err != nil {
		t.Errorf("new connection reads the store: %v", err)
	}
	if _, err := fresh.ExecContext(ctx, `INSERT INTO op_categories VALUES ('x', 'train')`); err != nil {
		t.Errorf("new connection writes the store: %v", err)
	}
}

// TestLockdownIsPerStore: another store of the same process is not locked down.
func TestLockdownIsPerStore(t *testing.T) {
	ctx := context.Background()
	locked, other := storetest.Open(t), storetest.Open(t)
	if err := locked.Lockdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.DB().ExecContext(ctx, `SET TimeZone = 'UTC'`); err != nil {
		t.Errorf("another store after a lockdown: %v", err)
	}
	var ok bool
	if err := other.DB().QueryRowContext(ctx, `SELECT current_setting('enable_external_access')`).Scan(&ok); err != nil || !ok {
		t.Errorf("another store after a lockdown: external access %v, %v; want on", ok, err)
	}
}
