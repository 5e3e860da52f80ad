package serve

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mlprov/engine"
	"mlprov/internal/storetest"
	"mlprov/loaders/openlineage"
)

// seed returns the path of Marquez's demo seed and its events, each as compact JSON.
func seed(tb testing.TB) (string, [][]byte) {
	tb.Helper()
	path := filepath.Join(storetest.SharedData(tb), "openlineage", "marquez-food-delivery.json")
	return path, storetest.LogEvents(tb, path)
}

// trainStore opens a store in which the seed's etl_orders_7_days job trains, so that its
// runs make graphlets.
func trainStore(tb testing.TB) *engine.Engine {
	tb.Helper()
	e := storetest.Open(tb)
	if _, err := e.DB().Exec(`INSERT INTO op_categories VALUES ('etl_orders_7_days', 'train')`); err != nil {
		tb.Fatal(err)
	}
	return e
}

// start serves e with opts through httptest and closes the server when the test ends.
func start(tb testing.TB, e *engine.Engine, opts Options) (*Server, *httptest.Server) {
	tb.Helper()
	if opts.Quiet == 0 {
		opts.Quiet, opts.MaxLag = 20*time.Millisecond, 200*time.Millisecond
	}
	s, err := New(context.Background(), e, opts)
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	tb.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s, hs
}

// post sends body to POST /api/v1/lineage with the headers given as name, value pairs
// (Content-Type application/json unless one is given), and returns the status and body.
func post(tb testing.TB, hs *httptest.Server, body []byte, headers ...string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest("POST", hs.URL+"/api/v1/lineage", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return answer(tb, resp)
}

// count runs a count query on e.
func count(tb testing.TB, e *engine.Engine, q string) int64 {
	tb.Helper()
	var n int64
	if err := e.DB().QueryRow(q).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// derived waits until the deriver has taken in every kept event, and fails tb on a failed
// derivation.
func derived(tb testing.TB, s *Server) {
	tb.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		last, pending := s.deriver.status()
		if last != nil && !pending {
			if last.Error != "" {
				tb.Fatalf("derivation failed: %s", last.Error)
			}
			return
		}
	}
	tb.Fatal("no derivation within 30s")
}

func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		exposed     bool
	}{
		{"127.0.0.1:8484", "", false},
		{"127.0.0.2:8484", "", false},
		{"[::1]:8484", "", false},
		{"localhost:8484", "", false},
		{":8484", "", true},
		{"0.0.0.0:8484", "", true},
		{"[::]:8484", "", true},
		{"192.168.1.5:8484", "", true},
		{"example.com:8484", "", true},
		{"0.0.0.0:8484", "s3cret", false},
	} {
		err := CheckAddr(c.addr, c.token)
		if got := errors.Is(err, ErrExposed); got != c.exposed {
			t.Errorf("CheckAddr(%q, %q) = %v; want exposed %v", c.addr, c.token, err, c.exposed)
		}
	}
	if err := CheckAddr("8484", ""); err == nil || errors.Is(err, ErrExposed) {
		t.Errorf("CheckAddr(8484) = %v; want an error about the address", err)
	}
}

// TestPostedSeedIsLoadedSeed posts Marquez's demo seed from 8 clients at once (each
// client's events in the file's order): every post is answered 201, and once derived the
// store holds what loading the seed gives. Posting it all again keeps nothing new.
func TestPostedSeedIsLoadedSeed(t *testing.T) {
	path, events := seed(t)
	want := trainStore(t)
	if _, err := want.Load(context.Background(), &openlineage.Loader{}, path, engine.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	e := trainStore(t)
	s, hs := start(t, e, Options{})
	postAllConcurrently(t, hs, events, 8)
	derived(t, s)
	if got := count(t, e, `SELECT count(*) FROM openlineage_events`); got != int64(len(events)) {
		t.Errorf("kept %d events, want %d", got, len(events))
	}
	for _, q := range []string{
		`SELECT count(*) FROM executions`,
		`SELECT count(*) FROM executions WHERE state = 'complete'`,
		`SELECT count(*) FROM pipelines`,
		`SELECT count(*) FROM graphlets`,
	} {
		if got, w := count(t, e, q), count(t, want, q); got != w {
			t.Errorf("%s: %d posted, %d loaded", q, got, w)
		}
	}
	postAllConcurrently(t, hs, events, 8)
	if got := count(t, e, `SELECT count(*) FROM openlineage_events`); got != int64(len(events)) {
		t.Errorf("after posting again: kept %d events, want %d", got, len(events))
	}
}

// postAllConcurrently posts events from clients clients, client i posting events i,
// i+clients, ... in order, and fails tb unless each is answered 201.
func postAllConcurrently(tb testing.TB, hs *httptest.Server, events [][]byte, clients int) {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, len(events))
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(events); i += clients {
				resp, err := hs.Client().Post(hs.URL+"/api/v1/lineage", "application/json", bytes.NewReader(events[i]))
				if err != nil {
					errs <- err.Error()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Sprintf("event %d: %d %s", i, resp.StatusCode, b)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		tb.Error(e)
	}
}

// TestPostRefuses: what is not one valid event, in JSON, with the token, is refused with a
// JSON error, and nothing of it is kept.
func TestPostRefuses(t *testing.T) {
	e := trainStore(t)
	_, hs := start(t, e, Options{Token: "s3cret"})
	good := []byte(`{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r1"},"job":{"namespace":"ml","name":"train"},"producer":"test"}`)
	auth := []string{"Authorization", "Bearer s3cret"}
	for _, c := range []struct {
		name    string
		body    []byte
		headers []string
		status  int
		want    string
	}{
		{"no token", good, nil, http.StatusUnauthorized, "Bearer"},
		{"wrong token", good, []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized, "Bearer"},
		{"text content", good, append(auth, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType, "want application/json"},
		{"form content", good, append(auth, "Content-Type", "application/x-www-form-urlencoded"), http.StatusUnsupportedMediaType, "want application/json"},
		{"brotli", good, append(auth, "Content-Encoding", "br"), http.StatusUnsupportedMediaType, "want gzip"},
		{"not gzip", good, append(auth, "Content-Encoding", "gzip"), http.StatusBadRequest, "gzip"},
		{"no runId", []byte(`{"eventTime":"2024-05-01T10:00:00Z","run":{},"job":{"namespace":"ml","name":"train"}}`), auth, http.StatusBadRequest, "run.runId is missing"},
		{"no job name", []byte(`{"eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r1"},"job":{"namespace":"ml"}}`), auth, http.StatusBadRequest, "job.name is missing"},
		{"bad time", []byte(`{"eventTime":"soon","run":{"runId":"r1"},"job":{"namespace":"ml","name":"train"}}`), auth, http.StatusBadRequest, "eventTime"},
		{"runId a number", []byte(`{"eventTime":"2024-05-01T10:00:00Z","run":{"runId":1},"job":{"namespace":"ml","name":"train"}}`), auth, http.StatusBadRequest, "field run.runId"},
		{"two events", append(append([]byte("["), good...), append([]byte(","), append(good, ']')...)...), auth, http.StatusBadRequest, "one OpenLineage event per request"},
		{"cut short", good[:40], auth, http.StatusBadRequest, "cut short"},
	} {
		status, body := post(t, hs, c.body, c.headers...)
		var msg struct{ Error string }
		if err := json.Unmarshal([]byte(body), &msg); err != nil {
			t.Errorf("%s: body %q is no JSON error: %v", c.name, body, err)
		}
		if status != c.status || !strings.Contains(msg.Error, c.want) {
			t.Errorf("%s: %d %s; want %d and an error saying %q", c.name, status, body, c.status, c.want)
		}
	}
	if n := count(t, e, `SELECT count(*) FROM openlineage_events`); n != 0 {
		t.Errorf("refused events: %d kept, want 0", n)
	}
	if n := count(t, e, `SELECT count(*) FROM sources`); n != 0 {
		t.Errorf("refused events: %d sources, want 0", n)
	}
	// The same event, with the token and gzipped, is taken.
	var z bytes.Buffer
	gz := gzip.NewWriter(&z)
	if _, err := gz.Write(good); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if status, body := post(t, hs, z.Bytes(), append(auth, "Content-Encoding", "gzip", "Content-Type", "application/json; charset=utf-8")...); status != http.StatusCreated {
		t.Errorf("gzipped event with the token: %d %s; want 201", status, body)
	}
	if n := count(t, e, `SELECT count(*) FROM openlineage_events`); n != 1 {
		t.Errorf("after a good event: %d kept, want 1", n)
	}
}

// TestNoCORS: no answer lets another site's page read it.
func TestNoCORS(t *testing.T) {
	_, hs := start(t, trainStore(t), Options{})
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/health", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("Access-Control-Allow-Origin: %q, want none", v)
	}
	req, _ = http.NewRequest("OPTIONS", hs.URL+"/api/v1/lineage", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight: %d, Access-Control-Allow-Origin %q; want refused", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestServeDrains serves on a port, cancels its context while posts are in flight, and
// checks that every post answered 201 is kept, that Serve returns nil and that the store
// then closes and opens cleanly.
func TestServeDrains(t *testing.T) {
	_, events := seed(t)
	path := filepath.Join(t.TempDir(), "store.duckdb")
	e, err := engine.Open(context.Background(), path, engine.Options{Threads: 1, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, e, "127.0.0.1:0", 10*time.Second, Options{Quiet: 20 * time.Millisecond}, func(a net.Addr) { addr <- a.String() })
	}()
	base := "http://" + <-addr
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(events); i += 4 {
				resp, err := http.Post(base+"/api/v1/lineage", "application/json", bytes.NewReader(events[i]))
				if err != nil {
					return // the server has stopped listening
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked++
					mu.Unlock()
				}
				if i == 10 {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	e, err = engine.Open(context.Background(), path, engine.Options{Threads: 1, MemoryLimit: "512MB", ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer e.Close()
	kept := count(t, e, `SELECT count(*) FROM openlineage_events`)
	if kept < int64(acked) || acked == 0 {
		t.Errorf("%d events acknowledged, %d kept", acked, kept)
	}
	// Close derived what was kept: the executions are there.
	if n := count(t, e, `SELECT count(*) FROM executions`); n == 0 {
		t.Errorf("after a clean stop: no executions derived from %d kept events", kept)
	}
}

// TestDeriverMaxLag: events that keep arriving do not hold derivation off past MaxLag.
func TestDeriverMaxLag(t *testing.T) {
	e := trainStore(t)
	d := newDeriver(e, 100*time.Millisecond, 300*time.Millisecond, slog.New(slog.DiscardHandler))
	defer func() { _ = d.stop() }()
	began := time.Now()
	for time.Since(began) < 2*time.Second {
		d.kick()
		if last, _ := d.status(); last != nil {
			if since := time.Since(began); since > time.Second {
				t.Errorf("first derivation %s after the first event, with events every 20ms; want about MaxLag (300ms)", since)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("no derivation in 2s while events kept arriving every 20ms")
}

// get fetches path and returns the status and body.
func get(tb testing.TB, hs *httptest.Server, path string) (int, string) {
	tb.Helper()
	resp, err := hs.Client().Get(hs.URL + path)
	if err != nil {
		tb.Fatal(err)
	}
	return answer(tb, resp)
}

// answer reads resp whole and returns its status and body.
func answer(tb testing.TB, resp *http.Response) (int, string) {
	tb.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
