#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run.sh FUZZER SECONDS: fuzz parse+validate+verify+plan for a bounded time, seeded with
# signed contracts made by tests/vectors/mkvectors.sh (the openssl CLI) and the templates.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 FUZZER SECONDS" >&2; exit 2; }
fuzzer=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/../vectors/mkvectors.sh" "$work/vectors" >/dev/null
mkdir -p "$work/corpus"
cp "$work/vectors"/*.json "$here/../../examples/contracts"/*.json "$work/corpus/"

# -rss_limit_mb: a contract is at most 4 MiB; anything near this limit is a leak or a blow-up.
FUZZ_TRUST="$work/vectors/pki/root-ca.crt" "$fuzzer" -max_total_time="$seconds" \
	-rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" 2>"$work/log" || {
	tail -50 "$work/log"
	mkdir -p .output/fuzz-crashes && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* \
		.output/fuzz-crashes/ 2>/dev/null || true
	echo "fuzz: FAILED (inputs kept in .output/fuzz-crashes/)"
	exit 1
}
grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/log" || true
echo "fuzz: no crash, leak or timeout in ${seconds}s"
