#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The journal end to end: a listed (python3) and an unlisted program (cat) open a bound file
# in loops while the agent is killed with -9 and restarted. Then the journal verifies, its
# sequence numbers run without a gap, everything the agent showed before the kill (shown
# means fsync'd) is still there unchanged, and what the kernel lost is written down. An
# edited copy is caught; a journal at its bound says so, and uses are refused until it has
# room again. Root; scoped to a cgroup, a pin
# root and files this test makes, removed at the end.
set -u

. "$(dirname "$0")/setup.sh" journal # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
J="$W/state/journal"
agent_pid=
load=()

stop_load() {
	[ ${#load[@]} -gt 0 ] && kill "${load[@]}" 2>/dev/null && wait "${load[@]}" 2>/dev/null
	load=()
}

cleanup() {
	stop_load
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	pep_remove_cgroup "$CG" # and the workload cgroups the agent made under it
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

start_agent() { pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log"; }
stop_agent() { kill "$agent_pid" && wait "$agent_pid"; agent_pid=; }
verify() { "$pepctl_bin" records verify --journal "$1" --key "$W/state/node-key.pem"; }
# json FILE EXPR: EXPR over r, the list of entries in FILE (pepctl --json records)
json() { python3 -c "import json,sys; r=json.load(open('$1'))['records']; sys.exit(not ($2))"; }

ID=C391310000MA1K00001B11002026010100000000000006S
mkdir -p "$CG" "$W/data"
printf 'id,value\n1,secret\n' >"$W/data/research.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
pep_sign "$W/load.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki" \
	--set 'contractPolicies.permissionPolicies[0].constraints[1].constraintValue="100000000"'

check "agent starts with an empty journal" start_agent
check "the file guard's ring buffer is events_ring_bytes, 2 MiB by default" \
	grep -q "max_entries 2097152" <<<"$(bpftool map show pinned "$PINS/file_events")"
printf 'events_ring_bytes = 1000\n' >"$W/bad.conf"
check "a ring buffer size that is no power of 2 is refused at start" \
	eval 'timeout 10 "$here/$out/pep-agent" --config "$W/bad.conf" --state-dir "$W/bad" 2>/dev/null; [ $? -eq 2 ]'
quiet pepctl bind P-RESEARCH-CSV "$W/data" && quiet pepctl apply "$W/load.json"

# The load: python3 (listed) opens in a loop, about 20 000 a second; cat (unlisted) is
# started again and again, each one killed at its open. python3 is started again too: a use
# whose record has no place in the ring buffer (the agent behind, or down) is refused, and
# python3 killed. It ends with the loop that starts it.
(while :; do /usr/bin/python3 -c "import os, time
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(20): open('$W/data/research.csv').read()
    time.sleep(0.001)"; done) 2>/dev/null &
load+=($!)
(while :; do pep_cat "$W/data/research.csv" >/dev/null; done) &
load+=($!)

timeout 2 "$pepctl_bin" --socket "$SOCK" --json records --follow >"$W/follow.jsonl" 2>/dev/null
# Clients that hang up before their reply (as `timeout` does to pepctl above): the agent's
# write fails with EPIPE; the default SIGPIPE would end the agent.
python3 -c "import socket
for _ in range(5):
    s = socket.socket(socket.AF_UNIX); s.connect('$SOCK')
    s.sendall(b'{\"cmd\":\"records\"}\n'); s.close()"
check "clients that hang up before their reply do not end the agent" \
	eval 'quiet pepctl status && kill -0 "$agent_pid"'
timeout 60 "$pepctl_bin" --socket "$SOCK" --json records >"$W/before.json" # after an fsync
check "pepctl records under load ends; replies name the journal's head" \
	python3 -c "import json,socket,sys
s = socket.socket(socket.AF_UNIX); s.connect('$SOCK'); s.sendall(b'{\"cmd\":\"records\"}\n')
reply = json.loads(s.makefile().readline())
b = json.load(open('$W/before.json'))['records']
sys.exit(not (reply['head'] >= reply['next'] - 1 and 0 < b[-1]['seq'] <= reply['head'] + 1))"
sleep 0.5
{ kill -9 "$agent_pid" && wait "$agent_pid"; } 2>/dev/null # the shell's notice, not an error
agent_pid=
sleep 0.5 # decisions go on, into the pinned ring buffer (or counted as lost when it is full)
check "a restarted agent continues the journal under load" start_agent
sleep 1
stop_load
sleep 1.5 # a tick writes what the kernel lost since
pepctl --json status >"$W/status.json"
pepctl --json records >"$W/after.json"
pepctl --json records --since 5 >"$W/since.json"
# (timeout ended pepctl --follow wherever it was: its last line may be cut)
check "--follow printed entries as they came, in order" \
	python3 -c "import json,sys
lines = open('$W/follow.jsonl').read().split('\\n')
s = [json.loads(l)['seq'] for l in lines[:-1]]
sys.exit(not (len(s) > 1 and s == list(range(s[0], s[0] + len(s)))))"
stop_agent

check "pepctl records verify: the journal verifies after kill -9 and restart" quiet verify "$J"
check "sequence numbers run from 1 without a gap" \
	json "$W/after.json" "[x['seq'] for x in r] == list(range(1, len(r) + 1))"
check "every entry shown before the kill (fsync'd) is still there, unchanged" \
	python3 -c "import json,sys
a = {x['seq']: x for x in json.load(open('$W/after.json'))['records']}
b = json.load(open('$W/before.json'))['records']
sys.exit(not (len(b) > 10 and all(a.get(x['seq']) == x for x in b)))"
check "both programs' decisions are recorded: python3 counted, cat denied" \
	json "$W/after.json" "any(x.get('comm') == 'python3' and x['kind'] == 'counted' for x in r)
	and any(x.get('comm') == 'cat' and x['kind'] == 'denied' for x in r)"
check "records name contract, policy and action: the count's and the application's (p1 read)" \
	json "$W/after.json" "all(x['contract'] == '$ID' and x['policy'] == 'p1' and x['action'] == 'read'
	for x in r if x['type'] == 'record' and x['kind'] in ('counted', 'denied'))"
check "records on both sides of the restart" \
	python3 -c "import json,sys
b = max(x['seq'] for x in json.load(open('$W/before.json'))['records'])
r = json.load(open('$W/after.json'))['records']
sys.exit(not any(x['type'] == 'record' and x['seq'] > b + 1 for x in r))"
check "what the kernel lost is in the journal: lost entries add up to its counter" \
	python3 -c "import json,sys
lost = json.load(open('$W/status.json'))['lost']
r = json.load(open('$W/after.json'))['records']
sys.exit(sum(x['lost'] for x in r if x['type'] == 'lost') != lost)"
check "--since 5 starts at entry 5" json "$W/since.json" "r[0]['seq'] == 5"
check "a clean stop ends the journal with a signed checkpoint" \
	grep -q '"type":"checkpoint"' <<<"$(tail -n 1 "$(ls "$J"/*.jsonl | tail -n 1)")"

# An edited copy: a denial turned into an allowance, then a record removed.
cp -r "$J" "$W/copy"
seg=$(grep -l '"verdict":"deny"' "$W/copy"/*.jsonl | head -n 1)
line=$(grep -n '"verdict":"deny"' "$seg" | sed -n 3p | cut -d: -f1)
seq=$(sed -n "${line}p" "$seg" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
sed -i "${line}s/\"verdict\":\"deny\"/\"verdict\":\"allow\"/" "$seg"
said=$(verify "$W/copy")
check "verify catches a denial edited into an allowance, naming the entry" \
	grep -q "does NOT verify: entry $seq edited" <<<"$said"
rm -rf "$W/copy" && cp -r "$J" "$W/copy"
sed -i "${line}d" "$W/copy/$(basename "$seg")"
said=$(verify "$W/copy")
check "verify catches a removed record, naming it" \
	grep -q "does NOT verify: entry $seq removed" <<<"$said"

# The bound: an agent whose journal may hold only a little more than it holds already.
size=$(du -cb "$J"/*.jsonl | tail -n 1 | cut -f1)
"$here/$out/pep-agent" --state-dir "$W/state" --bpffs-dir "$PINS" --admin-socket "$SOCK" \
	--trust "$W/pki/root-ca.crt" --cgroup "$CG" --journal-max-bytes $((size + 70000)) \
	2>>"$W/agent.log" &
agent_pid=$!
for _ in $(seq 100); do quiet pepctl status && break; sleep 0.1; done
for _ in $(seq 300); do pep_cat "$W/data/research.csv"; done
status=$(pepctl status)
check "at its bound the journal is full, and pepctl status says so" \
	grep -q "JOURNAL FULL: records are no longer written.*every use of a contract is refused" \
	<<<"$status"
pepctl --json records >"$W/full.json"
check "the journal holds the alerts: near-full, then full" \
	json "$W/full.json" "[x['state'] for x in r if x['type'] == 'journal'] == ['near-full', 'full']"
read_it() { (/usr/bin/python3 -c "open('$W/data/research.csv').read()"; exit $?) 2>/dev/null; }
read_it
check "a full journal: the listed program's use is refused (it cannot be recorded)" [ $? -eq 137 ]
stop_agent
check "a full journal still verifies" quiet verify "$J"
read_it
check "with the agent stopped, uses stay refused (the flag is pinned)" [ $? -eq 137 ]
check "an agent whose journal has room again" start_agent
check "admits the use again" read_it
stop_agent

tap_done
