#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The file guard's portable backend on another kernel than this machine's, inside a VM
# (tests/vm/run.sh; PEP_VM_KERNEL picks the kernel, default Debian's 6.1, where the fd table is
# read with a helper): test_file_guard with the real programs it runs, python3 with the few
# modules its start-up needs (the rest of the standard library is not used). The guest's
# /bin/sh is busybox. Needs no root: qemu runs as the caller, the test as root in the guest.
# TAP, run by prove from the top of the tree; OUTPUT is the build directory.
. "$(dirname "$0")/tap.sh"
bin=${OUTPUT:-.output}/tests/bpf/test_file_guard
# the standard library's directory (/usr/lib/python3.11 on Debian 12)
py=$(/usr/bin/python3 -c 'import os; print(os.path.dirname(os.__file__))') || py=/nonexistent
files=(--file "$bin")
for f in /usr/bin/cat /usr/bin/head /usr/bin/cp /usr/bin/mkdir /usr/bin/python3 "$py/os.py" \
	"$py/encodings/__init__.py" "$py/encodings/aliases.py" "$py/encodings/utf_8.py"; do
	files+=(--file "$f")
done
# PYTHONHOME: python3 need not look for the libraries left out. test_unrecordable starts ~2 200
# processes to fill the ring buffer (minutes under TCG); what it checks does not
# depend on the kernel's version, and it runs natively.
vm_tap "$bin" "${files[@]}" -- env PYTHONHOME=/usr PEP_TEST_SKIP=test_unrecordable "$bin"
