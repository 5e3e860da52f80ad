package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mlprov/internal/mariadbtest"
)

// TestLoadMySQL loads an MLMD database from a MariaDB server as a user would, with the
// password in the address: the output names the database without it, and a second load is
// up to date.
func TestLoadMySQL(t *testing.T) {
	s := mariadbtest.Start(t)
	ddl, err := os.ReadFile(filepath.Join("..", "..", "loaders", "mlmd", "testdata", "mysql_v10.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db := s.Database(t, "metadb")
	if _, err := db.Exec(string(ddl)); err != nil {
		t.Fatal(err)
	}
	mariadbtest.CopySQLite(t, mlmdStore(t), db)
	const pass = "kf/S3c@ret" // / and @ as users write them, not %-escaped
	if _, err := s.Root.Exec("CREATE USER 'kfp'@'127.0.0.1' IDENTIFIED BY '" + pass + "'; GRANT SELECT ON metadb.* TO 'kfp'@'127.0.0.1'"); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "s.duckdb")
	url, shown := s.URL("kfp", pass, "metadb"), s.URL("kfp", "", "metadb")
	code, out, errOut := mlprov(t, "load", "--db", store, url)
	if code != 0 || !strings.HasPrefix(out, "loaded "+shown+" as source 1 (mlmd): ") || strings.Contains(out+errOut, pass) {
		t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant the database loaded as %s, and the password nowhere", code, out, errOut, shown)
	}
	code, out, errOut = mlprov(t, "load", "--db", store, url)
	if want := shown + ": up to date (source 1, mlmd)\n"; code != 0 || out != want {
		t.Errorf("second load: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
}

// TestLoadMySQLUnreachable loads from a port nothing listens on: one line of error, without
// the password, and no store left behind. It needs no server.
func TestLoadMySQLUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	store := filepath.Join(t.TempDir(), "s.duckdb")
	code, _, errOut := mlprov(t, "load", "-q", "--db", store, "mysql://kfp:kf-S3cret@"+addr+"/metadb")
	want := "error: load mysql://kfp@" + addr + "/metadb: connect to " + addr + " as kfp: dial tcp " + addr + ": connect: connection refused\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("a failed load into a new store left %s behind (%v)", store, err)
	}
	if _, out, _ := mlprov(t, "load", "--help"); !strings.Contains(out, "mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE") {
		t.Errorf("load --help does not say how to load from a MySQL server:\n%s", out)
	}
}
