# SPDX-License-Identifier: Apache-2.0
# Shared by the tests/vm/*.t scripts: source it, then `vm_tap BIN [run.sh options] -- COMMAND`.
# Runs COMMAND in the VM (tests/vm/run.sh) and makes its output this test's TAP: run.sh's 77
# (the VM cannot run here) becomes "1..0 # SKIP why", 99 (no boot, timeout) a failed test; the
# VM's stderr follows as TAP comments. Exits with COMMAND's status.
vm_tap() {
	local bin=$1
	shift
	if [ ! -x "$bin" ]; then
		printf '1..1\nnot ok 1 - %s not built (make)\n' "$bin"
		exit 1
	fi
	vm_run "$@"
	local rc=$?
	[ $rc -ne 77 ] || rc=0
	exit "$rc"
}

# vm_run [run.sh options] -- COMMAND: vm_tap without the exit, for a script that goes on after
# the VM: returns COMMAND's status, or run.sh's 77 (after the skip line) or 99.
vm_run() {
	local log rc
	log=$(mktemp) || exit 1
	"$(dirname "$0")/run.sh" "$@" 2>"$log"
	rc=$?
	case $rc in
	77) echo "1..0 # SKIP $(tail -n 1 "$log")" ;;
	99) printf '1..1\nnot ok 1 - VM run failed\n'; sed 's/^/# /' "$log" ;;
	*) sed 's/^/# /' "$log" ;;
	esac
	rm -f "$log"
	return "$rc"
}
