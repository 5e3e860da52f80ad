package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"mlprov/engine"
	"mlprov/loaders/openlineage"
	"mlprov/serve"
)

// serveEvents and serveClients are the ingest benchmark's load: OpenLineage events posted
// by concurrent clients.
const (
	serveEvents  = 2000
	serveClients = 8
)

// lineageEvents makes n OpenLineage events, a START and a COMPLETE per run, of pipelines
// that ingest data, train a model on it and push the model, in four namespaces. tag keeps
// the runIds of one call apart from another's.
func lineageEvents(n int, tag string) [][]byte {
	jobs := []struct{ name, in, out string }{{"ingest", "", "data"}, {"train", "data", "model"}, {"push", "model", ""}}
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var out [][]byte
	for r := 0; len(out) < n; r++ {
		j := jobs[r%len(jobs)]
		run := r / len(jobs)
		ns := fmt.Sprintf("bench%d", run%4)
		dataset := func(kind string) []map[string]string {
			if kind == "" {
				return nil
			}
			return []map[string]string{{"namespace": ns, "name": fmt.Sprintf("%s-%s-%d", kind, tag, run)}}
		}
		for i, typ := range []string{"START", "COMPLETE"} {
			ev := map[string]any{
				"eventType": typ,
				"eventTime": t0.Add(time.Duration(r)*time.Minute + time.Duration(i)*30*time.Second).Format(time.RFC3339),
				"run":       map[string]any{"runId": fmt.Sprintf("%s-%d", tag, r)},
				"job":       map[string]string{"namespace": ns, "name": j.name},
				"inputs":    dataset(j.in),
				"outputs":   dataset(j.out),
				"producer":  "mlprov-bench",
				"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
			}
			b, _ := json.Marshal(ev)
			out = append(out, b)
		}
	}
	return out[:n]
}

// openBenchStore opens a store file in a new temporary folder, so that commits reach the disk.
func openBenchStore(b *testing.B) *engine.Engine {
	b.Helper()
	e, err := engine.Open(context.Background(), filepath.Join(b.TempDir(), "serve.duckdb"), engine.Options{MemoryLimit: "1GB"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.DB().Exec(`INSERT INTO op_categories VALUES ('train', 'train'), ('push', 'deploy')`); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// BenchmarkServeIngest posts 2,000 OpenLineage events from 8 concurrent clients to mlprov
// serve, each answered once durable, and reports events/s, the p99 latency of a post and
// how long after the last 201 the derived tables held every event (lag-s). The alternative,
// commit=each, keeps the same events one transaction per event (no group commit), through
// the same store API, 8 goroutines taking turns at the store's one writer.
// Run it once: go test -run '^$' -bench ServeIngest -benchtime 1x ./bench/
func BenchmarkServeIngest(b *testing.B) {
	b.Run(fmt.Sprintf("commit=group/events=%d/clients=%d", serveEvents, serveClients), func(b *testing.B) {
		e := openBenchStore(b)
		s, err := serve.New(context.Background(), e, serve.Options{})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(s.Handler())
		defer func() {
			hs.Close()
			if err := s.Close(); err != nil {
				b.Error(err)
			}
		}()
		var lat []time.Duration
		var elapsed, lag time.Duration
		iter := 0
		for b.Loop() {
			iter++
			events := lineageEvents(serveEvents, fmt.Sprintf("i%d", iter))
			began := time.Now()
			l := postConcurrently(b, hs, events, serveClients)
			last := time.Now()
			elapsed += last.Sub(began)
			lat = append(lat, l...)
			waitDerived(b, hs, last)
			lag += time.Since(last)
		}
		report(b, len(lat), elapsed, lat)
		b.ReportMetric(lag.Seconds()/float64(iter), "lag-s")
	})
	b.Run(fmt.Sprintf("commit=each/events=%d/clients=%d", serveEvents, serveClients), func(b *testing.B) {
		e := openBenchStore(b)
		var lat []time.Duration
		var elapsed time.Duration
		iter := 0
		for b.Loop() {
			iter++
			events := lineageEvents(serveEvents, fmt.Sprintf("i%d", iter))
			in, err := openlineage.OpenInbox(context.Background(), e)
			if err != nil {
				b.Fatal(err)
			}
			var mu, turn sync.Mutex
			var wg sync.WaitGroup
			began := time.Now()
			for c := 0; c < serveClients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; i < len(events); i += serveClients {
						t := time.Now()
						p, err := openlineage.ReadPosted("event", events[i])
						if err == nil {
							turn.Lock()
							_, err = in.Keep(context.Background(), []*openlineage.Posted{p}, time.Now())
							turn.Unlock()
						}
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						lat = append(lat, time.Since(t))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			elapsed += time.Since(began)
		}
		report(b, len(lat), elapsed, lat)
	})
}

// postConcurrently posts events from clients clients (client c posts events c, c+clients,
// ... in order) and returns each post's latency; a post not answered 201 fails b.
func postConcurrently(b *testing.B, hs *httptest.Server, events [][]byte, clients int) []time.Duration {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var lat []time.Duration
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(events); i += clients {
				t := time.Now()
				resp, err := hs.Client().Post(hs.URL+"/api/v1/lineage", "application/json", bytes.NewReader(events[i]))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				d := time.Since(t)
				if resp.StatusCode != http.StatusCreated {
					b.Errorf("event %d: status %d", i, resp.StatusCode)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat
}

// waitDerived polls the health endpoint until a derivation that ended after since left
// nothing pending.
func waitDerived(b *testing.B, hs *httptest.Server, since time.Time) {
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		resp, err := hs.Client().Get(hs.URL + "/api/v1/health")
		if err != nil {
			b.Fatal(err)
		}
		var h struct {
			Pending    bool
			Derivation *serve.Derivation
		}
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if !h.Pending && h.Derivation != nil && h.Derivation.At.After(since) {
			if h.Derivation.Error != "" {
				b.Fatalf("derivation: %s", h.Derivation.Error)
			}
			return
		}
	}
	b.Fatal("not derived within 2 minutes")
}

// report reports events/s and the p50 and p99 latency of n events kept in elapsed.
func report(b *testing.B, n int, elapsed time.Duration, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))].Seconds() * 1000 }
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
