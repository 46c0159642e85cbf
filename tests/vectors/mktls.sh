#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# mktls.sh OUTDIR: a throw-away TLS PKI for the platform API, made with the openssl CLI only.
# EC P-256 throughout (OpenSSL's TLS does not take SM2 certificates).
#
#   platform-ca.{key,crt}          the CA of platforms' certificates (the agent's platform_ca)
#   node-ca.{key,crt}              the CA of nodes' certificates (tds-platform's --ca)
#   other-ca.{key,crt}             a CA nobody trusts
#   node.{key,crt}                 the agent: CN NODE00000000000001, serverAuth + clientAuth,
#                                  subjectAltName IP 127.0.0.1
#   platform.{key,crt}             tds-platform: CN TDSPLATFORM0000001, clientAuth + serverAuth,
#                                  subjectAltName IP 127.0.0.1
#   platform-unlisted.{key,crt}    CN TDSPLATFORM0000009 from platform-ca: not an allowed id
#   platform-other-ca.{key,crt}    CN TDSPLATFORM0000001 from other-ca
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
cd "$1"

# ca NAME: a self-signed CA.
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-out "$1.crt" -subj "/CN=$1/O=Test Data Space" -days 3650 \
		-addext basicConstraints=critical,CA:true \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# cert CA NAME CN EXTENSIONS
cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2.key" \
		-out "$2.csr" -subj "/CN=$3" 2>/dev/null
	printf 'basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\n%s\n' \
		"$4" >"$2.ext"
	openssl x509 -req -in "$2.csr" -CA "$1.crt" -CAkey "$1.key" -CAcreateserial \
		-days 3650 -extfile "$2.ext" -out "$2.crt" 2>/dev/null
	rm -f "$2.csr" "$2.ext"
}

ca platform-ca
ca node-ca
ca other-ca
both="extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1"
cert node-ca node NODE00000000000001 "$both"
cert platform-ca platform TDSPLATFORM0000001 "$both"
cert platform-ca platform-unlisted TDSPLATFORM0000009 "extendedKeyUsage = clientAuth"
cert other-ca platform-other-ca TDSPLATFORM0000001 "extendedKeyUsage = clientAuth"
