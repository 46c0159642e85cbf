#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/vm/agent.t on Debian's 6.12 (scripts/vm-kernel.sh; skipped when it cannot be had): the
# whole agent on a kernel newer than 6.1 too.
PEP_VM_KERNEL=6.12 exec "$(dirname "$0")/agent.t"
