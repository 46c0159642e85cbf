#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/vm/lsm.t on Debian's 6.12 (bookworm-backports, fetched into a cache on first use by
# scripts/vm-kernel.sh; skipped when it cannot be had): ftruncate refused at lsm/file_truncate,
# the fd table read with plain loads through the typed bpf_rdonly_cast().
PEP_VM_KERNEL=6.12 exec "$(dirname "$0")/lsm.t"
