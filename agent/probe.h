/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backend probe: which enforcement backend this kernel supports. The agent probes once at
 * start, prints the result and keeps it (systemd src/core/bpf style): "lsm" where BPF-LSM
 * programs load and attach, otherwise "portable" (syscall tracepoints, cgroup socket hooks,
 * seccomp user notification).
 */
#ifndef PEP_PROBE_H
#define PEP_PROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#define PROBE_WHY_MAX 256

enum backend { BACKEND_PORTABLE, BACKEND_LSM };

/*
 * What backend_probe() found. A path is "" when the file system is not mounted; each *_why
 * says in plain words why its feature is missing, and is "" when the feature is there.
 */
struct backend_support {
	enum backend backend;
	char bpffs[PATH_MAX];	/* a bpffs mount point, /sys/fs/bpf preferred */
	char cgroup2[PATH_MAX]; /* cgroup v2: /sys/fs/cgroup, or /sys/fs/cgroup/unified (hybrid) */
	bool btf;		/* /sys/kernel/btf/vmlinux is readable */
	bool lsm;		/* "bpf" is an active LSM and an lsm/file_open program attached */
	char bpffs_why[PROBE_WHY_MAX];
	char cgroup2_why[PROBE_WHY_MAX];
	char btf_why[PROBE_WHY_MAX];
	char lsm_why[PROBE_WHY_MAX];
};

/*
 * Fills *ret (always, so the caller can say why) and picks the backend. Returns 0, or -ENODEV
 * when bpffs or cgroup v2 is not mounted: no backend can run then. Needs root to load the
 * LSM program; leaves nothing loaded.
 */
int backend_probe(struct backend_support *ret);

const char *backend__name(enum backend backend);

/* One line per feature, each starting with prefix ("# " for TAP, "" for a log). */
void backend_support__print(const struct backend_support *s, FILE *f, const char *prefix);

#endif /* PEP_PROBE_H */
