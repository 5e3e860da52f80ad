# Every command the README and CI use. cgo is required by the DuckDB driver.
export CGO_ENABLED := 1
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/mlprov

.PHONY: build test demo lint bench golden fuzz calibrate study clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mlprov

test:
	$(GO) test ./...

# demo: the main job on the embedded default: a synthetic corpus (DEMO_SCALE of the paper's),
# loaded into a fresh store, summarised, and written up as a report with its pruning study.
DEMO_SCALE ?= 0.01
demo: build
	rm -rf demo.duckdb demo.duckdb.wal demo.duckdb.tmp demo-corpus
	$(BIN) gen --scale $(DEMO_SCALE) --out demo-corpus --load --db demo.duckdb
	$(BIN) query --db demo.duckdb -f testdata/overview.sql
	$(BIN) report -q --db demo.duckdb --out mlprov-report

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...

# bench: every benchmark at the standard scales (BENCH_SCALES of the paper's corpus), the
# alternatives compared in the same run, with plots and EXPLAIN ANALYZE in bench-results/
# (docs/performance.md). Corpora are generated once and kept in $$TMPDIR/mlprov-bench.
BENCH_SCALES ?= 0.01,0.1,1
bench: build
	rm -rf bench-results
	$(BIN) bench --scale $(BENCH_SCALES) --out bench-results

# calibrate: the paper-scale corpus over several seeds against the paper's figures, and its
# Parquet files byte-identical across two runs (about a minute and a half).
calibrate:
	$(GO) test -tags calibration -run 'TestCalibrationSeeds|TestParquetDeterministicAtScale' -count=1 -v ./synth/

# study: the pruning study's acceptance on generated corpora at scale 0.1, three seeds (about a minute).
study:
	$(GO) test -tags study -run TestStudyAtScale -count=1 -v ./prune/

golden:
	$(GO) test ./... -update

# fuzz: each parser of outside input for FUZZTIME (go test runs one fuzz target at a time).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./loaders/openlineage
	$(GO) test -run '^$$' -fuzz '^FuzzParseTime$$' -fuzztime $(FUZZTIME) ./loaders/openlineage
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./loaders/mlmd
	$(GO) test -run '^$$' -fuzz '^FuzzAttrsJSON$$' -fuzztime $(FUZZTIME) ./loaders/mlmd

clean:
	rm -rf bin demo.duckdb demo.duckdb.wal demo.duckdb.tmp demo-corpus mlprov-report bench-results
