package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mlprov/internal/storetest"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestServeRefusesExposedAddress(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.duckdb")
	for _, addr := range []string{"0.0.0.0:8484", ":8484", "192.168.1.5:8484"} {
		code, _, errOut := mlprov(t, "serve", "--db", db, "--addr", addr)
		if code != 1 || !strings.Contains(errOut, "error: address "+addr) || !strings.Contains(errOut, "listening beyond this machine needs a token") ||
			!strings.Contains(errOut, "try: mlprov serve --addr "+addr+" --token TOKEN") {
			t.Errorf("serve --addr %s: exit %d, %q; want exit 1, an error saying a token is needed and a hint", addr, code, errOut)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a refused serve made the store: %v", err)
	}
	if code, _, errOut := mlprov(t, "serve", "--db", db, "--addr", "nope"); code != 2 || !strings.Contains(errOut, "--addr") {
		t.Errorf("serve --addr nope: exit %d, %q; want a usage error", code, errOut)
	}
}

// TestServeHelpHidesToken: the token from the environment is not shown by --help.
func TestServeHelpHidesToken(t *testing.T) {
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string {
		if k == "MLPROV_TOKEN" {
			return "s3cret-from-env"
		}
		return ""
	}}
	if code := c.run(context.Background(), []string{"serve", "--help"}); code != 0 || strings.Contains(out.String(), "s3cret") {
		t.Errorf("serve --help: exit %d, output shows the token:\n%s", code, out.String())
	}
	// And the token from the environment lets the server listen beyond loopback: the address
	// check passes, and the store (a folder here) is what fails.
	dir := t.TempDir()
	out.Reset()
	errOut.Reset()
	if code := c.run(context.Background(), []string{"serve", "--db", dir, "--addr", "0.0.0.0:0"}); code == 0 || strings.Contains(errOut.String(), "needs a token") {
		t.Errorf("serve with MLPROV_TOKEN on 0.0.0.0: exit %d, %s; want past the address check", code, errOut.String())
	}
}

// seedEvents returns the events of Marquez's demo seed, each as compact JSON.
func seedEvents(t *testing.T) [][]byte {
	t.Helper()
	return storetest.LogEvents(t, filepath.Join(storetest.SharedData(t), "openlineage", "marquez-food-delivery.json"))
}

// startServe starts mlprov serve on a free port of the loopback and returns the process and
// the server's base URL.
func startServe(t *testing.T, bin, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--db", db, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MLPROV_MEMORY_LIMIT=512MB")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that fails half-way leaves no server behind (after a kill, Kill just fails).
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line <- sc.Text()
			break
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout) // keep the server's stdout drained
	}()
	select {
	case l := <-line:
		_, after, ok := strings.Cut(l, " at http://")
		addr, _, _ := strings.Cut(after, " ")
		if !ok || addr == "" {
			_ = cmd.Process.Kill()
			t.Fatalf("serve printed %q, want the address it serves at", l)
		}
		return cmd, "http://" + addr
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("serve did not start in 60s")
	}
	return nil, ""
}

// TestServeKilledKeepsAcknowledged posts Marquez's demo seed to mlprov serve from 4 clients
// at once and kills the server with SIGKILL the moment one post is answered 201, again and
// again until every event was acknowledged once: after each kill the store opens, and every
// event acknowledged so far is in it.
func TestServeKilledKeepsAcknowledged(t *testing.T) {
	bin := mlprovBinary(t)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	events := seedEvents(t)
	acked := map[string]bool{} // by digest
	left := make([]int, len(events))
	for i := range left {
		left[i] = i
	}
	for round := 1; len(left) > 0; round++ {
		if round > 2*len(events) {
			t.Fatalf("%d events still not acknowledged after %d rounds", len(left), round-1)
		}
		cmd, base := startServe(t, bin, db)
		var mu sync.Mutex
		var wg sync.WaitGroup
		var again []int
		killed := false
		for c := 0; c < 4; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := c; j < len(left); j += 4 {
					i := left[j]
					resp, err := http.Post(base+"/api/v1/lineage", "application/json", bytes.NewReader(events[i]))
					var body struct{ Digest string }
					if err == nil {
						_ = json.NewDecoder(resp.Body).Decode(&body) // an empty digest counts as not acknowledged
						resp.Body.Close()
					}
					mu.Lock()
					if err == nil && resp.StatusCode == http.StatusCreated {
						acked[body.Digest] = true
						if !killed {
							killed = true
							_ = cmd.Process.Signal(syscall.SIGKILL)
						}
					} else {
						again = append(again, i)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait() // "signal: killed", as intended
		left = again
		code, out, errOut := mlprov(t, "query", "--db", db, "--format", "csv", "SELECT digest FROM openlineage_events")
		if code != 0 {
			t.Fatalf("round %d: the store after a SIGKILL: exit %d, %s", round, code, errOut)
		}
		for d := range acked {
			if !strings.Contains(out, d) {
				t.Errorf("round %d: event %s was acknowledged but is not in the store", round, d)
			}
		}
	}
	// Every event is kept once, and the runs follow at the next start, which derives what
	// the kills left underived.
	cmd, base := startServe(t, bin, db)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, _ := mlprovQueryServe(t, base, "SELECT count(*) AS n FROM executions")
		if code == http.StatusOK && strings.Contains(out, `"n": 13`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 13 executions derived within 30s of a restart: %d %s", code, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v; want exit 0", err)
	}
	code, out, errOut := mlprov(t, "query", "--db", db, "--format", "csv", "SELECT count(*) AS n, count(DISTINCT digest) AS d FROM openlineage_events")
	if want := fmt.Sprintf("n,d\n%d,%d\n", len(events), len(events)); code != 0 || out != want {
		t.Errorf("kept events: %q (exit %d, %s), want %q", out, code, errOut, want)
	}
}

// mlprovQueryServe asks a running server's query endpoint.
func mlprovQueryServe(t *testing.T, base, q string) (int, string, error) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?sql=" + strings.ReplaceAll(q, " ", "+"))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
