#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The main job: a contract signed by its parties (keys made here by the openssl CLI), verified
# and planned by the node, then enforced by the agent against real programs, and terminated
# with a signed destruction proof. Root. Everything it makes (cgroup, pins, files) is its own
# and removed at the end.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-.output}
. "$here/scripts/lib.sh"

W=$(mktemp -d /tmp/pep-demo.XXXXXX)
CG="$(cgroup2_mount)/pep-demo-$$"
PINS="$(bpffs_mount)/pep-demo-$$"
SOCK="$W/admin.sock"
ID=C391310000MA1K00001B11002026010100000000000006S
agent_pid=

cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	pep_remove_cgroup "$CG" || true # with the agent's workload cgroups under it
	rm -rf "$PINS" "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
pepctl() { "$pep_bin/pepctl" --socket "$SOCK" "$@"; }
read_csv() { /usr/bin/python3 -c "import sys; sys.stdout.write(open('$W/data/research.csv').read())"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it loads BPF programs)" >&2; exit 1; }

say "A provider and a consumer sign a contract: /usr/bin/python3 and /usr/bin/sqlite3 may read"
echo "the product P-RESEARCH-CSV 5 times, holders may not send it anywhere, delete at the end."
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
pep_sign "$W/contract.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki"

say "The node checks it without the agent: verdict and plan (what it does with each clause)"
run "$pep_bin/pepctl" verify --trust "$W/pki/root-ca.crt" "$W/contract.json"

say "Someone raises the count to 500 after signing: the node refuses the contract"
sed 's/"constraintValue": "5"/"constraintValue": "500"/' "$W/contract.json" >"$W/forged.json"
"$pep_bin/pepctl" verify --trust "$W/pki/root-ca.crt" "$W/forged.json" | grep -v "^  hash" || true

say "The agent starts, probes the kernel and enforces the contract on a generated CSV"
mkdir -p "$CG" "$W/data"
printf 'patient,age,diagnosis\n1,54,J45\n2,61,E11\n' >"$W/data/research.csv"
pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log"
run pepctl status
run pepctl bind P-RESEARCH-CSV "$W/data"
run pepctl apply "$W/contract.json"

say "The listed application reads the data (use 1 of 5)"
run read_csv

say "Another program is killed before it can read a byte"
printf '$ cat %s\n' "$W/data/research.csv"
pep_cat "$W/data/research.csv" || echo "(cat: killed, status $?)"

say "A holder of the data may not send it out: its connection is refused"
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$W/port" &
listener=$!
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
pep_in_cgroup "$CG" /usr/bin/python3 -c "
import socket
data = open('$W/data/research.csv').read()
try:
    socket.create_connection(('127.0.0.1', $(cat "$W/port")), timeout=5).sendall(data.encode())
    print('sent: the guard failed')
except PermissionError as e:
    print('python3 (holding the data):', e)"
kill "$listener"

say "A copy made by the allowed application is a derived copy: protected like the original"
run /usr/bin/python3 -c "import shutil; shutil.copy('$W/data/research.csv', '$W/copy.csv')" \
	</dev/null >/dev/null 2>&1
pep_cat "$W/copy.csv" >/dev/null || echo "cat copy.csv: killed, status $?"

say "Uses 4 and 5 are admitted, then the count has run out"
for i in 4 5 6; do
	if read_csv >/dev/null 2>&1; then echo "read $i: admitted"; else echo "read $i: killed (count used up)"; fi
done 2>/dev/null
run pepctl show "$ID"

say "The agent is killed with -9: enforcement goes on, then a new agent adopts it"
{ kill -9 "$agent_pid" && wait "$agent_pid"; } 2>/dev/null || true
pep_cat "$W/data/research.csv" >/dev/null || echo "cat with no agent running: killed, status $?"
pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log"
run pepctl show "$ID"

say "What the kernel decided (records)"
pepctl records --contract "$ID" | tail -6

say "The contract is terminated: every file and the copy are deleted, with a signed proof"
run pepctl terminate "$ID"
ls "$W/data" "$W/copy.csv" 2>&1 | sed 's/^/  /'
run pepctl show "$ID" --history

say "Done: the demo removes its cgroup, pins and files"
