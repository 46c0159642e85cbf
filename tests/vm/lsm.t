#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The file guard's lsm backend inside a VM with BPF-LSM (tests/vm/run.sh; PEP_VM_KERNEL picks the
# kernel, default Debian's 6.1):
# test_file_guard_lsm with coreutils' cat and head as the refused and the listed application
# (busybox's applets are all one binary, hence one executable identity). It also loads the
# portable variant there. Needs no root: qemu runs as the caller, the test as root in the guest.
# TAP, run by prove from the top of the tree; OUTPUT is the build directory.
. "$(dirname "$0")/tap.sh"
bin=${OUTPUT:-.output}/tests/bpf/test_file_guard_lsm
vm_tap "$bin" --file "$bin" --file /usr/bin/cat --file /usr/bin/head -- "$bin"
