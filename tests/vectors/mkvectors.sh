#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# mkvectors.sh OUTDIR: signed contracts for tests/unit/test_verify.c, made with mkpki.sh and
# sign.py (the openssl CLI), never with the code under test. OUTDIR/pki holds the PKI.
#
#   good.json          three parties (SM2, P-256, Ed25519), all signatures DER
#   raw.json           the same, SM2 and ECDSA signatures as raw r||s
#   tampered.json      good.json with one constraintValue changed after signing
#   no-consumer.json   signed by provider and service party; the consumer's entry is gone
#   cn-mismatch.json   the provider's entry carries (and is signed with) the consumer's cert
#   other-ca.json      the provider's certificate comes from a CA the node does not trust
#   expired.json       the provider's certificate expired before the signing time
#   bad-base64.json    good.json with the consumer's signature replaced by non-base64
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=$1
pki=$out/pki
template=$here/../../examples/contracts/three-party-network.json

"$here/mkpki.sh" "$pki"

P=91110000100000000X
C=91310000MA1K00001B
S=91440300MA5G00002C
provider=$P:$pki/$P.key:$pki/$P.crt
consumer=$C:$pki/$C.key:$pki/$C.crt
service=$S:$pki/$S.key:$pki/$S.crt

sign() {
	out_file=$1
	shift
	"$here/sign.py" "$template" "$out/$out_file" "$@"
}

sign good.json --party "$provider" --party "$consumer" --party "$service"
sign raw.json --party "$provider" --party "$consumer" --party "$service" --raw
sign no-consumer.json --drop $C --party "$provider" --party "$service"
sign cn-mismatch.json --party "$P:$pki/$C.key:$pki/$C.crt" --party "$consumer" \
	--party "$service"
sign other-ca.json --party "$P:$pki/$P.key:$pki/provider-other-ca.crt" --party "$consumer" \
	--party "$service"
sign expired.json --party "$P:$pki/$P.key:$pki/provider-expired.crt" --party "$consumer" \
	--party "$service"

# edit IN OUT PYTHON: changes a signed document the way an attacker would, after signing.
edit() {
	python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
$3
json.dump(d, open(sys.argv[2], 'w'), indent=2, ensure_ascii=False)" "$out/$1" "$out/$2"
}

edit good.json tampered.json \
	'd["contractPolicies"]["permissionPolicies"][0]["constraints"][1]["constraintValue"] = "6000"'
edit good.json bad-base64.json 'd["signatories"][1]["signature"] = "MEUCIQ*not base64*"'
