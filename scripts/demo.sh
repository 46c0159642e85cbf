#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The main job: a contract signed by its parties (keys made here by the openssl CLI), verified
# and planned by the node, pushed by the reference platform (tds-platform) over mutual TLS,
# enforced by the agent against real programs, and terminated from the platform with a signed
# destruction proof; the platform lists what the node sent it. All on loopback, certificates
# made fresh. Root. Everything it makes (cgroup, pins, files, processes) is its own and
# removed at the end.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-.output}
. "$here/scripts/lib.sh"

W=$(mktemp -d /tmp/pep-demo.XXXXXX)
CG="$(cgroup2_mount)/pep-demo-$$"
PINS="$(bpffs_mount)/pep-demo-$$"
SOCK="$W/admin.sock"
ID=C391310000MA1K00001B11002026010100000000000006S
T=$W/tls
agent_pid=
platform_pid=

cleanup() {
	for pid in $agent_pid $platform_pid; do { kill "$pid" && wait "$pid"; } 2>/dev/null || true; done
	pep_remove_cgroup "$CG" || true # with the agent's workload cgroups under it
	rm -rf "$PINS" "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
tds() { "$pep_bin/tds-platform" "$@"; }
as_platform=(--cert "$T/platform.crt" --key "$T/platform.key" --ca "$T/node-ca.crt" --db "$W/platform.db")
# The agent with its platform API (only the platform's certificate is served) and the
# platform it reports to; contracts' and notices' signers in its trust directory.
start_agent() {
	pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/trust" "$CG" "$W/agent.log" \
		--listen "127.0.0.1:$AGENT_PORT" --platform-ids TDSPLATFORM0000001 \
		--tls-cert "$T/node.crt" --tls-key "$T/node.key" --platform-ca "$T/platform-ca.crt" \
		--platform-url "$PLATFORM" --report-interval-ms 1000
}
read_csv() { /usr/bin/python3 -c "import sys; sys.stdout.write(open('$W/data/research.csv').read())"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it loads BPF programs)" >&2; exit 1; }
# The demo's output goes through a pipe, also when it is redirected to a file: the listed
# application prints the data, so a file it writes to becomes a derived copy of the product
# (docs/file-guard.md), and the exec check would then stop every unlisted program the demo
# starts with that file still open as its stdout.
exec > >(cat) 2>&1

say "A provider and a consumer sign a contract: /usr/bin/python3 and /usr/bin/sqlite3 may read"
echo "the product P-RESEARCH-CSV 5 times, holders may not send it anywhere, delete at the end."
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
pep_sign "$W/contract.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki"

say "The node checks it without the agent: verdict and plan (what it does with each clause)"
run "$pep_bin/pepctl" verify --trust "$W/pki/root-ca.crt" "$W/contract.json"

say "Someone raises the count to 500 after signing: the node refuses the contract"
sed 's/"constraintValue": "5"/"constraintValue": "500"/' "$W/contract.json" >"$W/forged.json"
"$pep_bin/pepctl" verify --trust "$W/pki/root-ca.crt" "$W/forged.json" | grep -v "^  hash" || true

say "The platform and the node get certificates (a throw-away TLS PKI, tests/vectors/mktls.sh)"
"$here/tests/vectors/mktls.sh" "$T"
mkdir -p "$W/trust"
cp "$W/pki/root-ca.crt" "$T/platform-ca.crt" "$W/trust/"
echo "platform TDSPLATFORM0000001 and node NODE00000000000001, each known to the other's CA"

say "The reference platform starts on loopback: it takes the nodes' reports and notices"
PLATFORM_PORT=$(free_port)
AGENT_PORT=$(free_port)
PLATFORM=https://127.0.0.1:$PLATFORM_PORT
AGENT=https://127.0.0.1:$AGENT_PORT
printf '$ tds-platform serve --listen 127.0.0.1:%s --db platform.db ... &\n' "$PLATFORM_PORT"
"$pep_bin/tds-platform" serve --listen "127.0.0.1:$PLATFORM_PORT" "${as_platform[@]}" 2>"$W/platform.log" &
platform_pid=$!
for _ in $(seq 50); do grep -q listening "$W/platform.log" && break; sleep 0.1; done

say "The agent starts, probes the kernel, serves the platform API on $AGENT"
mkdir -p "$CG" "$W/data"
printf 'patient,age,diagnosis\n1,54,J45\n2,61,E11\n' >"$W/data/research.csv"
start_agent
run pepctl status
echo "The node binds the product to a generated CSV:"
run pepctl bind P-RESEARCH-CSV "$W/data"

say "The platform pushes the contract (POST /contractExecution, mutual TLS): verified, enforced"
run tds push "$AGENT" "$W/contract.json" "${as_platform[@]}"
echo "A client without the platform's certificate is refused in the TLS handshake:"
printf '$ curl --data-binary @contract.json %s/contractExecution\n' "$AGENT"
curl -sS --cacert "$T/node-ca.crt" --data-binary "@$W/contract.json" "$AGENT/contractExecution" \
	>/dev/null 2>&1 || echo "  no answer (curl exit $?): refused in the TLS handshake"

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
start_agent
run pepctl show "$ID"

say "What the kernel decided (records)"
pepctl records --contract "$ID" | tail -6

say "The platform terminates the contract (a signed Annex B.7 notice): the files and the copy"
echo "are deleted, and the node answers with its signed destruction proof"
run tds terminate "$AGENT" "$ID" "${as_platform[@]}"
ls "$W/data" "$W/copy.csv" 2>&1 | sed 's/^/  /'
run pepctl show "$ID" --history

say "What the platform received from the node: reports with the kernel's decisions, verified"
sleep 2 # the node sends its journal every second (report_interval_ms)
printf '$ tds-platform reports --db platform.db --contract %s\n' "$ID"
tds reports --db "$W/platform.db" --contract "$ID" >"$W/reports"
grep "  /contract" "$W/reports" | sed 's/: records, chain verified$/: behaviour records, chain verified/'
echo "... and $(grep -c '^NODE' "$W/reports") journal entries of the node, by seq (kernel decisions, checkpoints)"

say "Done: the demo removes its cgroup, pins and files"
