package mlmd_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"mlprov/engine"
	mlgolden "mlprov/internal/golden"
	"mlprov/internal/pgtest"
	"mlprov/internal/storetest"
	"mlprov/loaders/mlmd"
)

// TestPostgres loads MLMD stores from a private PostgreSQL server (see testServer), and one
// in a schema the search path does not start with.
func TestPostgres(t *testing.T) {
	s := startPostgres(t)
	testServer(t, s)
	t.Run("other schema", func(t *testing.T) {
		path := sqliteNamed(t, mlmd.BuildStore(t, 10, mlmd.TfxIR), "schemas")
		db := s.store(t, "schemas", path)
		if _, err := db.Exec("CREATE SCHEMA notes; ALTER DATABASE schemas SET search_path = notes, public; CREATE TABLE notes.notes (id INT)"); err != nil {
			t.Fatal(err)
		}
		_, err := storetest.Open(t).Load(context.Background(), &mlmd.Server{}, s.admin("schemas"), engine.LoadOptions{})
		want := "schemas: read schema: not an MLMD store (no MLMDEnv table in schema notes, the first of the search path; schema public has one: add search_path=public to the address's parameters)"
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Fatalf("load with the store outside the search path: %v; want ...%s", err, want)
		}
		if _, err := storetest.Open(t).Load(context.Background(), &mlmd.Server{}, s.admin("schemas")+"?search_path=public", engine.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

func startPostgres(tb testing.TB, flags ...string) *mlmdStores {
	return withDDL(tb, &postgresServer{pgtest.Start(tb, flags...)}, "postgres_v10.sql")
}

// postgresServer is a PostgreSQL server whose superuser logs in with a password.
type postgresServer struct {
	*pgtest.Server
}

func (s *postgresServer) addr() string { return s.Addr }

func (s *postgresServer) database(t testing.TB, name string) *sql.DB { return s.Database(t, name) }

func (s *postgresServer) copySQLite(t testing.TB, path string, db *sql.DB) {
	pgtest.CopySQLite(t, path, db)
}

func (s *postgresServer) url(user, pass, db string) string { return s.URL(user, pass, db) }
func (s *postgresServer) superuser() string                { return pgtest.Superuser }
func (s *postgresServer) admin(db string) string {
	return s.URL(pgtest.Superuser, pgtest.SuperPassword, db)
}

func (s *postgresServer) reader(t testing.TB, db, name, pass string) {
	t.Helper()
	if _, err := s.Root.Exec(`CREATE USER "` + name + `" PASSWORD '` + pass + `'`); err != nil {
		t.Fatal(err)
	}
	if db == "" {
		return
	}
	if _, err := s.Open(t, db).Exec(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO "` + name + `"`); err != nil {
		t.Fatal(err)
	}
}

func (*postgresServer) quote(name string) string { return `"` + strings.ToLower(name) + `"` }

func (s *postgresServer) checksum(t testing.TB, db *sql.DB) string {
	t.Helper()
	var parts []string
	for _, n := range mlmdTables {
		q := s.quote(n)
		parts = append(parts, "SELECT '"+n+"', count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM "+q+" t")
	}
	return mlgolden.Rows(t, db, strings.Join(parts, " UNION ALL ")+" ORDER BY 1")
}

func (*postgresServer) passwordEnv() string { return "PGPASSWORD" }
func (*postgresServer) timeout() string     { return "connect_timeout=1" }
func (*postgresServer) tls() string         { return "sslmode=require" }

func (s *postgresServer) failures(db string) (string, string, string, string) {
	return "connect to " + s.Addr + " as " + pgtest.Superuser + `: FATAL: password authentication failed for user "` + pgtest.Superuser + `" (SQLSTATE 28P01) (wrong user or password: give the password in PGPASSWORD, ~/.pgpass or the address)`,
		`FATAL: database "nope" does not exist (SQLSTATE 3D000) (no such database)`,
		db + `: table MLMDEnv: ERROR: permission denied for table mlmdenv (SQLSTATE 42501) (the user needs SELECT on the database's tables)`,
		"connect to " + s.Addr + " as " + pgtest.Superuser + ": server refused TLS connection (the address asks for TLS with sslmode, and the server does not offer it)"
}
