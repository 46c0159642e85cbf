#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Expiry: a contract ends at its endTime by the agent alone (terminated on expiry, 02): its
# files deleted with a destruction proof, state 06 with the cause, and the platform told
# (tds-platform serve gets the node's signed notice with the proof). A contract whose end
# came while the agent was stopped is terminated when the agent starts again.
# Root; scoped to a cgroup, a pin root and files this test makes, removed at the end.
set -u

here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUTPUT:-.output}
. "$here/tests/tap.sh"

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root (BPF, cgroups)"; exit 0; fi
. "$here/scripts/lib.sh"
cgroot=$(cgroup2_mount)
bpffs=$(bpffs_mount)
[ -n "$cgroot" ] || { echo "1..0 # SKIP cgroup v2 is not mounted"; exit 0; }
[ -n "$bpffs" ] || { echo "1..0 # SKIP bpffs is not mounted (scripts/kernel-setup.sh)"; exit 0; }
for tool in python3 openssl; do
	command -v $tool >/dev/null || { echo "1..0 # SKIP $tool missing"; exit 0; }
done

W=$(mktemp -d /tmp/pep-expiry-test.XXXXXX)
CG="$cgroot/pep-test-$$"
PINS="$bpffs/pep-test-$$"
SOCK="$W/admin.sock"
agent_pid=
serve_pid=

cleanup() {
	for pid in $agent_pid $serve_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pepctl() { "$pep_bin/pepctl" --socket "$SOCK" "$@"; }
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
pid_path='contractPolicies.%sPolicies[%d].subjectInfo.dataProductId="P-LATE"'
pep_sign "$W/soon.json" "$template" "$W/pki" --set "endTime=\"$(in_seconds 4)\""
ID=$(python3 -c "import json; print(json.load(open('$W/soon.json'))['contractId'])")

PLATFORM=${agent_flags[1]}
"$pep_bin/tds-platform" serve --listen "${PLATFORM#https://}" --db "$W/platform.db" \
	--cert "$T/platform.crt" --key "$T/platform.key" --ca "$T/node-ca.crt" 2>"$W/serve.log" &
serve_pid=$!
for _ in $(seq 50); do grep -q listening "$W/serve.log" && break; sleep 0.1; done

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

pep_sign "$W/late.json" "$template" "$W/pki" --serial 9 --set "endTime=\"$(in_seconds 4)\"" \
	--set "$(printf "$pid_path" permission 0)" --set "$(printf "$pid_path" prohibition 0)" \
	--set "$(printf "$pid_path" obligation 0)" --set "$(printf "$pid_path" obligation 1)"
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

tap_done
