package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const example = "../../testdata/example"

// mlprov runs the CLI in process and returns its exit status, stdout and stderr.
func mlprov(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	return mlprovStdin(t, "", args...)
}

// mlprovStdin runs the CLI in process as mlprov does, with stdin as its standard input.
func mlprovStdin(t testing.TB, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code := c.run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := mlprov(t, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, cmd := range commands {
		if !strings.Contains(out, cmd.name) {
			t.Errorf("--help does not list %s", cmd.name)
		}
		if cmd.name == "help" {
			continue
		}
		code, out, errOut := mlprov(t, cmd.name, "--help")
		if code != 0 || !strings.Contains(out, "Usage:\n  mlprov "+cmd.name) {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", cmd.name, code, out, errOut)
		}
	}
}

// TestHelpNamesEveryFlag checks each command's usage line against its flags, so a flag added
// later cannot be left out of the synopsis people read first.
func TestHelpNamesEveryFlag(t *testing.T) {
	flagName := regexp.MustCompile(`(?m)^\s+(?:(-\w), )?(--[\w-]+)`)
	for _, cmd := range commands {
		_, out, _ := mlprov(t, cmd.name, "--help")
		synopsis, flags, _ := strings.Cut(out, "\nFlags:\n")
		for _, m := range flagName.FindAllStringSubmatch(flags, -1) {
			named := strings.Contains(synopsis, m[2]+" ") || strings.Contains(synopsis, m[2]+"]") || strings.Contains(synopsis, m[2]+"\n")
			if m[1] != "" {
				named = named || strings.Contains(synopsis, m[1]+" ") || strings.Contains(synopsis, m[1]+"]")
			}
			if !named && m[2] != "--help" {
				t.Errorf("mlprov %s --help: the usage line %q does not name %s", cmd.name, strings.TrimSpace(synopsis), m[2])
			}
		}
	}
}

func TestHelpCommand(t *testing.T) {
	code, out, errOut := mlprov(t, "help", "help")
	if code != 0 || !strings.Contains(out, "Usage:\n  mlprov help [COMMAND]") {
		t.Errorf("help help: exit %d, stdout %q, stderr %q; want help's own usage", code, out, errOut)
	}
	code, out, errOut = mlprov(t, "help", "load")
	if code != 0 || !strings.Contains(out, "Usage:\n  mlprov load") {
		t.Errorf("help load: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Help names every format export writes.
	if _, out, _ := mlprov(t, "help"); !regexp.MustCompile(`export +.*Parquet, CSV or JSON lines, or as an MLMD store`).MatchString(out) {
		t.Errorf("help does not say export also writes MLMD stores:\n%s", out)
	}
	// A bare mlprov is a usage mistake: usage on stderr, exit 2, as for an unknown command.
	code, out, errOut = mlprov(t)
	if code != 2 || out != "" || !strings.Contains(errOut, "Commands:") {
		t.Errorf("bare mlprov: exit %d, stdout %q, stderr %q; want 2 with the usage on stderr", code, out, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"load"}, {"query", "--format", "yaml", "SELECT 1"}, {"export", "--db", "x"}, {"load", "--nope"}} {
		code, _, errOut := mlprov(t, args...)
		if code != 2 || !strings.HasPrefix(errOut, "error: ") || !strings.Contains(errOut, "\ntry: mlprov ") {
			t.Errorf("mlprov %v: exit %d, stderr %q; want 2 with an error and a try: hint", args, code, errOut)
		}
	}
}

func TestLoadQueryExport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.duckdb")
	code, out, errOut := mlprov(t, "load", "--db", db, example)
	if code != 0 || !strings.Contains(out, "2 pipelines, 36 executions, 41 artifacts, 103 events") {
		t.Fatalf("load: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A second load of the same input is a sync with nothing new: it succeeds and says so.
	code, out, errOut = mlprov(t, "load", "--db", db, example)
	if want := example + ": up to date (source 1, native)\n"; code != 0 || out != want || errOut != "" {
		t.Errorf("second load: exit %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, want)
	}

	code, out, errOut = mlprov(t, "query", "--db", db, "--format", "json", "SELECT op_type, count(*) AS n, sum(cost) AS cost FROM executions WHERE op_type IN ('Trainer', 'Pusher') GROUP BY op_type ORDER BY op_type")
	if code != 0 {
		t.Fatalf("query: exit %d, stderr %q", code, errOut)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("query --format json printed %q: %v", out, err)
	}
	want := []map[string]any{{"op_type": "Pusher", "n": 5.0, "cost": 32.0}, {"op_type": "Trainer", "n": 5.0, "cost": 3530.0}}
	if !jsonEqual(got, want) {
		t.Errorf("query --format json = %v, want %v", got, want)
	}

	code, out, _ = mlprov(t, "query", "--db", db, "--format", "csv", "SELECT 1 AS a; SELECT 2 AS b, NULL AS c")
	if code != 0 || out != "b,c\n2,\n" {
		t.Errorf("csv of two statements = %q (exit %d), want the last result only", out, code)
	}
	code, out, _ = mlprov(t, "query", "--db", db, "SELECT 'x' AS a; SELECT 2 AS b")
	if code != 0 || !strings.Contains(out, "│ x │") || !strings.Contains(out, "│ 2 │") {
		t.Errorf("table output of two statements = %q (exit %d), want both results", out, code)
	}
	code, _, errOut = mlprov(t, "query", "--db", db, "SELEC 1")
	if code != 1 || !strings.HasPrefix(errOut, "error: Parser Error") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("bad SQL: exit %d, stderr %q; want 1 and a one-line parser error", code, errOut)
	}

	outDir := filepath.Join(t.TempDir(), "export")
	if code, _, errOut := mlprov(t, "export", "--db", db, "--format", "csv", "--out", outDir, "--partition"); code != 0 {
		t.Fatalf("export: exit %d, stderr %q", code, errOut)
	}
	db2 := filepath.Join(t.TempDir(), "s2.duckdb")
	if code, out, errOut := mlprov(t, "load", "--db", db2, outDir); code != 0 || !strings.Contains(out, "103 events") {
		t.Fatalf("load of the export: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestQueryWithoutStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.duckdb")
	code, _, errOut := mlprov(t, "query", "--db", db, "SELECT 1")
	if code != 1 || !strings.Contains(errOut, "no store at") || !strings.Contains(errOut, "mlprov load") {
		t.Errorf("query without a store: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("query created a store")
	}
}

// TestOpenSaysItDerivesAgain checks that a command opening a store derived by other view
// definitions (an older mlprov) says that it derives the tables again, table by table, and
// says nothing once they are current.
func TestOpenSaysItDerivesAgain(t *testing.T) {
	db := exampleStore(t)
	if code, _, errOut := mlprov(t, "query", "--db", db, "UPDATE mlprov_meta SET value = 'older' WHERE key = 'views_fingerprint'"); code != 0 {
		t.Fatalf("update: exit %d: %s", code, errOut)
	}
	code, _, errOut := mlprov(t, "query", "--db", db, "--read-only", "SELECT count(*) FROM graphlets")
	if code != 0 || !strings.Contains(errOut, "open: refreshing derived tables") || !strings.Contains(errOut, "open: materialized graphlets: ") {
		t.Errorf("query of a store derived by older definitions: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := mlprov(t, "query", "--db", db, "SELECT count(*) FROM graphlets"); code != 0 || errOut != "" {
		t.Errorf("query once derived again: exit %d, stderr %q", code, errOut)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// exampleStore loads testdata/example into a new store file and returns its path.
func exampleStore(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.duckdb")
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"load", "--db", path, "-q", example}, nil, &out, &errs); code != 0 {
		t.Fatalf("load: status %d: %s", code, errs.String())
	}
	return path
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// mlprovBinary builds the mlprov command once per test run and returns its path.
func mlprovBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mlprov-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "mlprov")
		// Without symbols the binary links faster, which is most of the build.
		out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// smallSource writes a one-pipeline native layout with ids that do not clash with the example.
func smallSource(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"pipelines.jsonl":  `{"pipeline_id": 500, "name": "tiny"}`,
		"executions.jsonl": `{"execution_id": 5001, "pipeline_id": 500, "op_type": "Trainer", "state": "complete", "cost": 3}`,
		"artifacts.jsonl":  `{"artifact_id": 5002, "pipeline_id": 500, "type": "Model"}`,
		"events.jsonl":     `{"execution_id": 5001, "artifact_id": 5002, "direction": "out", "role": "model"}`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// holdLoad starts a load that stops just before its commit (MLPROV_TEST_HOLD_COMMIT) and
// returns once it got there.
func holdLoad(t *testing.T, bin, db, dir string) *exec.Cmd {
	t.Helper()
	return holdAt(t, "MLPROV_TEST_HOLD_COMMIT", "holding before commit", bin, "load", "--db", db, dir)
}

// holdAt starts mlprov with the test hook env set and returns once the command printed
// marker on stderr, where the hook holds it until it is killed or interrupted.
func holdAt(t *testing.T, env, marker, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	held := make(chan bool)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), marker) {
				held <- true
				return
			}
		}
		held <- false
	}()
	select {
	case ok := <-held:
		if !ok {
			t.Fatalf("mlprov %s ended before %q", args[0], marker)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill() // the test fails anyway
		t.Fatalf("mlprov %s did not reach %q in 60 s", args[0], marker)
	}
	return cmd
}

func TestKilledLoadLeavesStoreAsItWas(t *testing.T) {
	bin := mlprovBinary(t)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	if code, _, errOut := mlprov(t, "load", "--db", db, example); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	count := "SELECT (SELECT count(*) FROM sources) || ' ' || (SELECT count(*) FROM pipelines) || ' ' || (SELECT count(*) FROM executions) || ' ' || (SELECT count(*) FROM events) AS n"
	_, before, _ := mlprov(t, "query", "--db", db, "--format", "csv", count)

	cmd := holdLoad(t, bin, db, smallSource(t))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // "signal: killed", as intended

	code, after, errOut := mlprov(t, "query", "--db", db, "--format", "csv", count)
	if code != 0 || after != before {
		t.Errorf("after a killed load: %q (exit %d, %s), want %q as before", after, code, errOut, before)
	}
	// And the store still takes the load that was killed.
	if code, _, errOut := mlprov(t, "load", "--db", db, smallSource(t)); code != 0 {
		t.Errorf("load after the kill: %s", errOut)
	}
}

func TestStoreInUse(t *testing.T) {
	bin := mlprovBinary(t)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	cmd := holdLoad(t, bin, db, smallSource(t))
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // "signal: killed", as intended
	}()
	out, err := exec.Command(bin, "query", "--db", db, "SELECT 1").CombinedOutput()
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	text := string(out)
	if code != 1 || !strings.HasPrefix(text, "error: ") || strings.Count(text, "\n") != 2 || !strings.Contains(text, "store is in use by another process") ||
		!strings.Contains(text, "\ntry: wait for it to finish") || !strings.Contains(text, "--read-only") {
		t.Errorf("query on a store being written: exit %d, output %q; want an error saying the store is in use and a hint naming --read-only", code, text)
	}
}
