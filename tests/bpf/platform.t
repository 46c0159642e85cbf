#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The platform loop end to end, over mutual TLS on loopback: tds-platform pushes a contract
# signed by the test parties to the agent, the agent enforces it on real programs, the platform
# terminates it and gets the destruction proof. Every unauthorised push or notice is refused
# with the node's state unchanged. tds-platform serve takes a node's report and notice.
# Root; scoped to a cgroup, a pin root and files this test makes, removed at the end.
set -u

. "$(dirname "$0")/setup.sh" platform curl # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
agent_pid=
serve_pid=

cleanup() {
	for pid in $agent_pid $serve_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

tds() { "$pep_bin/tds-platform" "$@"; }
T=$W/tls
as_platform=(--cert "$T/platform.crt" --key "$T/platform.key" --ca "$T/node-ca.crt")
# post AS PATH FILE: the body in FILE from curl with the client certificate AS (none: "-").
post() {
	local who=()
	[ "$1" != - ] && who=(--cert "$T/$1.crt" --key "$T/$1.key")
	curl -sS --cacert "$T/node-ca.crt" "${who[@]}" --data-binary "@$3" "$AGENT$2" 2>&1
}
state_of() { pepctl --json show "$1" 2>/dev/null | python3 -c \
	'import json,sys; print(json.load(sys.stdin).get("state", "none"))' 2>/dev/null || echo none; }
unchanged() { [ "$(state_of "$1")" = "$2" ] && [ -e "$W/data/research.csv" ]; }

ID=C391310000MA1K00001B11002026010100000000000006S
mkdir -p "$CG" "$W/data" "$W/trust"
printf 'id,value\n1,secret\n' >"$W/data/research.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null 2>&1
"$here/tests/vectors/mktls.sh" "$T"
# Contracts are signed by the parties' CAs; the platform signs notices with its own
# certificate: the node trusts both.
cp "$W/pki/root-ca.crt" "$T/platform-ca.crt" "$W/trust/"
template=$here/examples/contracts/file-app-count-delete.json
pep_sign "$W/core.json" "$template" "$W/pki"

PORT=$(free_port)
AGENT=https://127.0.0.1:$PORT
check "the agent starts with its platform API on $AGENT" \
	pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/trust" "$CG" "$W/agent.log" \
	--listen "127.0.0.1:$PORT" --tls-cert "$T/node.crt" --tls-key "$T/node.key" \
	--platform-ca "$T/platform-ca.crt" --platform-ids "TDSPLATFORM0000001, TDSPLATFORM0000002"
quiet pepctl bind P-RESEARCH-CSV "$W/data"

# ---- pushes that must be refused ----

out=$(post - /contractExecution "$W/core.json")
check "no client certificate: refused in the TLS handshake, no answer" \
	[ $? -ne 0 ] && grep -q "^curl: " <<<"$out" && ! grep -q status <<<"$out"
check "  nothing applied" unchanged $ID none

out=$(tds push "$AGENT" "$W/core.json" --cert "$T/platform-other-ca.crt" \
	--key "$T/platform-other-ca.key" --ca "$T/node-ca.crt" 2>&1)
check "a platform id certified by another CA: refused (TLS, unknown CA), exit 1" \
	[ $? -ne 0 ] && grep -q "TLS: .*unknown ca" <<<"$out"
check "  nothing applied" unchanged $ID none

out=$(tds push "$AGENT" "$W/core.json" --cert "$T/platform-unlisted.crt" \
	--key "$T/platform-unlisted.key" --ca "$T/node-ca.crt" 2>&1)
check "the platform CA's certificate for an id not in platform_ids: refused in TLS" \
	[ $? -ne 0 ] && grep -q "TLS: " <<<"$out"
check "  the agent says who and why" grep -q "CN TDSPLATFORM0000009 is not among the allowed" \
	"$W/agent.log"
check "  nothing applied" unchanged $ID none

sed 's/"constraintValue": "5"/"constraintValue": "500"/' "$W/core.json" >"$W/tampered.json"
out=$(tds push "$AGENT" "$W/tampered.json" "${as_platform[@]}" --db "$W/platform.db" 2>&1)
check "a contract changed after signing: status 1, the signature named, exit 1" \
	[ $? -eq 1 ] && grep -q "signatories\[0\].signature: signature does not verify" <<<"$out"
check "  nothing applied" unchanged $ID none

# ---- the push, and what it enforces ----

out=$(tds push "$AGENT" "$W/core.json" "${as_platform[@]}" --db "$W/platform.db")
check "the platform pushes the signed contract: applied, version 1" \
	[ "$out" = "applied: contract $ID, version 1" ]
check "  the node has it in execution (05)" [ "$(state_of $ID)" = 05 ]
out=$(/usr/bin/python3 -c "print(open('$W/data/research.csv').read(), end='')")
check "the listed application (/usr/bin/python3) reads the data" \
	[ "$out" = "$(printf 'id,value\n1,secret')" ]
pep_cat "$W/data/research.csv" >/dev/null
check "another program (cat) is killed" [ $? -eq 137 ]

out=$(tds push "$AGENT" "$W/core.json" "${as_platform[@]}" 2>&1)
check "the same contract again is a replay: refused, exit 1" \
	[ $? -eq 1 ] && grep -q "replay: this is version 1" <<<"$out"
check "  still version 1 in execution" \
	grep -q "v1  05" <<<"$(pepctl list)"

# ---- notices that must be refused ----

notice() { "$here/tests/vectors/notice.py" "$W/core.json" "$1" "${@:2}"; }
notice "$W/notice.json" --key "$T/platform.key" --cert "$T/platform.crt"
sed 's/"issuerId": "TDSPLATFORM0000001"/"issuerId": "TDSPLATFORM0000002"/' "$W/notice.json" \
	>"$W/changed.json"
out=$(post platform /contractTerminate "$W/changed.json")
check "a notice changed after signing: status 1, the signature named" \
	grep -q '"path":"signature","message":"signature does not verify' <<<"$out"
check "  the contract stays in execution, its files in place" unchanged $ID 05

S=91440300MA5G00002C # a party of the PKI, but not of this contract
notice "$W/stranger.json" --key "$W/pki/$S.key" --cert "$W/pki/$S.crt"
out=$(post platform /contractTerminate "$W/stranger.json")
check "a notice from someone who is neither a party nor the sending platform: refused" \
	grep -q "$S is neither a signatory" <<<"$out"
check "  the contract stays in execution" unchanged $ID 05

notice "$W/foreign.json" --key "$T/platform-other-ca.key" --cert "$T/platform-other-ca.crt"
out=$(post platform /contractTerminate "$W/foreign.json")
check "a notice signed with a certificate the trust store does not know: refused" \
	grep -q '"path":"certificate","message":"does not chain' <<<"$out"
check "  the contract stays in execution" unchanged $ID 05

out=$(tds terminate "$AGENT" C391310000MA1K00001B11002026010100000000000007Q \
	"${as_platform[@]}" --db "$W/platform.db" 2>&1)
check "terminating a contract the platform never pushed: refused before anything is sent" \
	[ $? -eq 2 ] && grep -q "not pushed by this platform" <<<"$out"

# ---- the independent signer's notice ends a second contract; its replay is refused ----

pep_sign_product "$W/second.json" "$template" "$W/pki" P-SECOND --serial 9
ID2=$(python3 -c "import json; print(json.load(open('$W/second.json'))['contractId'])")
mkdir -p "$W/second"
echo data >"$W/second/second.csv"
quiet pepctl bind P-SECOND "$W/second"
quiet tds push "$AGENT" "$W/second.json" "${as_platform[@]}" --db "$W/platform.db"
"$here/tests/vectors/notice.py" "$W/second.json" "$W/second-notice.json" \
	--key "$T/platform.key" --cert "$T/platform.crt"
out=$(post platform /contractTerminate "$W/second-notice.json")
check "a notice signed by openssl (tests/vectors/notice.py) terminates: status 0, with a proof" \
	python3 -c "import json,sys; r=json.loads(sys.argv[1])
sys.exit(not (r['status'] == '0' and r['destructionProof']['complete']))" "$out"
check "  the second product's file is gone" [ ! -e "$W/second/second.csv" ]
out=$(post platform /contractTerminate "$W/second-notice.json")
check "the same notice again is a replay: refused" \
	grep -q '"status":"1".*replay: this notice was accepted before' <<<"$out"
check "  the first contract is untouched" unchanged $ID 05

# ---- the platform terminates the contract ----

out=$(tds terminate "$AGENT" $ID "${as_platform[@]}" --db "$W/platform.db")
check "tds-platform terminate: the node ends the contract" grep -q "^terminated: contract $ID" <<<"$out"
check "  the destruction proof is complete and its signature verifies" \
	grep -q "destruction proof (complete, signature verifies)" <<<"$out"
check "  it lists the deleted file with its SM3 digest" \
	grep -q "deleted $W/data/research.csv sm3 [0-9a-f]\{64\}" <<<"$out"
check "the files are gone" [ ! -e "$W/data/research.csv" ]
check "the node records state 06 and why" \
	grep -q "06  terminated early (01) by TDSPLATFORM0000001" <<<"$(pepctl show $ID --history)"
out=$(tds terminate "$AGENT" $ID "${as_platform[@]}" --db "$W/platform.db" 2>&1)
check "terminating it again: refused, exit 1" [ $? -eq 1 ] && grep -q "contractId\|replay" <<<"$out"

# ---- the platform's side: what nodes send ----

SPORT=$(free_port)
"$pep_bin/tds-platform" serve --listen "127.0.0.1:$SPORT" --db "$W/platform.db" \
	"${as_platform[@]}" 2>"$W/serve.log" &
serve_pid=$!
for _ in $(seq 50); do grep -q listening "$W/serve.log" && break; sleep 0.1; done
PLATFORM=https://127.0.0.1:$SPORT
as_node() { curl -sS --cacert "$T/platform-ca.crt" --cert "$T/node.crt" --key "$T/node.key" \
	--data-binary "@$1" "$PLATFORM$2" 2>&1; }
printf '{"contractName": "x", "contractId": "%s", "reportTime": "%s", "executedStrategy":
	{"executedStrategyId": "p1", "executedActions": ["read"], "executionResult": "01"}}' \
	$ID "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$W/report.json"
check "serve: a node's execution report is stored" \
	grep -q '"status":"0"' <<<"$(as_node "$W/report.json" /contractExecution)"
notice "$W/node-notice.json" --key "$T/node.key" --cert "$T/node.crt" --type 02
check "serve: a notice signed by the node that sends it is verified and stored" \
	grep -q '"status":"0"' <<<"$(as_node "$W/node-notice.json" /contractTerminate)"
sed 's/"issuerId": "NODE00000000000001"/"issuerId": "NODE00000000000002"/' \
	"$W/node-notice.json" >"$W/node-changed.json"
check "serve: a notice changed after signing is refused" \
	grep -q "signature does not verify" <<<"$(as_node "$W/node-changed.json" /contractTerminate)"
out=$(curl -sS --cacert "$T/platform-ca.crt" --cert "$T/platform.crt" --key "$T/platform.key" \
	--data-binary "@$W/report.json" "$PLATFORM/contractExecution" 2>&1)
check "serve: a client that is not a node (another CA) is refused in TLS" \
	[ $? -ne 0 ] && ! grep -q status <<<"$out" && grep -q "refused a client" "$W/serve.log"
out=$(tds reports --db "$W/platform.db" --contract $ID)
check "reports lists what was accepted, with its verdict" \
	[ "$(grep -c . <<<"$out")" = 2 ] && grep -q "/contractExecution  $ID  from NODE00000000000001: unsigned" <<<"$out" &&
	grep -q "/contractTerminate  $ID  from NODE00000000000001: signature verified" <<<"$out"
check "reports --json carries the bodies" python3 -c "import json,sys
r = json.loads(sys.argv[1]); sys.exit(r['received'][1]['body']['erminateType'] != '02')" \
	"$(tds reports --db "$W/platform.db" --json)"

tap_done
