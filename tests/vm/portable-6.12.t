#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/vm/portable.t on Debian's 6.12 (bookworm-backports, fetched into a cache on first use by
# scripts/vm-kernel.sh; skipped when it cannot be had): the fd table read with plain loads
# through the typed bpf_rdonly_cast(), which 6.2-6.16 take and the cast to void is not.
PEP_VM_KERNEL=6.12 exec "$(dirname "$0")/portable.t"
