package mlmd_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"mlprov/bench"
	"mlprov/engine"
	"mlprov/loaders/mlmd"
	"mlprov/synth"
)

// BenchmarkServerLoad loads one generated corpus's MLMD store from its SQLite file, from a
// private MariaDB server and from a private PostgreSQL server on the loopback interface, each
// into a new file store at the default settings, side by side in one run. The corpus is the
// bench's (its default seed) at the first scale MLPROV_BENCH_SCALES names, 0.01 when it names none:
//
//	MLPROV_BENCH_SCALES=0.1 go test ./loaders/mlmd -run '^$' -bench ServerLoad -benchtime 1x
//
// The servers cache 1 GB of pages, as a production server would hold a store of this size
// (the tests' servers keep 32 MB). MLMD's DDL for servers declares int_value INT, 32 bits, and the corpus's artifact sizes
// need more: the bench's databases declare it BIGINT. Filling the servers is not measured. rows/s counts the canonical rows a load writes;
// peak-RSS-bytes is the process's peak during the load, the servers' own memory apart.
func BenchmarkServerLoad(b *testing.B) {
	scale := 0.01
	if s, _, _ := strings.Cut(os.Getenv("MLPROV_BENCH_SCALES"), ","); s != "" {
		var err error
		if scale, err = strconv.ParseFloat(s, 64); err != nil || scale <= 0 {
			b.Fatalf("MLPROV_BENCH_SCALES: %q is not a positive number", s)
		}
	}
	ctx := context.Background()
	c, err := bench.LoadCorpus(ctx, bench.DefaultCacheDir(), scale, synth.DefaultSeed, func(s string) { b.Log(s) })
	if err != nil {
		b.Fatal(err)
	}
	path, err := c.MLMD(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// The database is named as the file, so that the three loads name the records no
	// context places alike.
	path = sqliteNamed(b, path, "corpus")
	servers := []struct {
		name   string
		loader engine.Loader
		start  func(testing.TB) *mlmdStores
	}{
		{"sqlite", &mlmd.Loader{}, nil},
		{"mysql", &mlmd.Server{}, func(tb testing.TB) *mlmdStores { return startMySQL(tb, "--innodb-buffer-pool-size=1G") }},
		{"postgres", &mlmd.Server{}, func(tb testing.TB) *mlmdStores { return startPostgres(tb, "shared_buffers=1GB") }},
	}
	for _, s := range servers {
		input := path
		if s.start != nil {
			began := time.Now()
			srv := s.start(b)
			srv.widen()
			srv.store(b, "corpus", path)
			input = srv.admin("corpus")
			b.Logf("filled %s from the SQLite store at scale %g in %.1fs", s.name, scale, time.Since(began).Seconds())
		}
		b.Run("backend="+s.name, func(b *testing.B) {
			var rows int64
			var peak int64
			for b.Loop() {
				b.StopTimer()
				debug.FreeOSMemory()
				e, err := engine.Open(ctx, filepath.Join(b.TempDir(), "store.duckdb"), engine.Options{})
				if err != nil {
					b.Fatal(err)
				}
				bench.ResetPeakRSS()
				b.StartTimer()
				res, err := e.Load(ctx, s.loader, input, engine.LoadOptions{})
				b.StopTimer()
				peak = max(peak, bench.PeakRSS())
				if err != nil {
					b.Fatal(err)
				}
				rows = res.Rows()
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak), "peak-RSS-bytes")
		})
	}
}
