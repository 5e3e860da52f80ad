# Every command the README and CI use. cgo is required by the DuckDB driver.
export CGO_ENABLED := 1
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/mlprov

.PHONY: build test demo lint bench golden fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mlprov

test:
	$(GO) test ./...

# demo: the main job on the embedded default, in a fresh store.
demo: build
	rm -rf demo.duckdb demo.duckdb.wal
	$(BIN) load --db demo.duckdb testdata/example
	$(BIN) query --db demo.duckdb -f testdata/overview.sql
	$(BIN) report --db demo.duckdb --out mlprov-report

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./bench/

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
	rm -rf bin demo.duckdb demo.duckdb.wal demo.duckdb.tmp mlprov-report
