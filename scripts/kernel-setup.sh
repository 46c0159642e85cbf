#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What the agent expects of a machine, as systemd sets it up at boot: bpffs at /sys/fs/bpf
# (for the pins that keep enforcement alive without the agent). Run as root; idempotent.
# cgroup v2 is not mounted here: the agent finds it wherever the system mounted it.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "kernel-setup: not root: leaving mounts as they are"
	exit 0
fi
if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	echo "kernel-setup: mounted bpffs at /sys/fs/bpf"
fi
