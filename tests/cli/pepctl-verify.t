#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# pepctl verify as a user runs it: exit 0 valid (plan shown, refused entries marked), 1 invalid
# (every error listed with its path), 2 usage or I/O error; --json for machines. No root.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUTPUT:-.output}
. "$here/scripts/lib.sh"
pepctl="$pep_bin/pepctl"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
. "$here/tests/tap.sh"
status_of() { "$@" >"$W/stdout" 2>"$W/stderr"; echo $?; }

"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
pep_sign "$W/good.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki"
pep_sign "$W/refused.json" "$here/examples/contracts/scenario5-ciphertext.json" "$W/pki"
trust="--trust $W/pki/root-ca.crt"

check "a valid contract: exit 0" [ "$(status_of "$pepctl" verify $trust "$W/good.json")" = 0 ]
check "its plan is printed, entry by entry" \
	grep -q '\[kernel\] permission read of P-RESEARCH-CSV: count lteq 5' "$W/stdout"
check "valid but with refused entries: exit 0, the entries marked with the reason" \
	[ "$(status_of "$pepctl" verify $trust "$W/refused.json")" = 0 ]
check "the refused entry says why" \
	grep -q 'refused\] permission process of P-CREDIT: encryptMode eq 02' "$W/stdout"
check "and the node says it refuses to apply it" grep -q "refuses to apply" "$W/stdout"

sed 's/"lteq"/"approx"/' "$W/good.json" >"$W/bad.json"
check "an invalid contract: exit 1" [ "$(status_of "$pepctl" verify $trust "$W/bad.json")" = 1 ]
check "the error names the JSON path and the rule" grep -q \
	'contractPolicies.permissionPolicies\[0\].constraints\[1\].constraintOperator: unknown operator "approx"' \
	"$W/stdout"

check "--json: valid, with the contract hash and the plan" \
	python3 -c "import json,subprocess,sys
r = json.loads(subprocess.run(sys.argv[1:], capture_output=True, text=True).stdout)
sys.exit(not (r['valid'] and len(r['contractHash']) == 64 and r['plan']['applicable']))" \
	"$pepctl" --json verify $trust "$W/good.json"
check "--json: invalid, every error with path and message" \
	python3 -c "import json,subprocess,sys
r = json.loads(subprocess.run(sys.argv[1:], capture_output=True, text=True).stdout)
sys.exit(r['valid'] or not any(e['message'].startswith('unknown operator') for e in r['errors']))" \
	"$pepctl" --json verify $trust "$W/bad.json"

check "a missing file: exit 2" [ "$(status_of "$pepctl" verify $trust "$W/none.json")" = 2 ]
check "an unreadable trust store: exit 2" \
	[ "$(status_of "$pepctl" verify --trust "$W/no-ca.pem" "$W/good.json")" = 2 ]
check "a bad option: exit 2" [ "$(status_of "$pepctl" verify --frobnicate "$W/good.json")" = 2 ]

head -c 3000 /dev/urandom >"$W/noise"
check "random bytes: exit 1, no crash" [ "$(status_of "$pepctl" verify $trust "$W/noise")" = 1 ]
check "--at a time after the validity: the contract is not in force" \
	[ "$(status_of "$pepctl" verify $trust --at 20310101000000 "$W/good.json")" = 1 ]

tap_done
