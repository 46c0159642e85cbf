#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every benchmark in $1/tests/bench (make bench), each pinned to one core: unpinned
# runs vary by +-20% on the development machine (kernel-facts.md). Root: the benchmarks
# load BPF programs. BENCH_CPU picks the core (default: the last one).
set -eu
out=${1:-.output}
cpu=${BENCH_CPU:-$(($(nproc) - 1))}
status=0
for b in "$out"/tests/bench/*; do
	case $b in *.o) continue ;; esac
	[ -x "$b" ] || continue
	echo "== $(basename "$b") (CPU $cpu)"
	taskset -c "$cpu" "$b" || status=1
done
exit $status
