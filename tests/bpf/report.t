#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The journal delivered to the platform (agent/report.c, tools/tds_chain.c): every decision
# arrives exactly once and in order; an alert at once; nothing missing or repeated after a
# kill -9 under load; everything after the platform was away under load. Root; scoped to a
# cgroup, a pin root and files this test makes, removed at the end.
set -u

. "$(dirname "$0")/setup.sh" report # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
T=$W/tls
agent_pid=
serve_pid=
load=

cleanup() {
	for pid in $load $agent_pid $serve_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

start_serve() {
	"$pep_bin/tds-platform" serve --listen "127.0.0.1:$SPORT" --db "$W/platform.db" \
		--cert "$T/platform.crt" --key "$T/platform.key" --ca "$T/node-ca.crt" \
		2>>"$W/serve.log" &
	serve_pid=$!
	for _ in $(seq 50); do quiet python3 -c "import socket; socket.create_connection(('127.0.0.1', $SPORT))" && return 0; sleep 0.1; done
	return 1
}
stop_serve() { kill "$serve_pid" && wait "$serve_pid"; serve_pid=; }
# start_agent INTERVAL_MS: the agent, reporting to the platform.
start_agent() {
	pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log" \
		--platform-url "https://127.0.0.1:$SPORT" --tls-cert "$T/node.crt" \
		--tls-key "$T/node.key" --platform-ca "$T/platform-ca.crt" \
		--report-interval-ms "$1"
}
stop_agent() { kill "$agent_pid" && wait "$agent_pid"; agent_pid=; }
kill_agent() { { kill -9 "$agent_pid" && wait "$agent_pid"; } 2>/dev/null; agent_pid=; }
start_load() { (while :; do pep_cat "$W/data/research.csv" >/dev/null; done) & load=$!; }
stop_load() { kill "$load" && wait "$load" 2>/dev/null; load=; }

# same [SEQ]: the platform holds the node's journal from 1 on, every entry once, in order, as
# stored on the node, at least up to SEQ (default: what the journal held when asked).
same() {
	"$pep_bin/tds-platform" reports --db "$W/platform.db" --json >"$W/platform.json" &&
		python3 - "$W/state/journal" "$W/platform.json" "${1:-0}" <<-'EOF'
	import glob, json, sys
	lines = [l for f in sorted(glob.glob(sys.argv[1] + '/*.jsonl')) for l in open(f)]
	node = [json.loads(l) for l in lines if l.endswith('\n')]
	got = json.load(open(sys.argv[2]))['records']
	seqs = [r['seq'] for r in got]
	want = int(sys.argv[3]) or max(e['seq'] for e in node if e['type'] == 'record')
	ok = (seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= want
	      and all(r['entry'] == node[r['seq'] - 1] for r in got))
	sys.exit(0 if ok else 1)
	EOF
}
# arrives SECONDS [SEQ]: same, within SECONDS.
arrives() {
	for _ in $(seq $(($1 * 10))); do same "${2:-0}" && return 0; sleep 0.1; done
	return 1
}
# pos_covers: state_dir/report.pos is at least the last seq the platform held when last asked.
pos_covers() {
	[ "$(cat "$W/state/report.pos")" -ge "$(python3 -c "import json
print(max(r['seq'] for r in json.load(open('$W/platform.json'))['records']))")" ]
}
at_platform() { # at_platform KIND: how many records of KIND the platform holds
	python3 -c "import json,sys; print(sum(1 for r in json.load(open('$W/platform.json'))['records']
		if r['entry'].get('kind') == '$1'))"
}

ID=C391310000MA1K00001B11002026010100000000000006S
mkdir -p "$CG" "$W/data"
printf 'id,value\n1,secret\n' >"$W/data/research.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null 2>&1
"$here/tests/vectors/mktls.sh" "$T"
pep_sign "$W/core.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki"
# A second contract, on another product: its records go in its own reports.
sed 's/P-RESEARCH-CSV/P-OTHER-CSV/' "$here/examples/contracts/file-app-count-delete.json" \
	>"$W/other-template.json"
pep_sign "$W/other.json" "$W/other-template.json" "$W/pki" --serial 7
ID2=$(python3 -c "import json; print(json.load(open('$W/other.json'))['contractId'])")
mkdir -p "$W/other"
printf 'x\n' >"$W/other/other.csv"

SPORT=$(free_port)
check "the platform serves" start_serve
check "the agent starts, reporting every 500 ms" start_agent 500
quiet pepctl bind P-RESEARCH-CSV "$W/data"
check "  the contract is applied" quiet pepctl apply "$W/core.json"
quiet pepctl bind P-OTHER-CSV "$W/other"
check "  and a second one, on another product" quiet pepctl apply "$W/other.json"

# ---- the scenario: allowed (counted) reads, refused reads, the count exhausted ----
for _ in 1 2 3 4 5 6; do (/usr/bin/python3 -c "open('$W/data/research.csv').read()"; exit $?) 2>/dev/null; done
pep_cat "$W/data/research.csv" >/dev/null
pep_cat "$W/other/other.csv" >/dev/null
check "every entry of the scenario arrives once, in order, as the node stored it" arrives 5
check "  each contract's records in full from its own reports; a contract sees no other's" \
	python3 -c "import json, subprocess, sys
mine = json.loads(subprocess.check_output(['$pep_bin/tds-platform', 'reports', '--db',
	'$W/platform.db', '--contract', '$ID', '--json']))['records']
every = json.load(open('$W/platform.json'))['records']
sys.exit(not (any(r['contract'] == '$ID2' for r in every) and
	all(r['contract'] in ('$ID', '') for r in mine) and len(mine) < len(every)))"
check "  counted reads, the refused cat and the exhausted count are there" \
	[ "$(at_platform counted)" -ge 5 ] && [ "$(at_platform denied)" -ge 1 ] &&
	[ "$(at_platform exhausted)" -ge 1 ]
check "the delivered position is kept in the state dir" pos_covers
stop_agent

# ---- an alert does not wait for the interval ----
start_agent 600000
arrives 5 >/dev/null # what the stop left (its checkpoint) goes at start
last=$(wc -l <"$W/state/journal/$(ls "$W/state/journal" | grep jsonl$ | tail -n 1)")
pep_cat "$W/data/research.csv" >/dev/null
t0=$(date +%s%N)
check "a refusal (an alert) arrives at once, with a 10-minute interval" arrives 3
echo "# the alert took $((($(date +%s%N) - t0) / 1000000)) ms"
stop_agent

# ---- kill -9 under load ----
start_agent 300
start_load
sleep 1.5
kill_agent
sleep 0.5
check "kill -9 under load: the agent restarts" start_agent 300
sleep 1
stop_load
sleep 0.5
check "  nothing missing, nothing twice, in order, after the restart" arrives 10
check "  the node's journal verifies" \
	quiet "$pep_bin/pepctl" records verify --journal "$W/state/journal" --key "$W/state/node-key.pem"
check "  the platform refused nothing (its chain check passed every batch)" \
	[ -z "$(grep "refused" "$W/serve.log")" ]

# ---- the platform away under load ----
stop_serve
start_load
sleep 2
stop_load
target=$(python3 -c "import glob,json; print(max(json.loads(l)['seq'] for f in glob.glob('$W/state/journal/*.jsonl') for l in open(f)))")
check "while the platform is away, the agent backs off (no busy loop)" \
	[ "$(grep -c "not confirmed" "$W/agent.log")" -lt 20 ]
check "the platform returns" start_serve
check "  everything from while it was away arrives, in order, once" arrives 70 "$target"
stop_agent
# While batches follow each other the position is written at most once a second; when they
# stop following (and at a stop) it is written at once.
check "  after the backlog, the position covers everything confirmed" pos_covers

# ---- what the platform refuses: reports made here, sent with the node's certificate ----
# forged WHAT: a report of the node's journal changed as WHAT says (tests/bpf/report.t).
forged() {
	"$pep_bin/tds-platform" reports --db "$W/platform.db" --json >"$W/platform.json"
	python3 - "$W/state/journal" "$1" "$(openssl pkey -in "$W/state/node-key.pem" -pubout \
		-outform DER | base64 -w0)" "$(openssl genpkey -algorithm ed25519 | openssl pkey \
		-pubout -outform DER | base64 -w0)" "$W/platform.json" <<-'EOF'
	import glob, hashlib, json, sys
	lines = [l.rstrip('\n') for f in sorted(glob.glob(sys.argv[1] + '/*.jsonl')) for l in open(f)]
	what, key, other, held = sys.argv[2:6]
	last = max(r['seq'] for r in json.load(open(held))['records']) # what the platform holds
	head = hashlib.new('sm3', lines[last - 1].encode()).hexdigest()
	new = '{"seq":%d,"time":"2026-11-23T13:22:03.000000000Z","type":"journal","state":"near-full","bytes":1,"max":2,"prev":"%s"}'
	cp = '{"seq":%d,"time":"2026-11-23T13:22:03.000000000Z","type":"checkpoint","lost":0,"unrecorded":0,"prev":"%s","sig":"%s"}'
	frm, chain = {
	    'edited': (5, [lines[4].replace('"uid":0', '"uid":1')]),
	    'again': (1, lines[:3]),
	    'gap': (last + 10, [new % (last + 10, head)]),
	    'unlinked': (last + 1, [new % (last + 1, '0' * 64)]),
	    'unsigned': (last + 1, [cp % (last + 1, head, 'A' * 86 + '==')]),
	    'rekeyed': (1, lines[:1]),
	}[what]
	print(json.dumps({"contractName": "x", "contractId": "x", "reportTime": "2026-11-23T13:22:05Z",
	    "executedStrategy": {"executedStrategyId": "records", "executedActions": ["record"],
	    "executionResult": "01", "executionDetails": {"from": frm, "to": frm + len(chain) - 1,
	    "nodeKey": other if what == 'rekeyed' else key, "checkpoint": None, "chain": chain}}}))
	EOF
}
as_node() { forged "$1" | curl -sS --cacert "$T/platform-ca.crt" --cert "$T/node.crt" \
	--key "$T/node.key" --data-binary @- "https://127.0.0.1:$SPORT/contractExecution" 2>&1; }
check "a record edited after delivery: status 1, the entry named" \
	grep -q '"status":"1".*entry 5: differs from the entry received before' <<<"$(as_node edited)"
check "entries sent again, unchanged: status 0, kept once" \
	eval 'grep -q "\"status\":\"0\"" <<<"$(as_node again)" && same'
check "a report after a gap: status 1" grep -q '"status":"1".*never received' <<<"$(as_node gap)"
check "an entry that does not hold the hash of the one before: status 1" \
	grep -q '"status":"1".*the chain breaks' <<<"$(as_node unlinked)"
check "a checkpoint the node key did not sign: status 1" \
	grep -q '"status":"1".*checkpoint signature does not verify' <<<"$(as_node unsigned)"
check "another node key than the one pinned at first contact: status 1" \
	grep -q '"status":"1".*not the key pinned' <<<"$(as_node rekeyed)"
check "  nothing of the refused reports was stored" same

tap_done
