#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# pepctl keygen and sign, checked by tools that share no code with them: the openssl CLI reads
# the keys and verifies the signatures over the bytes tests/vectors/canonical.py writes, and an
# Ed25519 signature (deterministic) is byte for byte the one tests/vectors/sign.py makes. No root.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUTPUT:-.output}
. "$here/scripts/lib.sh"
pepctl="$pep_bin/pepctl"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT HUP PIPE
. "$here/tests/tap.sh"

command -v openssl >/dev/null && command -v python3 >/dev/null ||
	{ echo "1..0 # SKIP needs the openssl CLI and python3"; exit 0; }

P=91110000100000000X
C=91310000MA1K00001B
S=91440300MA5G00002C
DISTID=distid:1234567812345678
template=$here/examples/contracts/three-party-network.json
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null 2>&1

# ---- keygen ----

for alg in sm2 p256 ed25519; do
	quiet "$pepctl" keygen --alg $alg --out "$W/$alg.key"
done
text() { openssl pkey -in "$W/$1.key" -noout -text 2>/dev/null; }
check "keygen --alg sm2: openssl reads an SM2 key" grep -q "ASN1 OID: SM2" <<<"$(text sm2)"
check "keygen --alg p256: openssl reads a P-256 key" grep -q "NIST CURVE: P-256" <<<"$(text p256)"
check "keygen --alg ed25519: openssl reads an Ed25519 key" grep -q "ED25519" <<<"$(text ed25519)"
check "the key file is readable by its owner only" [ "$(stat -c %a "$W/sm2.key")" = 600 ]
before=$(sha256sum <"$W/sm2.key")
"$pepctl" keygen --alg sm2 --out "$W/sm2.key" >/dev/null 2>&1
check "keygen never overwrites a key: exit 2, the key unchanged" \
	[ $? -eq 2 ] && [ "$(sha256sum <"$W/sm2.key")" = "$before" ]
quiet "$pepctl" keygen --alg rsa --out "$W/rsa.key"
check "keygen --alg rsa: refused (exit 2), no file" [ $? -eq 2 ] && [ ! -e "$W/rsa.key" ]

# ---- sign with fresh keys; openssl verifies ----

# selfsigned ALG CN: a certificate for the new key, made by openssl.
selfsigned() {
	local opts=""
	[ "$1" = sm2 ] && opts="-sm3 -sigopt $DISTID"
	# shellcheck disable=SC2086 # options for an SM2 key, or nothing
	openssl req -new -x509 -key "$W/$1.key" -subj "/CN=$2" -days 1 $opts \
		-out "$W/$1.crt" 2>/dev/null
}
# verify_with KEY SIGNED ID: the signatory ID's signature in SIGNED, checked by openssl with
# the public key of KEY over the canonical bytes, by the algorithm of the key's type.
verify_with() {
	local key=$1 signed=$2 id=$3
	python3 "$here/tests/vectors/canonical.py" "$signed" >"$W/data"
	python3 -c "import base64, json, sys
d = json.load(open(sys.argv[1]))
s = [x for x in d['signatories'] if x['signatoryEntityId'] == sys.argv[2]][0]
open(sys.argv[3], 'wb').write(base64.b64decode(s['signature']))" "$signed" "$id" "$W/sig"
	openssl pkey -in "$key" -pubout -out "$W/pub" 2>/dev/null
	case $(openssl pkey -in "$key" -noout -text 2>/dev/null) in
	*"ASN1 OID: SM2"*) openssl dgst -sm3 -verify "$W/pub" -sigopt $DISTID \
		-signature "$W/sig" "$W/data" ;;
	*"NIST CURVE: P-256"*) openssl dgst -sha256 -verify "$W/pub" -signature "$W/sig" \
		"$W/data" ;;
	ED25519*) openssl pkeyutl -verify -pubin -inkey "$W/pub" -rawin -in "$W/data" \
		-sigfile "$W/sig" ;;
	*) false ;;
	esac >/dev/null 2>&1
}
fails() { ! "$@"; }

for alg in sm2 p256 ed25519; do
	selfsigned $alg $P
	"$pepctl" sign --key "$W/$alg.key" --cert "$W/$alg.crt" "$template" >"$W/$alg.json" 2>"$W/err"
	check "sign with a $alg key: exit 0" [ $? -eq 0 ]
	check "openssl verifies the $alg signature over the canonical bytes" \
		verify_with "$W/$alg.key" "$W/$alg.json" $P
done
sed 's/"lteq"/"lt"/' "$W/p256.json" >"$W/changed.json"
check "a document changed after signing no longer verifies with openssl" \
	fails verify_with "$W/p256.key" "$W/changed.json" $P

# ---- the same signature as the independent signer ----

parties=(--cert "$W/pki/$P.crt" --cert "$W/pki/$C.crt" --cert "$W/pki/$S.crt")
"$pepctl" sign --key "$W/pki/$S.key" "${parties[@]}" "$template" >"$W/ours.json"
"$here/tests/vectors/sign.py" "$template" "$W/theirs.json" --party "$P:$W/pki/$P.key:$W/pki/$P.crt" \
	--party "$C:$W/pki/$C.key:$W/pki/$C.crt" --party "$S:$W/pki/$S.key:$W/pki/$S.crt"
sig_of() {
	python3 -c "import json, sys
print([x for x in json.load(open(sys.argv[1]))['signatories']
       if x['signatoryEntityId'] == sys.argv[2]][0]['signature'])" "$1" "$2"
}
check "Ed25519: byte for byte the signature tests/vectors/sign.py makes with openssl" \
	[ "$(sig_of "$W/ours.json" $S)" = "$(sig_of "$W/theirs.json" $S)" ]

# ---- parties one after the other; pepctl verify accepts the result ----

"$pepctl" sign --key "$W/pki/$P.key" "${parties[@]}" "$template" >"$W/1.json"
"$pepctl" sign --key "$W/pki/$C.key" --cert "$W/pki/$C.crt" "$W/1.json" >"$W/2.json"
"$pepctl" sign --key "$W/pki/$S.key" --cert "$W/pki/$S.crt" "$W/2.json" >"$W/3.json"
check "three parties sign in turn: pepctl verify accepts the contract" \
	quiet "$pepctl" verify --trust "$W/pki/root-ca.crt" "$W/3.json"
check "openssl verifies each party's signature in it (SM2, P-256, Ed25519)" \
	verify_with "$W/pki/$P.key" "$W/3.json" $P && verify_with "$W/pki/$C.key" "$W/3.json" $C &&
	verify_with "$W/pki/$S.key" "$W/3.json" $S

"$pepctl" sign --key "$W/pki/$P.key" --cert "$W/pki/$P.crt" "$template" >"$W/p.json"
"$pepctl" sign --key "$W/pki/$C.key" --cert "$W/pki/$C.crt" "$W/p.json" >/dev/null 2>"$W/err"
check "a certificate added after someone signed is refused (it would break that signature)" \
	[ $? -eq 1 ] && grep -q "signatories\[0\] has signed already" "$W/err"
"$pepctl" sign --key "$W/pki/$C.key" --cert "$W/pki/$P.crt" "$template" >/dev/null 2>"$W/err"
check "a key that is none of the certificates' is refused" \
	[ $? -eq 1 ] && grep -q "the key of none of the certificates" "$W/err"
two=$here/examples/contracts/file-app-count-delete.json
"$pepctl" sign --key "$W/pki/$P.key" --cert "$W/pki/provider-other-ca.crt" \
	--cert "$W/pki/$C.crt" "$two" >"$W/other1.json"
"$pepctl" sign --key "$W/pki/$C.key" --cert "$W/pki/$C.crt" "$W/other1.json" >"$W/other.json"
check "sign does not judge the certificate; verify does (another CA)" \
	grep -q "does not chain" <<<"$("$pepctl" verify --trust "$W/pki/root-ca.crt" "$W/other.json")"
selfsigned p256 NOT-A-PARTY
"$pepctl" sign --key "$W/p256.key" --cert "$W/p256.crt" "$template" >/dev/null 2>"$W/err"
check "a certificate whose CN is no signatory is refused, naming the CN" \
	[ $? -eq 1 ] && grep -q 'no signatory "NOT-A-PARTY"' "$W/err"
quiet "$pepctl" sign --cert "$W/p256.crt" "$template"
check "sign without --key: usage, exit 2" [ $? -eq 2 ]

tap_done
