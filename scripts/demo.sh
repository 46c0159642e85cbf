#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The main job: a contract made and signed by three parties (with keys made here, by the
# openssl CLI), verified by the node, and the plan of what the node does with each clause.
set -eu

out=${1:-.output}
here=$(cd "$(dirname "$0")/.." && pwd)
pepctl="$here/$out/pepctl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf '\n== %s\n' "$*"; }

say "Making a test PKI (an SM2 root CA, an SM2 provider, a P-256 consumer) in $work"
"$here/tests/vectors/mkpki.sh" "$work/pki" >/dev/null
P=91110000100000000X
C=91310000MA1K00001B
"$here/tests/vectors/sign.py" "$here/examples/contracts/file-app-count-delete.json" \
	"$work/contract.json" \
	--party "$P:$work/pki/$P.key:$work/pki/$P.crt" \
	--party "$C:$work/pki/$C.key:$work/pki/$C.crt"

say "The node verifies the signed contract and prints its plan"
"$pepctl" verify --trust "$work/pki/root-ca.crt" "$work/contract.json"

say "Someone raises the read count from 5 to 500 after signing: the node refuses the contract"
sed 's/"constraintValue": "5"/"constraintValue": "500"/' "$work/contract.json" >"$work/forged.json"
if "$pepctl" verify --trust "$work/pki/root-ca.crt" "$work/forged.json"; then
	echo "demo: the forged contract was accepted" >&2
	exit 1
fi

say "A contract with terms this node cannot honour: the plan says which, and why"
"$here/tests/vectors/sign.py" "$here/examples/contracts/scenario5-ciphertext.json" \
	"$work/scenario5.json" \
	--party "$P:$work/pki/$P.key:$work/pki/$P.crt" \
	--party "$C:$work/pki/$C.key:$work/pki/$C.crt" >/dev/null
"$pepctl" verify --trust "$work/pki/root-ca.crt" "$work/scenario5.json" | sed -n '/^plan/,$p'

say "Kernel enforcement of the plan: not yet (it arrives with the agent)"
