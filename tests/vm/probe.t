#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The backend probe inside a VM with BPF-LSM (tests/vm/run.sh): it must pick "lsm" there, which
# also shows that the skeleton built here (libbpf 1.1, CO-RE) loads on Debian's 6.1 kernel.
# Needs no root: qemu runs as the caller and the guest's command as root.
# TAP, run by prove from the top of the tree; OUTPUT is the build directory.
out=${OUTPUT:-.output}
bin=$out/tests/bpf/test_probe
vm=$(dirname "$0")/run.sh

if [ ! -x "$bin" ]; then
	printf '1..1\nnot ok 1 - %s not built (make)\n' "$bin"
	exit 1
fi

# The inner test's TAP is this test's TAP; run.sh exits with its status.
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
"$vm" --file "$bin" -- env PEP_EXPECT_BACKEND=lsm "$bin" 2>"$log"
rc=$?
case $rc in
77)
	echo "1..0 # SKIP $(tail -n 1 "$log")"
	exit 0
	;;
99)
	printf '1..1\nnot ok 1 - VM run failed\n'
	sed 's/^/# /' "$log"
	;;
*)
	sed 's/^/# /' "$log"
	;;
esac
exit "$rc"
