#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A contract replaced by new versions while programs open its product in loops: no open is
# ever admitted that neither version allows, and once the last version is applied the old
# version's application is refused. The same for a contract with egress rules, while a
# holder sends to old-only, new-only and never-allowed addresses. Root; own cgroup, pins and
# files, removed at the end.
set -u
. "$(dirname "$0")/setup.sh" replace # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
agent_pid=
loops=()
cleanup() {
	[ ${#loops[@]} -gt 0 ] && kill "${loops[@]}" 2>/dev/null
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	pep_remove_cgroup "$CG" # with the agent's workload cgroups under it
	rm -rf "$PINS" "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

# version APP OUT: the contract's one permission, read by APP only, 100000 uses; no holder
# rules.
version() {
	pep_sign "$2" "$here/examples/contracts/file-app-count-delete.json" "$W/pki" \
		--set 'contractPolicies.prohibitionPolicies=[]' \
		--set 'contractPolicies.obligationPolicies=[]' \
		--set "contractPolicies.permissionPolicies[0].constraints[0].constraintValue=\"$1\"" \
		--set 'contractPolicies.permissionPolicies[0].constraints[1].constraintValue="100000"'
}

# opener APP NAME: opens the product in a loop; one line per admitted open in W/NAME.ok
opener() {
	while :; do
		("$1" "$W/data/p.csv" >/dev/null; exit $?) 2>/dev/null && echo >>"$W/$2.ok"
	done
}

mkdir -p "$CG" "$W/data"
echo "x" >"$W/data/p.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
version /usr/bin/cat "$W/v1.json"
version /usr/bin/tail "$W/v2.json"
pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log"
pepctl bind P-RESEARCH-CSV "$W/data" >/dev/null
check "version 1 (cat may read) applied" eval 'pepctl apply "$W/v1.json" >/dev/null'

opener /usr/bin/cat cat & loops+=($!)
opener /usr/bin/tail tail & loops+=($!)
opener /usr/bin/head head & loops+=($!)
ok=0
for i in $(seq 10); do
	pepctl apply "$W/v2.json" >/dev/null && pepctl apply "$W/v1.json" >/dev/null && ok=$((ok + 1))
done
pepctl apply "$W/v2.json" >/dev/null && ok=$((ok + 1))
kill "${loops[@]}" 2>/dev/null
wait "${loops[@]}" 2>/dev/null
loops=()
check "21 replacements while cat, tail and head open the product in loops" [ $ok -eq 11 ]
check "both versions were in force during the churn (cat and tail were admitted)" \
	[ -s "$W/cat.ok" ] && [ -s "$W/tail.ok" ]
check "head, which neither version allows, was never admitted" [ ! -e "$W/head.ok" ]
pep_cat "$W/data/p.csv" >/dev/null
check "after the last replacement, cat (version 1 only) is refused" [ $? -eq 137 ]
check "and tail (version 2) reads" eval '/usr/bin/tail "$W/data/p.csv" >/dev/null'
check "the store holds every version" eval 'pepctl list | grep -q " v22 "'

# Egress: version A allows only 127.0.0.1; version B refuses 127.0.0.1 and 127.0.0.3. A
# holder (python3 read the product) sends to .1 (A only), .2 (B only), .3 (neither).
egress() {
	pep_sign "$2" "$here/examples/contracts/file-app-count-delete.json" "$W/pki" \
		--serial 12 --set 'contractPolicies.obligationPolicies=[]' \
		--set 'contractPolicies.permissionPolicies[0].subjectInfo.dataProductId="P-NET"' \
		--set 'contractPolicies.prohibitionPolicies[0].subjectInfo.dataProductId="P-NET"' \
		--set 'contractPolicies.permissionPolicies[0].constraints[0].constraintValue="/usr/bin/python3"' \
		--set 'contractPolicies.permissionPolicies[0].constraints[1].constraintValue="100000"' \
		--set "contractPolicies.prohibitionPolicies[0].constraints[0].constraintOperator=\"$1\"" \
		--set "contractPolicies.prohibitionPolicies[0].constraints[0].constraintValue=\"$3\""
}
egress isAnyOf "$W/egress-a.json" "[127.0.0.1/32]"
egress isNoneOf "$W/egress-b.json" "[127.0.0.1/32, 127.0.0.3/32]"
mkdir -p "$W/net"
echo "z" >"$W/net/n.csv"
pepctl bind P-NET "$W/net" >/dev/null
check "a contract with egress rules is applied" eval 'pepctl apply "$W/egress-a.json" >/dev/null'
pep_in_cgroup "$CG" /usr/bin/python3 -c '
import os, socket, sys
open(sys.argv[1]).read()  # a holder from here on
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = [0, 0, 0]
while not os.path.exists(sys.argv[2]):
    for i, ip in enumerate(("127.0.0.1", "127.0.0.2", "127.0.0.3")):
        try:
            s.sendto(b"x", (ip, 9))
            sent[i] += 1
        except PermissionError:
            pass
open(sys.argv[3], "w").write("%d %d %d\n" % tuple(sent))
' "$W/net/n.csv" "$W/stop" "$W/sent" & loops+=($!)
ok=0
for i in $(seq 10); do
	pepctl apply "$W/egress-b.json" >/dev/null && pepctl apply "$W/egress-a.json" >/dev/null &&
		ok=$((ok + 1))
done
touch "$W/stop"
wait "${loops[@]}" 2>/dev/null
loops=()
read -r to_a to_b to_c <"$W/sent"
echo "# sent through: 127.0.0.1 $to_a, 127.0.0.2 $to_b, 127.0.0.3 $to_c"
check "20 replacements of the egress rules while a holder sends" [ $ok -eq 10 ]
check "both versions were in force (127.0.0.1 and 127.0.0.2 were reached)" \
	[ "$to_a" -gt 0 ] && [ "$to_b" -gt 0 ]
check "127.0.0.3, which neither version allows, was never reached" [ "$to_c" -eq 0 ]

# Expiry: a contract whose endTime comes in 3 s; the kernel refuses from then on by itself.
end=$(date -u -d "+3 seconds" +%Y-%m-%dT%H:%M:%SZ)
pep_sign "$W/short.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki" \
	--serial 11 --set "endTime=\"$end\"" \
	--set 'contractPolicies.permissionPolicies[0].subjectInfo.dataProductId="P-SHORT"' \
	--set 'contractPolicies.prohibitionPolicies=[]' --set 'contractPolicies.obligationPolicies=[]' \
	--set 'contractPolicies.permissionPolicies[0].constraints[0].constraintValue="/usr/bin/cat"'
mkdir -p "$W/short"
echo "y" >"$W/short/s.csv"
pepctl bind P-SHORT "$W/short" >/dev/null
check "a contract ending in 3 s is applied" eval 'pepctl apply "$W/short.json" >/dev/null'
check "before its end, cat reads" eval 'pep_cat "$W/short/s.csv" >/dev/null'
sleep 4
pep_cat "$W/short/s.csv" >/dev/null
check "after its end, the kernel refuses cat (expired) with no agent action" [ $? -eq 137 ]

tap_done
