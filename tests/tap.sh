# SPDX-License-Identifier: Apache-2.0
# TAP for the shell tests: `check NAME COMMAND...` is one test, ok when COMMAND succeeds;
# `tap_done` prints the plan and gives the script's status. Source it.
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
quiet() { "$@" >/dev/null 2>&1; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
tap_done() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
