# Every command the README and CI use. cgo is required by the DuckDB driver.
export CGO_ENABLED := 1
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/mlprov

.PHONY: build test demo lint bench growth golden fuzz calibrate study clean

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

# lint: gofmt, go vet, and golangci-lint with .golangci.yml at a pinned version, installed into
# bin/tools on first use.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := bin/tools/golangci-lint

lint: $(GOLANGCI_LINT)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# bench: every benchmark at the standard scales (BENCH_SCALES of the paper's corpus), the
# alternatives compared in the same run, with plots and EXPLAIN ANALYZE in bench-results/
# (docs/performance.md). Corpora are generated once and kept in $$TMPDIR/mlprov-bench.
BENCH_SCALES ?= 0.01,0.1,1
bench: build
	rm -rf bench-results
	$(BIN) bench --scale $(BENCH_SCALES) --out bench-results

# growth: gen, load, prune and report at GROWTH_SCALES, one process after another at the default
# settings, with the time, peak memory and spill of each in growth-results/results.tsv and their
# plots beside it (docs/performance.md, Growth with scale). Scale 10 takes about an hour and
# 60 GB of free disk.
GROWTH_SCALES ?= 0.1 1 3 10
growth: build
	MLPROV=$(CURDIR)/$(BIN) bench/growth/growth.sh growth-results $(GROWTH_SCALES)
	$(GO) run ./bench/growth growth-results

# calibrate: every corpus at scale 0.1 (eight seeds) and at the paper's scale (four seeds)
# against the paper's figures, simulated without files, and the paper-scale Parquet files
# byte-identical across two runs (about a minute and a half).
calibrate:
	$(GO) test -tags calibration -run 'TestCalibrationSeeds|TestParquetDeterministicAtScale' -count=1 -v ./synth/

# study: the pruning study's acceptance on generated corpora at scale 0.1, three seeds (about a minute);
# STUDY_SEEDS=4,5 checks others, held out from tuning.
STUDY_SEEDS ?= 1,2,3
study:
	STUDY_SEEDS=$(STUDY_SEEDS) $(GO) test -tags study -run TestStudyAtScale -count=1 -v ./prune/

golden:
	$(GO) test ./... -update

# fuzz: every fuzz target in the tree for FUZZTIME each (go test runs one fuzz target at a time).
# The targets are found, not listed: the packages whose tests declare a Fuzz function, then
# `go test -list` names each package's targets.
FUZZTIME ?= 30s
fuzz:
	@pkgs=$$(git grep -l '^func Fuzz' -- '*_test.go' | xargs -n1 dirname | sort -u | sed 's|^|./|'); \
	test -n "$$pkgs" || { echo "fuzz: no fuzz targets found"; exit 1; }; \
	list=$$($(GO) test -list '^Fuzz' $$pkgs) || { echo "$$list"; exit 1; }; \
	echo "$$list" | awk '/^Fuzz/ { f[n++] = $$1; next } /^ok/ { for (i = 0; i < n; i++) print $$2, f[i]; n = 0 }' | \
	while read -r pkg target; do \
		echo "fuzz: $$pkg $$target"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

clean:
	rm -rf bin demo.duckdb demo.duckdb.wal demo.duckdb.tmp demo-corpus mlprov-report bench-results
