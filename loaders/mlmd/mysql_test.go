package mlmd_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	mlgolden "mlprov/internal/golden"
	"mlprov/internal/mariadbtest"
	"mlprov/internal/storetest"
	"mlprov/loaders/mlmd"
	"mlprov/synth"
)

// mlmdServer is a private MariaDB server for one test, holding MLMD databases made with the
// DDL ML Metadata uses for MySQL (testdata/mysql_v10.sql).
type mlmdServer struct {
	*mariadbtest.Server
	ddl string
}

func startMLMD(t *testing.T) *mlmdServer {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("testdata", "mysql_v10.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return &mlmdServer{Server: mariadbtest.Start(t), ddl: string(ddl)}
}

// store creates the MLMD database name and fills it from the SQLite store at path; it
// returns root's pool of connections to it.
func (s *mlmdServer) store(t *testing.T, name, path string) *sql.DB {
	t.Helper()
	db := s.Database(t, name)
	if _, err := db.Exec(s.ddl); err != nil {
		t.Fatal(err)
	}
	mariadbtest.CopySQLite(t, path, db)
	return db
}

// sqliteNamed copies the SQLite store at path to a file named name.sqlite, so that a load of
// it names the records no context places as a load of the database name does.
func sqliteNamed(t *testing.T, path, name string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".sqlite")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// everything renders every table and view of a store, but what records the loads themselves
// (where from, when, how long), as golden files hold rows.
func everything(t *testing.T, e *engine.Engine) string {
	t.Helper()
	names := storetest.Column[string](t, e.DB(), `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'main' AND table_catalog = current_database() AND table_name NOT IN ('sources', 'loads') ORDER BY 1`)
	var b strings.Builder
	for _, n := range names {
		where := ""
		if n == "mlprov_meta" {
			where = " WHERE key <> 'derived_at'" // when the derivation ran
		}
		fmt.Fprintf(&b, "%s:\n%s", n, mlgolden.Rows(t, e.DB(), `SELECT COLUMNS(*)::VARCHAR FROM "`+n+`"`+where+` ORDER BY ALL`))
	}
	return b.String()
}

// loadBoth loads the same store from SQLite and from the server, and fails t unless every
// table mlprov derives is the same.
func loadBoth(t *testing.T, sqlitePath, url string, opts engine.LoadOptions) (fromSQLite, fromServer *engine.Engine) {
	t.Helper()
	fromSQLite, fromServer = storetest.Open(t), storetest.Open(t)
	steps, res, err := storetest.Load(t, fromSQLite, &mlmd.Loader{}, sqlitePath, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := mlmd.Dump(t, fromSQLite, res.Warnings, steps)
	steps, res, err = storetest.Load(t, fromServer, &mlmd.Server{}, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := mlmd.Dump(t, fromServer, res.Warnings, steps)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the server loads differently from SQLite (-sqlite +server):\n%s", diff)
	}
	if diff := cmp.Diff(everything(t, fromSQLite), everything(t, fromServer)); diff != "" {
		t.Errorf("the server derives differently from SQLite (-sqlite +server):\n%s", diff)
	}
	return fromSQLite, fromServer
}

// TestMySQL loads MLMD stores from a MariaDB server: the test fixtures and a generated
// corpus load as they do from SQLite, a user granted SELECT only can load, a second load
// syncs what is new, and each bad input gets one clear error and leaves the store as it was.
func TestMySQL(t *testing.T) {
	s := startMLMD(t)

	t.Run("fixtures", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			version int
			fixture func(*mlmd.Writer)
			rule    *regexp.Regexp
		}{
			{"tfx_ir_v10", 10, mlmd.TfxIR, nil},
			{"tfx_legacy_v7", 7, mlmd.TfxLegacy, nil},
			{"kubeflow_v10", 10, mlmd.Kubeflow, nil},
			{"kubeflow_v10_deploy_rule", 10, mlmd.Kubeflow, regexp.MustCompile(`^deploy`)},
		} {
			t.Run(c.name, func(t *testing.T) {
				path := sqliteNamed(t, mlmd.BuildStore(t, c.version, c.fixture), c.name)
				s.store(t, c.name, path)
				loadBoth(t, path, s.URL("root", "", c.name), engine.LoadOptions{DeployRule: c.rule})
			})
		}
	})

	t.Run("generated corpus", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "corpus")
		cfg := synth.DefaultConfig(2)
		cfg.Days = 7
		if _, err := synth.Generate(context.Background(), cfg, dir, synth.Options{Format: engine.FormatMLMD, Workers: 1}); err != nil {
			t.Fatal(err)
		}
		path := sqliteNamed(t, filepath.Join(dir, synth.MLMDFile), "corpus")
		s.store(t, "corpus", path)
		e, _ := loadBoth(t, path, s.URL("root", "", "corpus"), engine.LoadOptions{})
		var n int64
		if err := e.DB().QueryRow(`SELECT count(*) FROM graphlets`).Scan(&n); err != nil || n < 5 {
			t.Fatalf("%d graphlets (%v): the corpus is too small to compare", n, err)
		}
		t.Logf("%d graphlets; %s", n, mlmd.Snapshot(t, e))
	})

	t.Run("select only", func(t *testing.T) {
		path := sqliteNamed(t, mlmd.BuildStore(t, 10, mlmd.TfxIR), "granted")
		s.store(t, "granted", path)
		const pass = "Sel3ct-0nly"
		if _, err := s.Root.Exec("CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY '" + pass + "'"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Root.Exec("GRANT SELECT ON `granted`.* TO 'reader'@'127.0.0.1'"); err != nil {
			t.Fatal(err)
		}
		// The password from the environment, then from the address: the same source.
		t.Setenv(mlmd.EnvPassword, pass)
		_, e := loadBoth(t, path, s.URL("reader", "", "granted"), engine.LoadOptions{})
		res, err := e.Load(context.Background(), &mlmd.Server{}, s.URL("reader", pass, "granted"), engine.LoadOptions{})
		if err != nil || !res.UpToDate || res.SourceID != 1 {
			t.Fatalf("second load, password in the address: %+v, %v; want source 1 up to date", res, err)
		}
		var kept string
		if err := e.DB().QueryRow(`SELECT (SELECT string_agg(concat_ws(' ', uri, identity), '; ') FROM sources) || ' / ' ||
			(SELECT string_agg(uri, '; ') FROM loads)`).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if want := "mysql://reader@" + s.Addr + "/granted"; !strings.Contains(kept, want) || strings.Contains(kept, pass) {
			t.Errorf("the store keeps the source as %q: want %s, never the password", kept, want)
		}
	})

	t.Run("sync", func(t *testing.T) {
		path := sqliteNamed(t, mlmd.BuildStore(t, 10, mlmd.TfxIR), "growing")
		db := s.store(t, "growing", path)
		url := s.URL("root", "", "growing")
		fromSQLite, fromServer := loadBoth(t, path, url, engine.LoadOptions{})
		checksum := func() string {
			t.Helper()
			return mlgolden.Rows(t, db, "CHECKSUM TABLE `Type`, `ParentType`, `Execution`, `ExecutionProperty`, `Artifact`, `ArtifactProperty`, "+
				"`Context`, `ContextProperty`, `ParentContext`, `Event`, `EventPath`, `Association`, `Attribution`, `MLMDEnv`")
		}
		before := checksum()
		res, err := fromServer.Load(context.Background(), &mlmd.Server{}, url, engine.LoadOptions{})
		if err != nil || !res.UpToDate {
			t.Fatalf("load of an unchanged database: %+v, %v; want up to date", res, err)
		}
		// A pipeline writes on: one more Trainer run, reading what the first one read.
		grow := "INSERT INTO `Execution` (`id`, `type_id`, `last_known_state`, `name`, `create_time_since_epoch`, `last_update_time_since_epoch`)\n" +
			"  SELECT 1000, `type_id`, 3, 'late', 1712000000000, 1712000600000 FROM `Execution` WHERE `id` = 5;\n" +
			"INSERT INTO `Association` (`context_id`, `execution_id`) SELECT `context_id`, 1000 FROM `Association` WHERE `execution_id` = 5;\n" +
			"INSERT INTO `Event` (`artifact_id`, `execution_id`, `type`, `milliseconds_since_epoch`)\n" +
			"  SELECT `artifact_id`, 1000, `type`, 1712000000000 FROM `Event` WHERE `execution_id` = 5 AND `type` = 3;\n"
		if _, err := db.Exec(grow); err != nil {
			t.Fatal(err)
		}
		lite, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer lite.Close()
		for _, q := range strings.SplitAfter(strings.TrimSpace(grow), ";\n") {
			if _, err := lite.Exec(q); err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
		}
		if after := checksum(); after == before {
			t.Fatal("the database did not grow")
		}
		before = checksum()
		res, err = fromServer.Load(context.Background(), &mlmd.Server{}, url, engine.LoadOptions{})
		if err != nil || res.New || res.UpToDate || res.SourceID != 1 || res.Executions != 1 || res.Events == 0 {
			t.Fatalf("load of the grown database: %+v, %v; want source 1 synced with 1 execution and its events", res, err)
		}
		if _, err := fromSQLite.Load(context.Background(), &mlmd.Loader{}, path, engine.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(everything(t, fromSQLite), everything(t, fromServer)); diff != "" {
			t.Errorf("the server syncs differently from SQLite (-sqlite +server):\n%s", diff)
		}
		if after := checksum(); after != before {
			t.Errorf("a load changed the database:\n%s\n%s", before, after)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		good := mlmd.BuildStore(t, 10, mlmd.TfxIR)
		if _, err := s.store(t, "schema11", good).Exec("UPDATE `MLMDEnv` SET `schema_version` = 11"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store(t, "noevents", good).Exec("DROP TABLE `Event`"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Database(t, "notes").Exec("CREATE TABLE notes (id INT, body TEXT); INSERT INTO notes VALUES (1, 'x')"); err != nil {
			t.Fatal(err)
		}
		closed, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closedAddr := closed.Addr().String()
		closed.Close()
		// A host that takes the connection and never says a word, as a proxy in the way does.
		silent, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		go func() {
			var held []net.Conn
			for {
				c, err := silent.Accept()
				if err != nil {
					for _, c := range held {
						c.Close()
					}
					return
				}
				held = append(held, c)
			}
		}()
		for _, c := range []struct{ name, url, want string }{
			{"wrong password", s.URL("root", "guess", "schema11"),
				"connect to " + s.Addr + " as root: Error 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES) (wrong user or password: give the password in MLPROV_MYSQL_PASSWORD or in the address)"},
			{"nothing listening", "mysql://root@" + closedAddr + "/metadb", "connect to " + closedAddr + " as root: dial tcp " + closedAddr + ": connect: connection refused"},
			{"no answer", "mysql://root@" + silent.Addr().String() + "/metadb?timeout=1s",
				"connect to " + silent.Addr().String() + " as root: no answer from the server in 1s (context deadline exceeded): check the host and port"},
			{"no such database", s.URL("root", "", "nope"), "Unknown database 'nope' (no such database, or the user may not read it)"},
			{"not mlmd", s.URL("root", "", "notes"), "notes: not an MLMD store (no MLMDEnv table)"},
			{"schema 11", s.URL("root", "", "schema11"), "schema11: MLMDEnv: unsupported MLMD schema version 11 (mlprov reads 6 to 10; a newer MLMD wrote this store)"},
			{"missing table", s.URL("root", "", "noevents"), "noevents: not an MLMD store: table Event is missing"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := storetest.Open(t)
				if _, err := e.Load(context.Background(), &mlmd.Loader{}, mlmd.BuildStore(t, 7, mlmd.TfxLegacy), engine.LoadOptions{}); err != nil {
					t.Fatal(err)
				}
				before := mlmd.Snapshot(t, e)
				began := time.Now()
				_, err := e.Load(context.Background(), &mlmd.Server{}, c.url, engine.LoadOptions{})
				if err == nil {
					t.Fatal("load succeeded")
				}
				t.Log(err)
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q does not contain %q", err, c.want)
				}
				if want := "load " + (&mlmd.Server{}).Redact(c.url) + ": "; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "guess") {
					t.Errorf("error %q does not start with %q, or shows the password", err, want)
				}
				if took := time.Since(began); took > 5*time.Second {
					t.Errorf("the load took %s to fail", took)
				}
				if after := mlmd.Snapshot(t, e); after != before {
					t.Errorf("store changed by a failed load: %s -> %s", before, after)
				}
			})
		}
	})
}
