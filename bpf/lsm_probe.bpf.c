// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The backend probe's LSM program. It decides nothing: that it loads and attaches is the
 * test of whether this kernel runs BPF-LSM programs (CONFIG_BPF_LSM, BTF, trampolines).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* The verifier refuses LSM programs without a GPL-compatible license. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("lsm/file_open")
int BPF_PROG(probe_file_open, struct file *file, int ret)
{
	/* Respect the previous program's verdict, and add none: this is only a probe. */
	return ret;
}
