#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# mkpki.sh OUTDIR: a throw-away test PKI made with the openssl CLI only, independent of the C code.
#
#   root-ca.{key,crt}        SM2 root CA, self-signed with the GM/T 0009 default ID
#   other-ca.{key,crt}       an unrelated SM2 CA that no test trusts
#   91110000100000000X.*     provider, SM2
#   91310000MA1K00001B.*     consumer, EC P-256
#   91440300MA5G00002C.*     service party, Ed25519
#   provider-expired.crt     the provider's key, certified for 2020 only
#   provider-other-ca.crt    the provider's key, certified by other-ca
#
# Dates are fixed (not "now") so that contracts signed on 2026-01-01 always fall inside the
# certificates' validity, whatever day the tests run. Keys are fresh on every run.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
mkdir -p "$out"
cd "$out"

DISTID=distid:1234567812345678
START=250101000000Z
END=451231235959Z

# openssl ca needs a configuration and a database; one per CA, kept beside its key.
ca_setup() {
	mkdir -p "$1.db"
	: >"$1.db/index.txt"
	cat >"$1.cnf" <<EOF
[ca]
default_ca = this
[this]
database = $1.db/index.txt
new_certs_dir = $1.db
rand_serial = yes
default_md = sm3
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
organizationName = optional
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_party]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# SM2 requests are signed, and verified, with the default ID; other keys take no ID.
sm2opt() {
	if openssl pkey -in "$1" -noout -text | grep -q 'ASN1 OID: SM2'; then
		echo "$2 $DISTID"
	fi
}

# issue CA KEY CN OUT.crt STARTDATE ENDDATE
issue() {
	# shellcheck disable=SC2046 # sm2opt prints an option and its value, or nothing
	openssl req -new -key "$2" -subj "/CN=$3/O=Party $3" $(sm2opt "$2" -sigopt) -out req.csr
	# shellcheck disable=SC2046
	openssl ca -batch -notext -config "$1.cnf" -cert "$1.crt" -keyfile "$1.key" \
		-sigopt "$DISTID" $(sm2opt "$2" -vfyopt) -extensions v3_party \
		-startdate "$5" -enddate "$6" -in req.csr -out "$4" 2>ca.err
	# openssl ca exits 0 on some failures: the certificate is the only reliable sign.
	[ -s "$4" ] || { cat ca.err >&2; exit 1; }
	rm -f req.csr ca.err
}

# root NAME: a self-signed SM2 CA.
root() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out "$1.key"
	ca_setup "$1"
	openssl req -new -key "$1.key" -subj "/CN=$1/O=Test Data Space" -sm3 -sigopt "$DISTID" \
		-out req.csr
	openssl ca -batch -notext -selfsign -config "$1.cnf" -keyfile "$1.key" \
		-sigopt "$DISTID" -vfyopt "$DISTID" -extensions v3_ca \
		-startdate "$START" -enddate "$END" -in req.csr -out "$1.crt" 2>ca.err
	[ -s "$1.crt" ] || { cat ca.err >&2; exit 1; }
	rm -f req.csr ca.err
}

root root-ca
root other-ca

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out 91110000100000000X.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out 91310000MA1K00001B.key
openssl genpkey -algorithm ED25519 -out 91440300MA5G00002C.key

for id in 91110000100000000X 91310000MA1K00001B 91440300MA5G00002C; do
	issue root-ca $id.key $id $id.crt "$START" "$END"
done
issue root-ca 91110000100000000X.key 91110000100000000X provider-expired.crt \
	200101000000Z 201231235959Z
issue other-ca 91110000100000000X.key 91110000100000000X provider-other-ca.crt "$START" "$END"
