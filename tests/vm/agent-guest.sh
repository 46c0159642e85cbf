#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The guest side of tests/vm/agent.t, run as root inside the VM (bash, busybox, coreutils' head
# and cp, the agent and pepctl): agent-guest.sh DIR, where DIR holds the signed contracts and
# the trust store agent.t made. Prints TAP lines without a plan (agent.t counts them and adds
# its own), then the answer of `pepctl --json terminate`, base64, after "# terminated: ".
set -u

here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUTPUT:-.output}
. "$here/tests/tap.sh"
. "$here/scripts/lib.sh"

W=$1
SOCK=/run/pep/admin.sock
ID=C391310000MA1K00001B11002026010100000000000006S
CLOCK_ID=$(sed 's/^.*"contractId": "\([^"]*\)".*$/\1/;t;d' "$W/clock.json")
LATER_ID=$(sed 's/^.*"contractId": "\([^"]*\)".*$/\1/;t;d' "$W/later.json")
END_ID=$(sed 's/^.*"contractId": "\([^"]*\)".*$/\1/;t;d' "$W/end.json")
DATA=/srv/data/research.csv
COPY=/srv/copy.csv
CONTENT=$(printf 'id,value\n1,secret')

start_agent() { pep_start_agent /var/lib/pep /sys/fs/bpf/pep "$SOCK" "$W/root-ca.crt" \
	/sys/fs/cgroup /tmp/agent.log; }
# refused CMD...: CMD fails with EPERM ("Operation not permitted", exit 1), is not killed
# and prints no data.
refused() {
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q "Operation not permitted" <<<"$out" && ! grep -q secret <<<"$out"
}
# wait_for SECONDS TEXT COMMAND...: until COMMAND's output holds TEXT, SECONDS at the most.
wait_for() {
	local tenths=$(($1 * 10)) text=$2
	shift 2
	for _ in $(seq $tenths); do "$@" 2>/dev/null | grep -q "$text" && return 0; sleep 0.1; done
	return 1
}
shift_clock() { date -s "@$(($(date +%s) + $1))" >/dev/null; }

mkdir -p /var/lib /run/pep /srv/data /srv/clock /srv/later /srv/end
printf '%s\n' "$CONTENT" >"$DATA"
printf '%s\n' "$CONTENT" >/srv/data/kept.csv
echo 'tick' >/srv/clock/c.csv
echo 'end' >/srv/end/e.csv

# ---- the agent on the lsm backend ----

check "the agent starts and serves its admin socket" start_agent
check "  auto picked the lsm backend (pepctl status)" grep -q "^backend: lsm" <<<"$(pepctl status)"
check "bind the product to a directory" quiet pepctl bind P-RESEARCH-CSV /srv/data
check "apply the signed contract (head and cp listed, count 4)" quiet pepctl apply "$W/core.json"

check "the listed application (head) reads the data" [ "$(/usr/bin/head "$DATA")" = "$CONTENT" ]
check "another program (busybox cat) gets EPERM, exit 1, not killed, no data" refused cat "$DATA"
check "the listed cp copies the data (a use)" /usr/bin/cp "$DATA" "$COPY"
check "  the copy is a derived copy: cat of it gets EPERM" refused cat "$COPY"
admitted=0
for _ in 1 2 3; do /usr/bin/head "$DATA" >/dev/null 2>&1 && admitted=$((admitted + 1)); done
check "count 4: 2 more reads are admitted, the 5th use gets EPERM" [ $admitted -eq 2 ]
check "  and another one too, with EPERM" refused /usr/bin/head "$DATA"
check "  pepctl show: 4 counted, 0 left" grep -q "4 counted.* 0 left" <<<"$(pepctl show $ID)"

# ---- fail-closed ----

{ kill -9 "$agent_pid" && wait "$agent_pid"; } 2>/dev/null # the shell's notice, not an error
check "with the agent killed (-9), a forbidden open still gets EPERM" refused cat "$DATA"
check "a restarted agent starts" start_agent
check "  and adopts the pins and state: in execution (05), 4 counted" \
	eval 'pepctl list | grep -q "$ID .*05" && pepctl show $ID | grep -q "4 counted"'
check "  the listed application still gets EPERM: the count survived" \
	refused /usr/bin/head "$DATA"

# ---- the wall clock set back (issue 4) ----

quiet pepctl bind P-CLOCK /srv/clock
quiet pepctl bind P-LATER /srv/later
quiet pepctl bind P-END /srv/end
check "apply a contract with a frequency of 2/hour" quiet pepctl apply "$W/clock.json"
/usr/bin/head /srv/clock/c.csv >/dev/null && /usr/bin/head /srv/clock/c.csv >/dev/null
check "  2 reads are admitted, the 3rd gets EPERM" refused /usr/bin/head /srv/clock/c.csv
# end.json ends in an hour (signed on the host): the clock goes forward to 6 s before that.
# (The agent compares the clocks every second: if this step and the one back fall in the same
# second, it sees them as one step back, of 2 h less the step forward.)
date -s "@$(($(cat "$W/end.at") - 6))" >/dev/null
check "apply a contract that ends in 6 s" quiet pepctl apply "$W/end.json"
shift_clock -7200
check "the wall clock set back 2 h: the agent journals it" \
	wait_for 5 "deny .*clock.*wall clock set back by" pepctl records
check "  and logs an alert" grep -q "ALERT: wall clock set back" /tmp/agent.log
check "  a 2/hour window does not start again: the 3rd read gets EPERM" \
	refused /usr/bin/head /srv/clock/c.csv
out=$(pepctl apply "$W/later.json" 2>&1)
check "  applying a contract is refused while the clock is behind, naming why" \
	grep -q "wall clock was set back" <<<"$out"
check "  the contract ending in 6 s expires at its end all the same (06)" \
	wait_for 20 "$END_ID .*06" pepctl list
check "  its file is deleted" [ ! -e /srv/end/e.csv ]
shift_clock 7205 # date -s takes whole seconds: forward by a little more than back
check "the wall clock put right again: journaled" \
	wait_for 5 "allow .*clock.*wall clock right again" pepctl records
check "  contracts are applied again" quiet pepctl apply "$W/later.json"
check "  still no 3rd read in the window" refused /usr/bin/head /srv/clock/c.csv
# Set back while no agent runs: the next one compares the clock with the journal's latest entry.
kill "$agent_pid" && wait "$agent_pid"
shift_clock -7200
check "the clock set back 2 h while the agent was stopped: the next agent starts" start_agent
check "  and finds it behind the journal's latest entry: journaled" \
	wait_for 5 "deny .*clock.*set back by .*behind the journal's latest entry" pepctl records
out=$(pepctl apply "$W/later.json" 2>&1)
check "  applying is refused, naming why" grep -q "wall clock was set back" <<<"$out"
shift_clock 7205
last_clock_record() { pepctl records | grep "clock" | tail -n 1; }
check "  put right: journaled, and applies work again" \
	eval 'wait_for 5 "allow .*clock.*right again" last_clock_record &&
	      quiet pepctl apply "$W/later.json"'

# ---- behaviour records ----

pepctl records >/tmp/records
check "records: the listed head allowed and counted, by policy p1 (read)" \
	grep -q "allow counted .* head .* $ID \[p1 read\] file" /tmp/records
check "records: busybox cat denied, application not allowed" \
	grep -q "deny .* cat .* $ID \[p1 read\] file .*: application not allowed" /tmp/records
check "records: head denied once the count ran out" \
	grep -q "deny .* head .* $ID \[p1 read\] file .*count" /tmp/records
check "records: the clock set back and put right" \
	eval 'grep -q "clock.*set back" /tmp/records && grep -q "clock.*right again" /tmp/records'
check "pepctl records verify: the journal's chain and checkpoints verify" \
	quiet pepctl records verify

# ---- termination ----

# A second name for a bound file: link() is not an open, nothing refuses it (docs/file-guard.md).
ln /srv/data/kept.csv /srv/kept-link.csv
pepctl --json terminate $ID >/tmp/terminated.json
check "pepctl terminate" [ $? -eq 0 ]
check "  the file and the derived copy are gone" eval '[ ! -e "$DATA" ] && [ ! -e "$COPY" ]'
check "  a file with a hard link is not deleted (its content would outlive the unlink)" \
	grep -q "another name (a hard link)" /tmp/terminated.json
check "  what is left of the product is unopenable, under both names, also for head" \
	eval 'refused /usr/bin/head /srv/data/kept.csv && refused cat /srv/kept-link.csv'
check "  the contract is terminated (06)" grep -q "$ID .*06" <<<"$(pepctl list)"
check "the other contracts run on (05)" \
	eval 'pepctl list | grep -q "$CLOCK_ID .*05" && pepctl list | grep -q "$LATER_ID .*05"'
echo "# terminated: $(base64 -w 0 /tmp/terminated.json)"
kill "$agent_pid" && wait "$agent_pid"
check "the agent stops on SIGTERM" [ $? -eq 0 ]
[ "$failed" -eq 0 ] || sed 's/^/# agent: /' /tmp/agent.log
