// Package bench holds mlprov's benchmarks: run them with `make bench` (or `go test -bench .
// ./bench/`); they print benchstat-compatible lines and compare alternatives in the same run.
package bench
