# SPDX-License-Identifier: Apache-2.0
# The opening of every end-to-end test here: `. "$(dirname "$0")/setup.sh" NAME [TOOL...]`.
# Sets here (the checkout), out, pep_bin and pepctl_bin; reads tests/tap.sh and scripts/lib.sh;
# skips the test (TAP `1..0 # SKIP why`) without root, cgroup v2, bpffs, /usr/bin/python3,
# openssl or a TOOL; and names the test's own places after NAME: W, CG, PINS, SOCK.
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUTPUT:-.output}
pepctl_bin="$here/$out/pepctl"
. "$here/tests/tap.sh"
. "$here/scripts/lib.sh"
pep_require_kernel "${@:2}"
pep_test_dirs "$1"
