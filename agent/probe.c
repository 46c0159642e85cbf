// SPDX-License-Identifier: Apache-2.0
/* The backend probe: see probe.h. */
#include <errno.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent/probe.h"
#include "bpf/lsm_probe.skel.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

/* Appends one reason to why, "; "-separated; truncates rather than fails. */
static void __attribute__((format(printf, 2, 3))) why_add(char *why, const char *fmt, ...)
{
	size_t len = strlen(why);
	va_list ap;

	if (len && len + 2 < PROBE_WHY_MAX) {
		strcpy(why + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	(void)vsnprintf(why + len, PROBE_WHY_MAX - len, fmt, ap);
	va_end(ap);
}

/* Keeps the first mount of a type, or the canonical path when it comes later. */
static void mount_pick(char *dst, const char *dir, const char *canonical)
{
	if (!dst[0] || !strcmp(dir, canonical))
		(void)snprintf(dst, PATH_MAX, "%s", dir);
}

/*
 * bpffs, cgroup v2 and securityfs from /proc/mounts, not from the usual paths: hybrid setups
 * (this development machine) mount cgroup2 at /sys/fs/cgroup/unified, and a bpffs may be
 * missing at /sys/fs/bpf even though the directory exists.
 */
static void find_mounts(struct backend_support *s, char *securityfs)
{
	struct mntent *m;
	FILE *f;

	f = setmntent("/proc/mounts", "re");
	if (!f) {
		why_add(s->bpffs_why, "cannot read /proc/mounts: %m");
		why_add(s->cgroup2_why, "cannot read /proc/mounts: %m");
		return;
	}
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "bpf"))
			mount_pick(s->bpffs, m->mnt_dir, "/sys/fs/bpf");
		else if (!strcmp(m->mnt_type, "cgroup2"))
			mount_pick(s->cgroup2, m->mnt_dir, "/sys/fs/cgroup");
		else if (!strcmp(m->mnt_type, "securityfs"))
			mount_pick(securityfs, m->mnt_dir, "/sys/kernel/security");
	}
	(void)endmntent(f);
	if (!s->bpffs[0])
		why_add(s->bpffs_why, "not mounted (mount -t bpf bpf /sys/fs/bpf)");
	if (!s->cgroup2[0])
		why_add(s->cgroup2_why, "not mounted (mount -t cgroup2 cgroup2 /sys/fs/cgroup)");
}

/* True when "bpf" is in <securityfs>/lsm, the comma-separated list of active LSMs. */
static bool lsm_active(const char *securityfs, char *why)
{
	char path[PATH_MAX + 8], list[512] = "";
	bool found = false;
	FILE *f;

	if (!securityfs[0]) {
		why_add(why, "active LSMs unknown: securityfs not mounted");
		return false;
	}
	(void)snprintf(path, sizeof(path), "%s/lsm", securityfs);
	f = fopen(path, "re");
	if (!f) {
		why_add(why, "cannot read %s: %m", path);
		return false;
	}
	if (fgets(list, sizeof(list), f)) {
		list[strcspn(list, "\n")] = '\0';
		for (char *save, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
			found = found || !strcmp(t, "bpf");
	}
	(void)fclose(f);
	if (!found)
		why_add(why, "\"bpf\" is not an active LSM (boot with lsm=...,bpf)");
	return found;
}

/* libbpf prints an expected refusal as a warning with the verifier log: the reason we
 * record says it better. */
static int print_nothing(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static const char *load_hint(int err)
{
	switch (err) {
	case -EPERM:
		/* As root: the kernel blocks BPF trampolines (lockdown or a hardened policy). */
		return geteuid() ? " (not root)" : " (trampolines blocked?)";
	case -ESRCH:
		/* libbpf found no bpf_lsm_file_open in the kernel's BTF. */
		return " (kernel built without CONFIG_BPF_LSM?)";
	default:
		return "";
	}
}

/* Loads and attaches lsm/file_open, then destroys it: the only reliable test, since a
 * kernel built with BPF-LSM may still refuse trampolines (this development machine refuses
 * the load with EPERM). */
static bool lsm_attaches(char *why)
{
	libbpf_print_fn_t old_print = libbpf_set_print(print_nothing);
	struct lsm_probe_bpf *skel;
	bool ok = false;
	int err;

	skel = lsm_probe_bpf__open();
	if (!skel) {
		why_add(why, "cannot open the probe program: %m");
		goto cleanup;
	}
	err = lsm_probe_bpf__load(skel);
	if (err) {
		why_add(why, "program load refused: %s%s", strerror(-err), load_hint(err));
		goto cleanup;
	}
	err = lsm_probe_bpf__attach(skel);
	if (err) {
		why_add(why, "attach refused: %s", strerror(-err));
		goto cleanup;
	}
	ok = true;
cleanup:
	lsm_probe_bpf__destroy(skel);
	(void)libbpf_set_print(old_print);
	return ok;
}

int backend_probe(struct backend_support *ret)
{
	char securityfs[PATH_MAX] = "";
	bool listed;

	memset(ret, 0, sizeof(*ret));

	/* 1. The file systems every backend needs. */
	find_mounts(ret, securityfs);

	/* 2. BTF: LSM programs attach by BTF id; CO-RE needs it too. */
	ret->btf = access(VMLINUX_BTF, R_OK) == 0;
	if (!ret->btf)
		why_add(ret->btf_why,
			"cannot read " VMLINUX_BTF ": %m (no CONFIG_DEBUG_INFO_BTF?)");

	/* 3. BPF-LSM: active, and a program really attaches. Both are needed: booted with
	 * lsm=capability, Debian's 6.1 loads and attaches the program and never runs it (tried
	 * in the VM). Try the load even when the list says no, to report every reason at once. */
	listed = lsm_active(securityfs, ret->lsm_why);
	if (!ret->btf)
		why_add(ret->lsm_why, "needs kernel BTF");
	else
		ret->lsm = lsm_attaches(ret->lsm_why) && listed;

	/* 4. The choice. */
	ret->backend = ret->lsm ? BACKEND_LSM : BACKEND_PORTABLE;
	return ret->bpffs[0] && ret->cgroup2[0] ? 0 : -ENODEV;
}

const char *backend__name(enum backend backend)
{
	return backend == BACKEND_LSM ? "lsm" : "portable";
}

void backend_support__print(const struct backend_support *s, FILE *f, const char *prefix)
{
	if (s->lsm)
		fprintf(f, "%sbackend: lsm\n", prefix);
	else
		fprintf(f,
			"%sbackend: portable (BPF-LSM unavailable: falling back to syscall "
			"tracepoints, cgroup socket hooks and seccomp)\n",
			prefix);
	fprintf(f, "%sbpffs: %s\n", prefix, s->bpffs[0] ? s->bpffs : s->bpffs_why);
	fprintf(f, "%scgroup2: %s\n", prefix, s->cgroup2[0] ? s->cgroup2 : s->cgroup2_why);
	fprintf(f, "%sBTF: %s\n", prefix, s->btf ? VMLINUX_BTF : s->btf_why);
	fprintf(f, "%sBPF-LSM: %s\n", prefix, s->lsm ? "yes" : s->lsm_why);
}
