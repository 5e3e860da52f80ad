#!/bin/bash
# growth.sh OUT SCALE...: gen, load, prune and report at each scale, one process after another
# at the default settings, each under /usr/bin/time, with the load's spill folder (STORE.tmp/)
# sampled every 2 s. Appends one line per step to OUT/results.tsv and keeps each step's output
# in OUT/sSCALE/STEP.log; the corpora and stores are removed as it goes (scale 10 needs about
# 60 GB of free disk for its spill). Draw the plots with `go run ./bench/growth OUT`.
set -euo pipefail
out=$(realpath "$1"); shift
bin=${MLPROV:-$(command -v mlprov)}
mkdir -p "$out"
[ -f "$out/results.tsv" ] || printf 'scale\tstep\trc\tseconds\tpeak_rss_mb\tmax_spill_mb\tload_before\tload_after\tat\n' > "$out/results.tsv"
step() { # step SCALE NAME SPILLDIR COMMAND...
	local scale=$1 name=$2 spill=$3; shift 3
	local before max=0 rc=0
	before=$(cut -d' ' -f1 /proc/loadavg)
	/usr/bin/time -f '%e %M' -o "$out/.time" "$@" > "$out/s$scale/$name.log" 2>&1 &
	local pid=$!
	while kill -0 $pid 2>/dev/null; do
		if [ -d "$spill" ]; then
			local s
			s=$(du -sb "$spill" 2>/dev/null | cut -f1)
			if [ -n "$s" ] && [ "$s" -gt "$max" ]; then max=$s; fi
		fi
		sleep 2
	done
	wait $pid || rc=$?
	read -r secs kb < "$out/.time"
	printf '%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n' "$scale" "$name" "$rc" "$secs" $((kb / 1024)) $((max / 1048576)) \
		"$before" "$(cut -d' ' -f1 /proc/loadavg)" "$(date +%H:%M:%S)" >> "$out/results.tsv"
}
for scale in "$@"; do
	d=$out/s$scale
	rm -rf "$d"; mkdir -p "$d"
	step "$scale" gen "" "$bin" gen --scale "$scale" --out "$d/corpus"
	step "$scale" load "$d/store.duckdb.tmp" "$bin" load --db "$d/store.duckdb" "$d/corpus"
	rm -rf "$d/corpus"
	step "$scale" prune "$d/store.duckdb.tmp" "$bin" prune --db "$d/store.duckdb" --out "$d/prune"
	step "$scale" report "$d/store.duckdb.tmp" "$bin" report --db "$d/store.duckdb" --out "$d/report"
	rm -rf "$d/store.duckdb" "$d/store.duckdb.tmp"
done
