// SPDX-License-Identifier: Apache-2.0
/*
 * The backend probe, natively and in the VM (tests/vm/probe.t). Prints what it found as TAP
 * comments, so this binary is also the tool to see the probe's result by hand.
 *
 * PEP_EXPECT_BACKEND=lsm|portable: the backend this kernel must get. Unset, the choice is
 * only checked for consistency with the features found (a machine may have either).
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <cmocka.h>

#include <bpf/bpf.h>

#include "agent/probe.h"

static struct backend_support sup;
static int probe_err;

static bool fs_is(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

/* The paths found are mounts of the right type; missing ones say why and fail the probe. */
static void test_mounts(void **state)
{
	if (sup.bpffs[0]) {
		assert_true(fs_is(sup.bpffs, BPF_FS_MAGIC));
		assert_string_equal(sup.bpffs_why, "");
	} else {
		assert_int_equal(probe_err, -ENODEV);
		assert_string_not_equal(sup.bpffs_why, "");
	}
	if (sup.cgroup2[0]) {
		assert_true(fs_is(sup.cgroup2, CGROUP2_SUPER_MAGIC));
		assert_string_equal(sup.cgroup2_why, "");
	} else {
		assert_int_equal(probe_err, -ENODEV);
		assert_string_not_equal(sup.cgroup2_why, "");
	}
}

/* lsm exactly when BPF-LSM works; otherwise the reason is filled in. */
static void test_backend_follows_features(void **state)
{
	assert_int_equal(sup.backend, sup.lsm ? BACKEND_LSM : BACKEND_PORTABLE);
	if (sup.lsm) {
		assert_true(sup.btf);
		assert_string_equal(sup.lsm_why, "");
	} else {
		assert_string_not_equal(sup.lsm_why, "");
	}
	assert_true(sup.btf == !sup.btf_why[0]);
}

static void test_expected_backend(void **state)
{
	const char *want = getenv("PEP_EXPECT_BACKEND");

	if (!want) {
		printf("# PEP_EXPECT_BACKEND unset: backend not compared\n");
		return;
	}
	assert_string_equal(backend__name(sup.backend), want);
}

/* The probe destroys its program: no probe_file_open stays loaded. */
static void test_leaves_nothing_loaded(void **state)
{
	struct bpf_prog_info info;
	__u32 id = 0, len;
	int fd;

	while (!bpf_prog_get_next_id(id, &id)) {
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue; /* unloaded meanwhile */
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		(void)close(fd);
		/* The kernel keeps the first 15 characters of a program's name. */
		assert_string_not_equal(info.name, "probe_file_open");
	}
}

/* A bpffs mounted anywhere is found: the probe reads /proc/mounts, not a fixed path. The
 * mount lives in a private mount namespace, so the machine never sees it. */
static void test_finds_bpffs_anywhere(void **state)
{
	char dir[] = "/tmp/pep-probe.XXXXXX";
	struct backend_support s;

	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(mount("bpf", dir, "bpf", 0, NULL), 0);

	(void)backend_probe(&s);
	assert_true(fs_is(s.bpffs, BPF_FS_MAGIC));
	/* /sys/fs/bpf wins when it is a bpffs too. */
	if (!fs_is("/sys/fs/bpf", BPF_FS_MAGIC))
		assert_string_equal(s.bpffs, dir);

	(void)umount(dir);
	(void)rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_backend_follows_features),
		cmocka_unit_test(test_expected_backend),
		cmocka_unit_test(test_leaves_nothing_loaded),
		cmocka_unit_test(test_finds_bpffs_anywhere),
	};

	/* cmocka 1.1.5 prints a skip as "not ok": say it in TAP ourselves. */
	if (geteuid() != 0) {
		printf("1..0 # SKIP loading BPF programs needs root\n");
		return 0;
	}
	/* Always TAP: these binaries also run in the VM, where no Makefile exports it. */
	cmocka_set_message_output(CM_OUTPUT_TAP);

	probe_err = backend_probe(&sup);
	backend_support__print(&sup, stdout, "# ");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
