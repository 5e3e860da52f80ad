package mlmd_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mlgolden "mlprov/internal/golden"
	"mlprov/internal/mariadbtest"
	"mlprov/loaders/mlmd"
)

// TestMySQL loads MLMD stores from a private MariaDB server (see testServer).
func TestMySQL(t *testing.T) { testServer(t, startMySQL(t)) }

func startMySQL(tb testing.TB) mlmdServer {
	ddl, err := os.ReadFile(filepath.Join("testdata", "mysql_v10.sql"))
	if err != nil {
		tb.Fatal(err)
	}
	return &mysqlServer{Server: mariadbtest.Start(tb), ddl: string(ddl)}
}

// mysqlServer is a MariaDB server whose root user has no password.
type mysqlServer struct {
	*mariadbtest.Server
	ddl string
}

func (s *mysqlServer) addr() string { return s.Addr }

func (s *mysqlServer) widen() {
	s.ddl = strings.ReplaceAll(s.ddl, "`int_value` INT,", "`int_value` BIGINT,")
}

func (s *mysqlServer) database(t testing.TB, name string) *sql.DB { return s.Database(t, name) }

func (s *mysqlServer) store(t testing.TB, name, path string) *sql.DB {
	t.Helper()
	db := s.Database(t, name)
	if _, err := db.Exec(s.ddl); err != nil {
		t.Fatal(err)
	}
	mariadbtest.CopySQLite(t, path, db)
	return db
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

func (s *mysqlServer) failures(db string) (string, string, string) {
	return "connect to " + s.Addr + " as root: Error 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES) (wrong user or password: give the password in MLPROV_MYSQL_PASSWORD or in the address)",
		"Unknown database 'nope' (no such database, or the user may not read it)",
		"Access denied for user 'nobody'@'127.0.0.1' to database '" + db + "' (no such database, or the user may not read it)"
}
