package mlmd_test

import (
	"database/sql"
	"testing"

	mlgolden "mlprov/internal/golden"
	"mlprov/internal/mariadbtest"
	"mlprov/loaders/mlmd"
)

// TestMySQL loads MLMD stores from a private MariaDB server (see testServer).
func TestMySQL(t *testing.T) { testServer(t, startMySQL(t)) }

func startMySQL(tb testing.TB, flags ...string) *mlmdStores {
	return withDDL(tb, &mysqlServer{mariadbtest.Start(tb, flags...)}, "mysql_v10.sql")
}

// mysqlServer is a MariaDB server whose root user has no password.
type mysqlServer struct {
	*mariadbtest.Server
}

func (s *mysqlServer) addr() string { return s.Addr }

func (s *mysqlServer) database(t testing.TB, name string) *sql.DB { return s.Database(t, name) }

func (s *mysqlServer) copySQLite(t testing.TB, path string, db *sql.DB) {
	mariadbtest.CopySQLite(t, path, db)
}

func (s *mysqlServer) url(user, pass, db string) string { return s.URL(user, pass, db) }
func (s *mysqlServer) superuser() string                { return "root" }
func (s *mysqlServer) admin(db string) string           { return s.URL("root", "", db) }

func (s *mysqlServer) reader(t testing.TB, db, name, pass string) {
	t.Helper()
	qs := []string{"CREATE USER '" + name + "'@'127.0.0.1' IDENTIFIED BY '" + pass + "'"}
	if db != "" {
		qs = append(qs, "GRANT SELECT ON `"+db+"`.* TO '"+name+"'@'127.0.0.1'")
	}
	for _, q := range qs {
		if _, err := s.Root.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func (*mysqlServer) quote(name string) string { return "`" + name + "`" }

func (*mysqlServer) checksum(t testing.TB, db *sql.DB) string {
	t.Helper()
	q := "CHECKSUM TABLE "
	for i, n := range mlmdTables {
		if i > 0 {
			q += ", "
		}
		q += "`" + n + "`"
	}
	return mlgolden.Rows(t, db, q)
}

func (*mysqlServer) passwordEnv() string { return mlmd.EnvPassword }
func (*mysqlServer) timeout() string     { return "timeout=1s" }
func (*mysqlServer) tls() string         { return "tls=true" }

func (s *mysqlServer) failures(db string) (string, string, string, string) {
	return "connect to " + s.Addr + " as root: Error 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES) (wrong user or password: give the password in MLPROV_MYSQL_PASSWORD or in the address)",
		"Unknown database 'nope' (no such database, or the user may not read it)",
		"Access denied for user 'nobody'@'127.0.0.1' to database '" + db + "' (no such database, or the user may not read it)",
		"connect to " + s.Addr + " as root: TLS requested but server does not support TLS (the address asks for TLS with tls=, and the server does not offer it)"
}
