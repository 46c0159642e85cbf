#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Termination never deletes an unrelated file that took a product file's name and inode
# number: a holder deletes its derived copy, a bound file is deleted, and a process that is no
# holder makes new files at those paths until ext4 gives them the old numbers (it does so at
# once). The delete obligation leaves them, unread, and the proof says why. Root; scoped to a
# cgroup, a pin root and files this test makes, removed at the end.
set -u

. "$(dirname "$0")/setup.sh" reused # here, out, tap.sh, lib.sh, skips; W, CG, PINS, SOCK
agent_pid=

cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	pep_remove_test_dirs
}
trap cleanup EXIT INT TERM HUP PIPE

ino() { stat -c %i "$1"; }
unrelated() { for f; do [ "$(cat "$W/$f.csv")" = unrelated ] || return 1; done; }

# take_number PATH INO: files with unrelated content made at PATH by this shell (no holder)
# until one has inode number INO; the others are moved aside, keeping their numbers taken.
take_number() {
	for i in $(seq 100); do
		echo unrelated >"$1"
		[ "$(ino "$1")" = "$2" ] && return 0
		mv "$1" "$1.filler$i"
	done
	return 1
}

ID=C391310000MA1K00001B11002026010100000000000006S
mkdir -p "$CG"
printf 'id,value\n1,secret\n' >"$W/research.csv"
printf 'id,value\n2,secret\n' >"$W/gone.csv"
printf 'id,value\n3,secret\n' >"$W/replaced.csv"
"$here/tests/vectors/mkpki.sh" "$W/pki" >/dev/null
pep_sign "$W/core.json" "$here/examples/contracts/file-app-count-delete.json" "$W/pki"

pep_start_agent "$W/state" "$PINS" "$SOCK" "$W/pki/root-ca.crt" "$CG" "$W/agent.log"
check "bind the product to three files and apply a contract that deletes it at the end" \
	eval 'quiet pepctl bind P-RESEARCH-CSV "$W/research.csv" "$W/gone.csv" "$W/replaced.csv" &&
	      quiet pepctl apply "$W/core.json"'

# The holder (python3, listed) copies the data, and deletes the copy once the agent has its
# path; the bound file gone.csv is deleted too.
/usr/bin/python3 -c "import shutil; shutil.copy('$W/research.csv', '$W/copy.csv')" \
	</dev/null >/dev/null 2>&1
for _ in $(seq 50); do pepctl show "$ID" | grep -q "$W/copy.csv" && break; sleep 0.1; done
check "the holder's copy is a derived copy, its path known" \
	grep -q "$W/copy.csv" <<<"$(pepctl show "$ID")"
copy_ino=$(ino "$W/copy.csv")
gone_ino=$(ino "$W/gone.csv")
# replaced.csv: a new file renamed over it (its number is taken meanwhile: not reused)
echo unrelated >"$W/new.csv" && mv "$W/new.csv" "$W/replaced.csv"
# one at a time: the first new file would take the lower of two free numbers
rm "$W/gone.csv"
take_number "$W/gone.csv" "$gone_ino" &&
	/usr/bin/python3 -c "import os; open('$W/research.csv').read(); os.remove('$W/copy.csv')" \
		</dev/null >/dev/null 2>&1 &&
	take_number "$W/copy.csv" "$copy_ino"
if [ $? -ne 0 ]; then
	# tmpfs does not reuse numbers; another process may have taken one first
	echo "# $W did not give the deleted files' numbers to new files: not exercised"
	tap_done
	exit
fi

pepctl --json terminate "$ID" >"$W/terminated.json"
check "the unrelated files at the copy's and the bound files' paths are still there" \
	unrelated copy gone replaced
check "... with the same numbers, and the product file itself is deleted" \
	eval '[ "$(ino "$W/copy.csv")" = "$copy_ino" ] && [ "$(ino "$W/gone.csv")" = "$gone_ino" ] &&
	      [ ! -e "$W/research.csv" ]'
check "the proof lists them as not deleted, unread, saying why, and is not complete" \
	python3 -c "import json, sys
p = json.load(open('$W/terminated.json'))['proof']
f = {x['path'].rsplit('/', 1)[1]: x for x in p['files']}
why = 'another file now has this name and inode number'
sys.exit(not (not p['complete'] and f['research.csv']['deleted'] and
              all(not f[n]['deleted'] and why in f[n]['error'] and 'sm3' not in f[n]
                  for n in ('copy.csv', 'gone.csv')) and not f['replaced.csv']['deleted'] and
              'not bound' in f['replaced.csv']['error'] and 'sm3' not in f['replaced.csv']))"
pep_proof_split "$W/terminated.json" "$W"
check "the proof's signature verifies with openssl" pep_proof_verifies "$W"

tap_done
