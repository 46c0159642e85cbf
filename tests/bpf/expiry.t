#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Expiry: a contract ends at its endTime by the agent alone (terminated on expiry, 02): its
# files deleted with a destruction proof, state 06 with the cause, and the platform told
# (tds-platform serve gets the node's signed notice with the proof). A contract whose end
# came while the agent was stopped is terminated when the agent starts again. With the
# platform down at expiry, the notice is sent again, with back-off, also after a restart of
# the agent, until the platform is back and confirms it: received once; a resend of the same
# notice is confirmed and not stored again.
# Root; scoped to a cgroup, a pin root and files this test makes, removed at the end.
set -u

. "$(dirname "$0")/setup.sh" expiry curl # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
agent_pid=
serve_pid=

cleanup() {
	for pid in $agent_pid $serve_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

state_of() { pepctl --json show "$1" 2>/dev/null | python3 -c \
	'import json,sys; print(json.load(sys.stdin).get("state", "none"))' 2>/dev/null || echo none; }
# wait_state ID STATE SECONDS
wait_state() {
	for _ in $(seq $((10 * $3))); do [ "$(state_of "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
in_seconds() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
T=$W/tls
agent_flags=(--platform-url "https://127.0.0.1:$(free_port)" --tls-cert "$T/node.crt"
	--tls-key "$T/node.key" --platform-ca "$T/platform-ca.crt")
start_agent() { pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/trust" "$CG" "$W/agent.log" \
	"${agent_flags[@]}"; }

mkdir -p "$CG" "$W/data" "$W/late" "$W/trust"
echo 'id,value' >"$W/data/research.csv"
echo 'id,value' >"$W/late/late.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null 2>&1
"$here/tests/vectors/mktls.sh" "$T"
cp "$W/pki/root-ca.crt" "$W/trust/"
template=$here/examples/contracts/file-app-count-delete.json
pep_sign "$W/soon.json" "$template" "$W/pki" --set "endTime=\"$(in_seconds 4)\""
ID=$(python3 -c "import json; print(json.load(open('$W/soon.json'))['contractId'])")

PLATFORM=${agent_flags[1]}
start_serve() {
	: >"$W/serve.log"
	"$pep_bin/tds-platform" serve --listen "${PLATFORM#https://}" --db "$W/platform.db" \
		--cert "$T/platform.crt" --key "$T/platform.key" --ca "$T/node-ca.crt" \
		2>"$W/serve.log" &
	serve_pid=$!
	for _ in $(seq 50); do grep -q listening "$W/serve.log" && return 0; sleep 0.1; done
	return 1
}
start_serve
# count_lines PATTERN FILE
count_lines() { grep -c "$1" "$2"; }
# wait_more PATTERN FILE N SECONDS: until FILE has more than N lines with PATTERN
wait_more() {
	for _ in $(seq $((10 * $4))); do [ "$(count_lines "$1" "$2")" -gt "$3" ] && return 0; sleep 0.1; done
	return 1
}
# notices ID: how many /contractTerminate notices about ID the platform stored
notices() { "$pep_bin/tds-platform" reports --db "$W/platform.db" --contract "$1" --json |
	python3 -c 'import json,sys
print(sum(r["interface"] == "/contractTerminate" for r in json.load(sys.stdin)["received"]))'; }

check "the agent starts, reporting to the platform at $PLATFORM" start_agent
pepctl bind P-RESEARCH-CSV "$W/data" >/dev/null
pepctl bind P-LATE "$W/late" >/dev/null
check "a contract ending in 4 s is applied" pepctl apply "$W/soon.json"
check "  in execution (05)" [ "$(state_of $ID)" = 05 ]

# ---- expiry while the agent runs ----

check "at its endTime the agent terminates it by itself (06)" wait_state $ID 06 10
check "  the history says why: expired" \
	grep -q "06  expired: its endTime has come (02)" <<<"$(pepctl show $ID --history)"
check "  the product's file is deleted" [ ! -e "$W/data/research.csv" ]
check "  with a destruction proof, complete" python3 -c "import json,sys
sys.exit(not json.loads(sys.argv[1])['proof']['complete'])" "$(pepctl --json show $ID)"
for _ in $(seq 50); do grep -q "expiry notice of $ID: accepted" "$W/agent.log" && break; sleep 0.1; done
check "the platform accepted the node's notice" grep -q "expiry notice of $ID: accepted" "$W/agent.log"
out=$("$pep_bin/tds-platform" reports --db "$W/platform.db" --contract $ID)
check "  tds-platform reports: 02, signed by the node, the proof verified" \
	grep -q "/contractTerminate  $ID  from NODE00000000000001: signature and destruction proof verified" <<<"$out"
check "  the notice says 02 and carries the proof" python3 -c "import json,sys
b = [r for r in json.loads(sys.argv[1])['received'] if r['interface'] == '/contractTerminate'][0]['body']
sys.exit(not (b['erminateType'] == '02' and b['expansionItem']['destructionProof']['complete']))" \
	"$("$pep_bin/tds-platform" reports --db "$W/platform.db" --contract $ID --json)"

# ---- expiry while the agent is stopped ----

pep_sign_product "$W/late.json" "$template" "$W/pki" P-LATE --serial 9 \
	--set "endTime=\"$(in_seconds 4)\""
ID2=$(python3 -c "import json; print(json.load(open('$W/late.json'))['contractId'])")
check "a contract ending in 4 s is applied" pepctl apply "$W/late.json"
kill "$agent_pid" && wait "$agent_pid" 2>/dev/null
agent_pid=
sleep 5
check "its end came while the agent was stopped: the file is still there" [ -e "$W/late/late.csv" ]
check "the agent starts again" start_agent
check "  and terminates it at start (06, expired)" wait_state $ID2 06 5
check "  its file is deleted" [ ! -e "$W/late/late.csv" ]
check "  the history says why" grep -q "06  expired" <<<"$(pepctl show $ID2 --history)"

# ---- the platform down at expiry ----

kill "$serve_pid" && wait "$serve_pid" 2>/dev/null
serve_pid=
mkdir -p "$W/down"
echo 'id,value' >"$W/down/down.csv"
pepctl bind P-DOWN "$W/down" >/dev/null
pep_sign_product "$W/down.json" "$template" "$W/pki" P-DOWN --serial 10 \
	--set "endTime=\"$(in_seconds 3)\""
ID3=$(python3 -c "import json; print(json.load(open('$W/down.json'))['contractId'])")
refused="expiry notice of $ID3: not confirmed"
check "with the platform down, a contract ending in 3 s is applied" pepctl apply "$W/down.json"
check "  at its endTime it is terminated all the same (06)" wait_state $ID3 06 10
check "  the notice is sent again, with back-off" wait_more "$refused" "$W/agent.log" 1 10
kill "$agent_pid" && wait "$agent_pid" 2>/dev/null
agent_pid=
before=$(count_lines "$refused" "$W/agent.log")
check "the agent restarted" start_agent
check "  keeps sending it (from its store)" wait_more "$refused" "$W/agent.log" "$before" 10
check "the platform is back" start_serve
for _ in $(seq 300); do grep -q "expiry notice of $ID3: accepted" "$W/agent.log" && break; sleep 0.1; done
check "  and confirms the notice" grep -q "expiry notice of $ID3: accepted" "$W/agent.log"
check "  which it received once" [ "$(notices $ID3)" = 1 ]
check "  signed by the node, the proof verified" grep -q \
	"/contractTerminate  $ID3  from NODE00000000000001: signature and destruction proof verified" \
	<<<"$("$pep_bin/tds-platform" reports --db "$W/platform.db" --contract $ID3)"
body=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
	"SELECT body FROM received WHERE interface = ? AND contract_id = ?",
	("/contractTerminate", sys.argv[2])).fetchone()[0], end="")' "$W/platform.db" $ID3)
again=$(curl -sS --cacert "$T/platform-ca.crt" --cert "$T/node.crt" --key "$T/node.key" \
	--data-binary "$body" "$PLATFORM/contractTerminate" 2>&1)
check "the same notice sent again (its answer lost): confirmed" grep -q '"status":"0"' <<<"$again"
check "  and not stored twice" [ "$(notices $ID3)" = 1 ]

tap_done
