#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The whole agent (pep-agent and pepctl) on the lsm backend, inside a VM with BPF-LSM
# (tests/vm/run.sh, Debian's 6.1 kernel). Here: a test PKI and the signed contracts; in the VM
# (tests/vm/agent-guest.sh, as root): the agent picks lsm, enforces a contract on real
# programs (coreutils' head and cp listed, busybox's cat not: busybox's applets are all one
# binary, hence one executable identity), outlives kill -9, is adopted after a restart, does
# not grant uses when the wall clock is set back, journals its decisions and terminates with a
# destruction proof; here again, the proof checked with openssl. Needs no root: qemu runs as
# the caller. TAP, run by prove from the top of the tree; OUTPUT is the build directory.
set -u

here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUTPUT:-.output}
. "$here/tests/tap.sh"
. "$here/tests/vm/tap.sh"
. "$here/scripts/lib.sh"

for tool in python3 openssl; do
	command -v $tool >/dev/null || { echo "1..0 # SKIP $tool missing"; exit 0; }
done
for bin in pep-agent pepctl; do
	[ -x "$out/$bin" ] || { printf '1..1\nnot ok 1 - %s not built (make)\n' "$out/$bin"; exit 1; }
done

W=$(mktemp -d /tmp/pep-vm-agent.XXXXXX)
trap '[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"' EXIT

"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null 2>&1
template=$here/examples/contracts/file-app-count-delete.json
app='contractPolicies.permissionPolicies[0].constraints[0].constraintValue'
limit='contractPolicies.permissionPolicies[0].constraints[1]'
pep_sign "$W/core.json" "$template" "$W/pki" --set "$app=\"[/usr/bin/head, /usr/bin/cp]\"" \
	--set "$limit.constraintValue=\"4\""
pep_sign_product "$W/clock.json" "$template" "$W/pki" P-CLOCK --serial 7 \
	--set "$app=\"/usr/bin/head\"" \
	--set "$limit={\"constraintName\": \"frequency\", \"constraintOperator\": \"lteq\", \"constraintValue\": \"2/hour\"}"
pep_sign_product "$W/later.json" "$template" "$W/pki" P-LATER --serial 8 --set "$app=\"/usr/bin/head\""
date +%s | awk '{ print $1 - $1 % 60 + 3600 }' >"$W/end.at" # in an hour, whole minutes
pep_sign_product "$W/end.json" "$template" "$W/pki" P-END --serial 10 --set "$app=\"/usr/bin/head\"" \
	--set "endTime=\"$(date -u -d "@$(cat "$W/end.at")" +%Y-%m-%dT%H:%M:%SZ)\""
cp "$W/pki/root-ca.crt" "$W/"

vm_run --file "$out/pep-agent" --file "$out/pepctl" --file /bin/bash --file /usr/bin/head \
	--file /usr/bin/cp --file tests/tap.sh --file scripts/lib.sh --file tests/vm/agent-guest.sh \
	--file "$W/core.json" --file "$W/clock.json" --file "$W/later.json" --file "$W/end.json" \
	--file "$W/end.at" \
	--file "$W/root-ca.crt" -- env OUTPUT="$out" bash tests/vm/agent-guest.sh "$W" >"$W/guest"
rc=$?
cat "$W/guest"
case $rc in
77) exit 0 ;;
99) exit 1 ;;
esac
# The guest's TAP goes on here.
n=$(grep -cE '^(not )?ok ' "$W/guest")
failed=$(grep -c '^not ok ' "$W/guest")
[ $rc -eq 0 ] || [ "$failed" -ne 0 ] || not_ok "the guest script ended with status $rc"

sed -n 's/^# terminated: //p' "$W/guest" | base64 -d >"$W/terminated.json" 2>/dev/null &&
	pep_proof_split "$W/terminated.json" "$W" 2>/dev/null
check "the destruction proof lists the file and the copy deleted, and is not complete" \
	[ "$(cat "$W/proof.paths" 2>/dev/null)" = "copy.csv research.csv" ]
check "  its signature verifies with openssl" pep_proof_verifies "$W"

tap_done
