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
	"mlprov/internal/storetest"
	"mlprov/loaders/mlmd"
	"mlprov/synth"
)

// mlmdServer is a private database server for one test, holding MLMD databases made with the
// DDL ML Metadata uses for it (testdata/*_v10.sql).
type mlmdServer interface {
	// addr is the server's HOST:PORT.
	addr() string
	// database creates the empty database name and returns the superuser's pool of
	// connections to it, which run several statements at once.
	database(t testing.TB, name string) *sql.DB
	// copySQLite fills db, made with the server's MLMD DDL, from the SQLite store at path.
	copySQLite(t testing.TB, path string, db *sql.DB)
	// url is the address of database db for user, with password pass when not empty.
	url(user, pass, db string) string
	// superuser names the user who made the databases; admin is its address of database db.
	superuser() string
	admin(db string) string
	// reader makes the user name, who may only SELECT the tables of database db (nothing,
	// when db is "").
	reader(t testing.TB, db, name, pass string)
	// quote quotes a table or column name as MLMD names it.
	quote(name string) string
	// checksum sums every MLMD table of db.
	checksum(t testing.TB, db *sql.DB) string
	// passwordEnv names the environment variable a password may come from.
	passwordEnv() string
	// timeout is the address parameter that sets a connection's timeout to 1 s; tls the one
	// that asks for TLS, which the test servers do not offer.
	timeout() string
	tls() string
	// failures are the errors expected of the superuser's wrong password, of the database
	// nope, which is not there, of the user nobody, granted nothing, reading database db,
	// and of asking for TLS.
	failures(db string) (wrongPassword, noDatabase, notGranted, noTLS string)
}

// mlmdStores makes MLMD databases on a server, with the DDL ML Metadata uses for it.
type mlmdStores struct {
	mlmdServer
	ddl string
}

// withDDL returns the stores of server s, made with testdata/ddlFile.
func withDDL(tb testing.TB, s mlmdServer, ddlFile string) *mlmdStores {
	ddl, err := os.ReadFile(filepath.Join("testdata", ddlFile))
	if err != nil {
		tb.Fatal(err)
	}
	return &mlmdStores{mlmdServer: s, ddl: string(ddl)}
}

// store creates the MLMD database name and fills it from the SQLite store at path.
func (s *mlmdStores) store(t testing.TB, name, path string) *sql.DB {
	t.Helper()
	db := s.database(t, name)
	if _, err := db.Exec(s.ddl); err != nil {
		t.Fatal(err)
	}
	s.copySQLite(t, path, db)
	return db
}

// widen makes the databases store makes after it keep property values of 64 bits (see
// BenchmarkServerLoad), where MLMD's DDL declares int_value INT, of 32 bits.
func (s *mlmdStores) widen() {
	s.ddl = strings.NewReplacer("`int_value` INT,", "`int_value` BIGINT,", "int_value INT,", "int_value BIGINT,").Replace(s.ddl)
}

// mlmdTables are the tables of an MLMD store at schema version 10.
var mlmdTables = []string{"Type", "ParentType", "TypeProperty", "Execution", "ExecutionProperty", "Artifact", "ArtifactProperty",
	"Context", "ContextProperty", "ParentContext", "Event", "EventPath", "Association", "Attribution", "MLMDEnv"}

// sqliteNamed copies the SQLite store at path to a file named name.sqlite, so that a load of
// it names the records no context places as a load of the database name does.
func sqliteNamed(t testing.TB, path, name string) string {
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

// testServer loads MLMD stores from a database server: the test fixtures and a generated
// corpus load as they do from SQLite, a user granted SELECT only can load, a second load
// syncs what is new, and each bad input gets one clear error and leaves the store as it was.
func testServer(t *testing.T, s *mlmdStores) {

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
				loadBoth(t, path, s.admin(c.name), engine.LoadOptions{DeployRule: c.rule})
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
		e, _ := loadBoth(t, path, s.admin("corpus"), engine.LoadOptions{})
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
		s.reader(t, "granted", "reader", pass)
		// The password from the environment, then from the address: the same source.
		t.Setenv(s.passwordEnv(), pass)
		_, e := loadBoth(t, path, s.url("reader", "", "granted"), engine.LoadOptions{})
		res, err := e.Load(context.Background(), &mlmd.Server{}, s.url("reader", pass, "granted"), engine.LoadOptions{})
		if err != nil || !res.UpToDate || res.SourceID != 1 {
			t.Fatalf("second load, password in the address: %+v, %v; want source 1 up to date", res, err)
		}
		var kept string
		if err := e.DB().QueryRow(`SELECT (SELECT string_agg(concat_ws(' ', uri, identity), '; ') FROM sources) || ' / ' ||
			(SELECT string_agg(uri, '; ') FROM loads)`).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		scheme, _, _ := strings.Cut(s.url("reader", "", "granted"), "://")
		if want := scheme + "://reader@" + s.addr() + "/granted"; !strings.Contains(kept, want) || strings.Contains(kept, pass) {
			t.Errorf("the store keeps the source as %q: want %s, never the password", kept, want)
		}
	})

	t.Run("sync", func(t *testing.T) {
		path := sqliteNamed(t, mlmd.BuildStore(t, 10, mlmd.TfxIR), "growing")
		db := s.store(t, "growing", path)
		url := s.admin("growing")
		fromSQLite, fromServer := loadBoth(t, path, url, engine.LoadOptions{})
		checksum := func() string { return s.checksum(t, db) }
		before := checksum()
		res, err := fromServer.Load(context.Background(), &mlmd.Server{}, url, engine.LoadOptions{})
		if err != nil || !res.UpToDate {
			t.Fatalf("load of an unchanged database: %+v, %v; want up to date", res, err)
		}
		// A pipeline writes on: one more Trainer run, reading what the first one read.
		grow := func(q func(string) string) []string {
			return []string{
				"INSERT INTO " + q("Execution") + " (" + q("id") + ", " + q("type_id") + ", " + q("last_known_state") + ", " + q("name") + ", " +
					q("create_time_since_epoch") + ", " + q("last_update_time_since_epoch") + ")" +
					" SELECT 1000, " + q("type_id") + ", 3, 'late', 1712000000000, 1712000600000 FROM " + q("Execution") + " WHERE " + q("id") + " = 5",
				"INSERT INTO " + q("Association") + " (" + q("context_id") + ", " + q("execution_id") + ")" +
					" SELECT " + q("context_id") + ", 1000 FROM " + q("Association") + " WHERE " + q("execution_id") + " = 5",
				"INSERT INTO " + q("Event") + " (" + q("artifact_id") + ", " + q("execution_id") + ", " + q("type") + ", " + q("milliseconds_since_epoch") + ")" +
					" SELECT " + q("artifact_id") + ", 1000, " + q("type") + ", 1712000000000 FROM " + q("Event") + " WHERE " + q("execution_id") + " = 5 AND " + q("type") + " = 3",
			}
		}
		for _, q := range grow(s.quote) {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
		}
		lite, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		defer lite.Close()
		for _, q := range grow(func(name string) string { return "`" + name + "`" }) {
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
		if _, err := s.store(t, "schema11", good).Exec("UPDATE " + s.quote("MLMDEnv") + " SET " + s.quote("schema_version") + " = 11"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store(t, "noevents", good).Exec("DROP TABLE " + s.quote("Event")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.database(t, "notes").Exec("CREATE TABLE notes (id INT, body TEXT); INSERT INTO notes VALUES (1, 'x')"); err != nil {
			t.Fatal(err)
		}
		s.reader(t, "", "nobody", "N0thing")
		wrongPassword, noDatabase, notGranted, noTLS := s.failures("noevents")
		scheme, _, _ := strings.Cut(s.admin("metadb"), "://")
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
			{"wrong password", s.url(s.superuser(), "guess", "schema11"), wrongPassword},
			{"nothing listening", scheme + "://root@" + closedAddr + "/metadb", "connect to " + closedAddr + " as root: dial tcp " + closedAddr + ": connect: connection refused"},
			{"no answer", scheme + "://root@" + silent.Addr().String() + "/metadb?" + s.timeout(),
				"connect to " + silent.Addr().String() + " as root: no answer from the server in 1s (context deadline exceeded): check the host and port"},
			{"no such database", s.admin("nope"), noDatabase},
			{"not granted", s.url("nobody", "N0thing", "noevents"), notGranted},
			{"no TLS", s.admin("noevents") + "?" + s.tls(), noTLS},
			{"not mlmd", s.admin("notes"), "notes: not an MLMD store (no MLMDEnv table)"},
			{"schema 11", s.admin("schema11"), "schema11: MLMDEnv: unsupported MLMD schema version 11 (mlprov reads 6 to 10; a newer MLMD wrote this store)"},
			{"missing table", s.admin("noevents"), "noevents: not an MLMD store: table Event is missing"},
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
