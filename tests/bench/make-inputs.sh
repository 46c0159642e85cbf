#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make-inputs.sh DIR: signed inputs for the contract benchmarks, made by tests/vectors/ (the
# openssl CLI): DIR/pki, DIR/typical.json (file-app-count-delete) and DIR/cidrs.json (the same
# with 5000 CIDRs in its networkAddress constraint). Run from the top of the tree.
set -eu
d=$1
v=tests/vectors
P=91110000100000000X
C=91310000MA1K00001B
"$v/mkpki.sh" "$d/pki" >/dev/null
parties="--party $P:$d/pki/$P.key:$d/pki/$P.crt --party $C:$d/pki/$C.key:$d/pki/$C.crt"
# shellcheck disable=SC2086
"$v/sign.py" examples/contracts/file-app-count-delete.json "$d/typical.json" $parties
cidrs=$(python3 -c 'print("[" + ", ".join("10.%d.%d.0/24" % (i // 256, i % 256) for i in range(5000)) + "]")')
"$v/variant.py" examples/contracts/file-app-count-delete.json "$d/u.json" --set \
	"contractPolicies.prohibitionPolicies[0].constraints[0].constraintValue=\"$cidrs\""
# shellcheck disable=SC2086
"$v/sign.py" "$d/u.json" "$d/cidrs.json" $parties
rm -f "$d/u.json"
