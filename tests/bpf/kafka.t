#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The Kafka sink end to end, against librdkafka's mock cluster (tests/bpf/kafka_broker.c:
# the Kafka protocol on a loopback port; Debian 12 packages no Kafka broker). A confined
# agent with kafka_brokers set journals the decisions of a listed (python3) and an unlisted
# program (cat); every journal entry must reach the topic verbatim and in order, keyed by
# the node's public key, also across a broker outage and a kill -9 of the agent (duplicates
# allowed: at least once, consumers drop by seq). Root; scoped to a cgroup, a pin root and
# files this test makes, removed at the end.
set -u

. "$(dirname "$0")/setup.sh" kafka # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
J="$W/state/journal"
agent_pid=
broker_pid=

cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	[ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT INT TERM HUP PIPE

start_agent() {
	pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log" \
		--config "$W/agent.conf"
}
# uses N: N opens by python3 (listed: counted) and N by cat (unlisted: denied, killed)
uses() {
	/usr/bin/python3 -c "[open('$W/data/research.csv').read() for _ in range($1)]"
	for _ in $(seq "$1"); do pep_cat "$W/data/research.csv" >/dev/null; done
}
# arrived: the journal's entries, each exactly as stored, are the topic's values with
# duplicates dropped by seq, in order (waits up to 20 s for them).
arrived() {
	for _ in $(seq 100); do
		python3 - "$W/out/values" "$J" <<'EOF' && return 0
import glob, json, sys
journal = [l for f in sorted(glob.glob(sys.argv[2] + "/*.jsonl")) for l in open(f)]
got, last = [], 0
for line in open(sys.argv[1]):
    seq = json.loads(line)["seq"]
    if seq > last:
        got.append(line)
        last = seq
    elif seq <= last and line != journal[seq - 1]:
        sys.exit(1)  # a duplicate must be the same entry
sys.exit(not (len(journal) > 1 and got == journal))
EOF
		sleep 0.2
	done
	return 1
}

ID=C391310000MA1K00001B11002026010100000000000006S
mkdir -p "$CG" "$W/data" "$W/out"
printf 'id,value\n1,secret\n' >"$W/data/research.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
pep_sign "$W/c.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki" \
	--set 'contractPolicies.permissionPolicies[0].constraints[1].constraintValue="100000"'

"$here/$out/tests/bpf/kafka_broker" pep-records "$W/out" >"$W/broker.addr" 2>"$W/broker.log" &
broker_pid=$!
for _ in $(seq 50); do [ -s "$W/broker.addr" ] && break; sleep 0.1; done
# message.timeout.ms: librdkafka gives up on a message after 1.5 s instead of 5 minutes, so
# that the outage below makes a batch fail and the agent send it again.
printf 'kafka_brokers = %s\nkafka.message.timeout.ms = 1500\nreport_interval_ms = 200\n' \
	"$(cat "$W/broker.addr")" >"$W/agent.conf"

check "a confined agent starts with kafka_brokers set" start_agent
quiet pepctl bind P-RESEARCH-CSV "$W/data" && quiet pepctl apply "$W/c.json"
uses 5
check "every journal entry reaches the topic verbatim, in order" arrived
key=$(openssl pkey -in "$W/state/node-key.pem" -pubout -outform DER | base64 -w0)
check "every message is keyed by the node's public key" \
	test "$(sort -u "$W/out/keys")" = "$key"

kill -USR1 "$broker_pid" # the broker goes down for longer than message.timeout.ms
uses 5
timed_out() {
	for _ in $(seq 100); do
		grep -q "kafka: entry [0-9]* not acknowledged: .* is sent again" "$W/agent.log" &&
			return 0
		sleep 0.2
	done
	return 1
}
check "a batch the broker did not acknowledge in time is a warning, to be sent again" timed_out
kill -USR2 "$broker_pid"
check "after a broker outage, what was journaled meanwhile arrives, in order" arrived

{ kill -9 "$agent_pid" && wait "$agent_pid"; } 2>/dev/null
agent_pid=
uses 5 # into the pinned ring buffer, journaled by the next agent
check "a restarted agent goes on from kafka.pos" start_agent
uses 5
check "after kill -9 and a restart nothing is missing on the topic" arrived
check "the agent is alive: nothing it did was outside its system call filter" \
	quiet pepctl status
quiet pepctl terminate "$ID"
kill "$agent_pid" && wait "$agent_pid"
agent_pid=
check "the journal verifies" \
	quiet "$pepctl_bin" records verify --journal "$J" --key "$W/state/node-key.pem"

tap_done
