#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Self-confinement: once started, the agent holds only the capabilities agent/confine.c keeps
# (also out of its bounding set) and runs under a seccomp filter; with --confine no it keeps
# what it was started with. That the confined agent still does all its work is shown by the
# other kernel tests, which run it confined. Root; own pin root, cgroup and files.
set -u

. "$(dirname "$0")/setup.sh" confine # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
agent_pid=

cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$agent_pid/status"; }
stop() { kill "$agent_pid" && wait "$agent_pid" 2>/dev/null; agent_pid=; }
# CAP_DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, SETGID, SETUID, SYS_CHROOT, SYS_PTRACE
kept=$(printf '%016x' $(((1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 7) | (1 << 18) |
	(1 << 19))))
mkdir -p "$CG" "$W/trust"

check "the agent starts (confine = yes by default)" \
	pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/trust" "$CG" "$W/agent.log"
check "  it says it confined itself" grep -q "confined: 7 capabilities kept" "$W/agent.log"
check "  a seccomp filter (Seccomp: 2) and no new privileges" \
	[ "$(status Seccomp)" = 2 ] && [ "$(status NoNewPrivs)" = 1 ]
check "  effective and permitted capabilities: only the kept ones ($kept)" \
	[ "$(status CapEff)" = "$kept" ] && [ "$(status CapPrm)" = "$kept" ]
check "  the bounding set too, nothing inherited or ambient" \
	[ "$(status CapBnd)" = "$kept" ] && [ "$(status CapInh)" = 0000000000000000 ] &&
	[ "$(status CapAmb)" = 0000000000000000 ]
check "  it still answers (pepctl status)" quiet "$pep_bin/pepctl" --socket "$SOCK" status
stop
check "  SIGTERM: a clean shutdown under the filter" grep -q "shutting down" "$W/agent.log"
check "  no call was off the list" bash -c "! grep -q 'not on the allow-list' '$W/agent.log'"

check "with --confine no the agent keeps what it was started with" \
	pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/trust" "$CG" "$W/agent.log" \
	--confine no
check "  no filter, every capability" \
	[ "$(status Seccomp)" = 0 ] && [ "$(status CapEff)" = "$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)" ]
stop

tap_done
