#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The backend probe inside a VM with BPF-LSM (tests/vm/run.sh): it must pick "lsm" there, which
# also shows that the skeleton built here (libbpf 1.1, CO-RE) loads on Debian's 6.1 kernel.
# Needs no root: qemu runs as the caller and the guest's command as root.
# TAP, run by prove from the top of the tree; OUTPUT is the build directory.
. "$(dirname "$0")/tap.sh"
bin=${OUTPUT:-.output}/tests/bpf/test_probe
vm_tap "$bin" --file "$bin" -- env PEP_EXPECT_BACKEND=lsm "$bin"
