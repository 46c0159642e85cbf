#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The agent end to end, with real programs: bind a product, apply signed contracts, and check
# what python3, cat, cp and a holder's sockets can and cannot do; kill -9 the agent and check
# enforcement goes on; terminate and check the files and copies are gone with a proof that
# verifies. Root; scoped to a cgroup, a pin root and files this test makes, removed at the end.
set -u

. "$(dirname "$0")/setup.sh" agent # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
agent_pid=

cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	# processes the test left in its cgroup and the workload cgroups under it, then the
	# cgroups, the pins and the files
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE


start_agent() { pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log"; }
in_cgroup() { pep_in_cgroup "$CG" "$@"; }
sign() { local dest=$1 template=$2; shift 2; pep_sign "$dest" "$template" "$W/pki" "$@"; }
cat_file() { pep_cat "$1"; }

read_with() { "$@" -c "import sys; sys.stdout.write(open('$W/data/research.csv').read())"; }

ID=C391310000MA1K00001B11002026010100000000000006S
mkdir -p "$CG" "$W/data"
printf 'id,value\n1,secret\n' >"$W/data/research.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
sign "$W/core.json" "$here/examples/contracts/file-app-count-delete.json"

check "agent starts, probes a backend and serves its admin socket" start_agent

out=$(pepctl apply "$W/core.json" 2>&1)
check "apply of an unbound product is refused, naming the product" \
	grep -q "P-RESEARCH-CSV.*not bound" <<<"$out"

out=$(pepctl bind P-RESEARCH-CSV "$W/data" "$W/missing.csv" 2>&1)
check "bind to a missing file is refused, naming it, and binds nothing" \
	grep -q "missing.csv: No such file" <<<"$out"
check "bind the product to a directory" quiet pepctl bind P-RESEARCH-CSV "$W/data"
check "apply the signed contract" quiet pepctl apply "$W/core.json"

sign "$W/forged.json" "$here/examples/contracts/file-app-count-delete.json"
sed -i 's/"constraintValue": "5"/"constraintValue": "500"/' "$W/forged.json"
out=$(pepctl apply "$W/forged.json" 2>&1)
check "a contract changed after signing is refused" grep -q "does not verify" <<<"$out"

sign "$W/nobin.json" "$here/examples/contracts/file-app-count-delete.json" --serial 9 \
	--set 'contractPolicies.permissionPolicies[0].constraints[0].constraintValue="[/usr/bin/no-such-tool]"'
out=$(pepctl apply "$W/nobin.json" 2>&1)
check "a contract naming a binary that does not exist is refused, naming it" \
	grep -q "application /usr/bin/no-such-tool: No such file" <<<"$out"
check "... nothing of it was applied, and the agent keeps running" \
	eval '! pepctl list | grep -q 00000000009 && pepctl status >/dev/null'

check "the listed application (/usr/bin/python3) reads the data" \
	[ "$(read_with /usr/bin/python3)" = "$(printf 'id,value\n1,secret')" ]

out=$(cat_file "$W/data/research.csv")
rc=$?
check "another program (cat) is killed before it prints a byte" [ $rc -eq 137 ] && [ -z "$out" ]

# (Written by the listed application: any other writer in the directory would be killed.)
/usr/bin/python3 -c "open('$W/data/later.csv', 'w').write('new')" </dev/null >/dev/null 2>&1
out=$(cat_file "$W/data/later.csv")
check "a file created later in the bound directory is protected too" [ $? -eq 137 ]

# A holder may not send anywhere (prohibition of distribute, isNoneOf 0.0.0.0/0).
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(64)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$W/port" &
listener=$!
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
port=$(cat "$W/port")
connect='import socket,sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5); print("connected")
except PermissionError: print("refused")'
out=$(in_cgroup /usr/bin/python3 -c "open('$W/data/research.csv').read()
$connect" "$port")
check "a holder's connection out is refused (EPERM)" [ "$out" = refused ]
out=$(in_cgroup /usr/bin/python3 -c "$connect" "$port")
check "a process that holds no data connects" [ "$out" = connected ]

# pepctl run: the agent performs the workload's opens, decided by the kernel's own rule and
# counters (file_decide); a refusal is a plain "Permission denied", not a kill.
out=$(pepctl run --contract "$ID" -- /usr/bin/cat "$W/data/research.csv" 2>&1)
rc=$?
check "pepctl run: another program (cat) gets \"Permission denied\", exit 1, no data" \
	eval '[ $rc -eq 1 ] && grep -q "Permission denied" <<<"$out" && ! grep -q secret <<<"$out"'
out=$(pepctl run --contract "$ID" -- /usr/bin/python3 -c "import sys
data = open('$W/data/research.csv').read(); sys.stdout.write(data)
open('$W/workload-copy.csv', 'w').write(data)")
check "pepctl run: the listed application (python3) reads the data" \
	[ "$out" = "$(printf 'id,value\n1,secret')" ]
check "... and that is one use, on the same counter: 3 counted" \
	grep -q "3 counted" <<<"$(pepctl show $ID)"
cat_file "$W/workload-copy.csv" >/dev/null
check "... and the file it wrote is a derived copy: cat of it is killed" [ $? -eq 137 ]
out=$(pepctl run --contract "$ID" -- /usr/bin/python3 -c "$connect" "$port")
check "pepctl run: the workload's connection out is refused, as a holder's" [ "$out" = refused ]
kill "$listener" 2>/dev/null

# A copy the allowed application makes is a derived copy, protected like the original.
# (Its stdout is not a file: a holder's open writable files are derived copies too.)
/usr/bin/python3 -c "import shutil; shutil.copy('$W/data/research.csv', '$W/copy.csv')" \
	</dev/null >/dev/null 2>&1
cat_file "$W/copy.csv" >/dev/null
check "a copy made by a holder is protected: cat of the copy is killed" [ $? -eq 137 ]

# 4 uses so far; 1 more is admitted, then none.
admitted=0
for _ in 1 2 3; do read_with /usr/bin/python3 >/dev/null 2>&1 && admitted=$((admitted + 1)); done
check "count lteq 5: exactly 5 uses in all, the 6th open is killed" [ $admitted -eq 1 ]
check "pepctl show says no use is left" grep -q "0 left" <<<"$(pepctl show $ID)"

{ kill -9 "$agent_pid" && wait "$agent_pid"; } 2>/dev/null # the shell's notice, not an error
agent_pid=
cat_file "$W/data/research.csv" >/dev/null
check "with the agent killed (-9), a forbidden open is still refused" [ $? -eq 137 ]
check "a restarted agent adopts the pinned state" start_agent
check "counts survived the restart" grep -q "5 counted" <<<"$(pepctl show $ID)"

# 64 parallel openers against count lteq 10: exactly 10 admitted.
mkdir -p "$W/par"
printf 'x\n' >"$W/par/p.csv"
pep_sign_product "$W/par.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki" \
	P-PAR --serial 8 \
	--set 'contractPolicies.permissionPolicies[0].constraints[0].constraintValue="/usr/bin/cat"' \
	--set 'contractPolicies.permissionPolicies[0].constraints[1].constraintValue="10"'
quiet pepctl bind P-PAR "$W/par" && quiet pepctl apply "$W/par.json"
openers=()
for i in $(seq 64); do
	(cat_file "$W/par/p.csv" >/dev/null && echo "$i" >>"$W/par-ok") &
	openers+=($!)
done
wait "${openers[@]}" # not the agent, also a child of this shell
check "64 parallel openers against count 10: exactly 10 admitted" \
	[ "$(wc -l <"$W/par-ok")" -eq 10 ]

C2=$(sed 's/^.*"contractId": "\([^"]*\)".*$/\1/;t;d' "$W/par.json")
quiet pepctl terminate "$C2"
check "termination of a second contract leaves the first one's files alone" \
	[ -f "$W/data/research.csv" ]

pepctl --json records >"$W/records.json"
check "records show the refused cat with its contract and reason" \
	python3 -c "import json,sys; r=json.load(open('$W/records.json'))['records']
sys.exit(not any(x.get('comm')=='cat' and x['verdict']=='deny' and x['contract']=='$ID'
                 and x['reason']=='application not allowed' for x in r))"

pepctl run --contract "$ID" -- /usr/bin/sleep 60 &
workload=$!
for _ in $(seq 50); do grep -qs . "$CG"/pep/*/cgroup.procs && break; sleep 0.1; done
pepctl --json terminate "$ID" >"$W/terminated.json"
wait "$workload"
check "termination kills the contract's running workload (pepctl run exits 137)" [ $? -eq 137 ]
check "... and removes the workload cgroups" [ -z "$(find "$CG/pep" -mindepth 1 -type d)" ]
check "termination removes the files, the file created later and the copies" \
	eval '[ ! -e "$W/data/research.csv" ] && [ ! -e "$W/data/later.csv" ] &&
	      [ ! -e "$W/copy.csv" ] && [ ! -e "$W/workload-copy.csv" ]'
pep_proof_split "$W/terminated.json" "$W"
check "the destruction proof lists each file with its digest and is complete" \
	[ "$(cat "$W/proof.paths")" = "copy.csv later.csv research.csv workload-copy.csv complete" ]
check "the destruction proof's signature verifies with openssl" pep_proof_verifies "$W"
check "the contract is terminated (06) in the store, with its history" \
	grep -q "06  terminated by the operator" <<<"$(pepctl show $ID --history)"

tap_done
