// SPDX-License-Identifier: Apache-2.0
/*
 * The file guard's lsm backend (the lsm programs of bpf/file_guard.bpf.c, loaded by
 * agent/file_guard.c with opts.lsm) with real programs: head (listed), cat (not listed), rm,
 * and this binary. The development machine refuses LSM programs, so this runs in a VM booting
 * Debian's 6.1 kernel (tests/vm/lsm.t) or 6.12 (tests/vm/lsm-6.12.t); elsewhere it skips
 * unless the backend probe finds BPF-LSM. It also loads the portable variant there: the same
 * object must load on a kernel without bpf_rdonly_cast() (6.1) and with it (6.12).
 *
 * Scope: its own pin roots (/sys/fs/bpf/pep-lsm-test-<pid>...), its own temporary directory,
 * processes it starts. Refusals here are EPERM, not kills, so this process may try opens
 * itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <bpf/bpf.h>

#include "bpf/holders.h"
#include "bpf/file_guard.h"
#include "agent/file_guard.h"
#include "agent/probe.h"

#define SECRET	   "the data product: 42 rows\n"
#define MAX_EVENTS 512
#define OPENERS	   64
#define CAT	   "/usr/bin/cat"
#define HEAD	   "/usr/bin/head"

static struct {
	char dir[64];
	char pin_root[64];
	struct file_guard *fg;
	struct fg_event ev[MAX_EVENTS];
	int n_ev;
	struct fg_inode head, self;
	bool lsm; /* the probe found BPF-LSM: from then on a failure is not a skip */
} T;

/* ---- helpers -------------------------------------------------------------------------- */

static int on_event(void *ctx, const struct fg_event *e)
{
	if (T.n_ev < MAX_EVENTS)
		T.ev[T.n_ev++] = *e;
	return 0;
}

static const char *path_of(const char *name)
{
	static char buf[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", T.dir, name);
	return buf[i];
}

static const char *new_file(const char *name, const char *content)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(content, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

static bool holds(const char *path, const char *content)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return f && !strcmp(buf, content);
}

/* Runs argv with stdout and stderr (merged) in out, and stdin in_fd unless it is -1; returns
 * the wait status, exit status 126 when execv() failed with EPERM. */
static int run_in(char *const argv[], int in_fd, char *out, size_t cap)
{
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (in_fd >= 0)
			dup2(in_fd, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(errno == EPERM ? 126 : 127);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, cap - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int run(char *const argv[], char *out, size_t cap)
{
	return run_in(argv, -1, out, cap);
}

static void reads(const char *prog, const char *path, const char *content)
{
	char *argv[] = {(char *)prog, (char *)path, NULL}, out[4096];
	int st = run(argv, out, sizeof(out));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(out, content);
}

/* prog is refused: exit status 1, EPERM's message, not a byte of the data, not killed. */
static void refused(const char *prog, const char *path)
{
	char *argv[] = {(char *)prog, (char *)path, NULL}, out[4096];
	int st = run(argv, out, sizeof(out));

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
		print_message("%s %s: wait status %#x: %s\n", prog, path, st, out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(out, "Operation not permitted"));
	assert_null(strstr(out, "42 rows"));
}

static void set_rule(__u32 slot, __u32 flags, const struct fg_inode *apps, size_t n)
{
	struct fg_rule r = {.flags = FG_ACTIVE | flags, .holder_slot = slot};

	assert_int_equal(file_guard__set_rule(T.fg, slot, &r, apps, n), 0);
}

static void set_count(__u32 slot, __u64 limit, const struct fg_inode *app)
{
	struct fg_rule r = {.flags = FG_ACTIVE | FG_APP_ALLOW | FG_COUNT_LIMIT,
			    .count_limit = limit};

	assert_int_equal(file_guard__set_rule(T.fg, slot, &r, app, 1), 0);
}

static void bind(__u32 slot, const char *path)
{
	assert_int_equal(file_guard__bind(T.fg, slot, path), 0);
}

static void events(void)
{
	T.n_ev = 0;
	assert_true(file_guard__poll(T.fg, 0) >= 0);
}

static const struct fg_event *find_event(__u32 slot, __u32 kind)
{
	for (int i = 0; i < T.n_ev; i++)
		if (T.ev[i].slot == slot && T.ev[i].kind == kind)
			return &T.ev[i];
	return NULL;
}

static __u64 uses(__u32 slot)
{
	__u64 count, freq;

	assert_int_equal(file_guard__uses(T.fg, slot, &count, &freq), 0);
	return count;
}

/* In a child of this binary: opens path for reading once go[] closes; exit 0 (opened),
 * 2 (EPERM), 3 (another error). */
static pid_t open_in_child(const char *path, const int go[2])
{
	pid_t pid = fork();
	char c;

	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		(void)!read(go[0], &c, 1); /* EOF: everyone goes at once */
		if (open(path, O_RDONLY) >= 0)
			_exit(0);
		_exit(errno == EPERM ? 2 : 3);
	}
	return pid;
}

/* ---- tests ---------------------------------------------------------------------------- */

/* head is listed and reads; cat and this binary are not: EPERM, exit 1, no kill. */
static void test_listed_reads_other_refused(void **state)
{
	const char *f = new_file("listed", SECRET);
	const struct fg_event *e;

	set_rule(1, FG_APP_ALLOW, &T.head, 1);
	bind(1, f);
	events();
	reads(HEAD, f, SECRET);
	refused(CAT, f);
	assert_int_equal(open(f, O_RDONLY), -1);
	assert_int_equal(errno, EPERM);
	events();
	e = find_event(1, FG_EV_DENIED);
	assert_non_null(e);
	assert_int_equal(e->reason, FG_R_APP);
	assert_int_equal(e->fd, -1); /* refused before an fd existed */
	assert_string_equal(e->comm, "cat");
}

/* count K admits K opens one after the other, and exactly K of 64 racing openers. */
static void test_count_exact(void **state)
{
	const char *seq = new_file("count", SECRET), *par = new_file("parallel", SECRET);
	int go[2], st, admitted = 0, refusals = 0;
	pid_t kids[OPENERS];

	set_count(2, 3, &T.head);
	bind(2, seq);
	for (int i = 0; i < 3; i++)
		reads(HEAD, seq, SECRET);
	refused(HEAD, seq);
	assert_int_equal(uses(2), 3);

	set_count(3, 5, &T.self); /* the openers are this binary */
	bind(3, par);
	assert_int_equal(pipe(go), 0);
	fflush(NULL);
	for (int i = 0; i < OPENERS; i++)
		kids[i] = open_in_child(par, go);
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < OPENERS; i++) {
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st)); /* refused, not killed */
		admitted += WEXITSTATUS(st) == 0;
		refusals += WEXITSTATUS(st) == 2;
	}
	assert_int_equal(admitted, 5);
	assert_int_equal(refusals, OPENERS - 5);
	assert_int_equal(uses(3), 5);
}

/* A prohibition of deletion: unlink, rename (either name), truncate, ftruncate and O_TRUNC
 * fail with EPERM, rm exits 1, and the file stays as it was. */
static void test_no_delete(void **state)
{
	const char *f = new_file("kept", SECRET), *other = new_file("other", "x\n");
	char *rm_argv[] = {"/bin/rm", "-f", (char *)f, NULL}, out[512];
	const struct fg_event *e;
	int fd, st;

	set_rule(4, FG_NO_DELETE, NULL, 0);
	bind(4, f);
	events();
	assert_int_equal(unlink(f), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(rename(f, path_of("moved")), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(rename(other, f), -1); /* would replace it */
	assert_int_equal(errno, EPERM);
	assert_int_equal(truncate(f, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(open(f, O_WRONLY | O_TRUNC), -1);
	assert_int_equal(errno, EPERM);
	fd = open(f, O_WRONLY); /* allowed: no application rule */
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(errno, EPERM);
	close(fd);
	st = run(rm_argv, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_true(holds(f, SECRET));
	events();
	e = find_event(4, FG_EV_DENIED);
	assert_non_null(e);
	assert_int_equal(e->reason, FG_R_NO_DELETE);
	/* without the prohibition the same file goes */
	set_rule(4, 0, NULL, 0);
	assert_int_equal(unlink(f), 0);
}

static void test_terminated_refuses(void **state)
{
	const char *f = new_file("terminated", SECRET);

	set_rule(5, FG_APP_ALLOW, &T.head, 1);
	bind(5, f);
	reads(HEAD, f, SECRET);
	assert_int_equal(file_guard__terminate(T.fg, 5), 0);
	events();
	refused(HEAD, f);
	events();
	assert_int_equal(find_event(5, FG_EV_DENIED)->reason, FG_R_TERMINATED);
}

/* In a child: reads the product (a holder), forks a grandchild, writes a new file (a derived
 * copy), reports the grandchild's pid on out; when stdin closes, ends the grandchild and
 * waits for it, so both are gone when the parent's waitpid() returns. */
static void holder_child(const char *f, const char *copy, int out)
{
	char buf[64];
	int fd = open(f, O_RDONLY), wait_fds[2];
	pid_t kid;

	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0 || pipe(wait_fds))
		_exit(2);
	kid = fork();
	if (kid == 0) {
		close(wait_fds[1]);
		(void)!read(wait_fds[0], buf, 1);
		_exit(0);
	}
	fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, SECRET, strlen(SECRET)) < 0)
		_exit(3);
	close(fd);
	(void)!write(out, &kid, sizeof(kid));
	(void)!read(0, buf, 1);
	close(wait_fds[1]);
	_exit(waitpid(kid, NULL, 0) == kid ? 0 : 4);
}

/* A reader becomes a holder, its child too; a file it writes becomes a derived copy,
 * refused to cat, reported with its path (bpf_d_path); the holders go with the processes. */
static void test_holders_and_copies(void **state)
{
	const char *f = new_file("held", SECRET), *copy = path_of("copy");
	int out[2], in[2], st;
	const struct fg_event *e;
	struct fg_inode copy_id;
	__u64 slots = 0;
	pid_t child, grandchild;

	set_rule(6, FG_APP_ALLOW | FG_MARK_HOLDER | FG_TRACK_COPIES, &T.self, 1);
	bind(6, f);
	events();
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(in), 0);
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		holder_child(f, copy, out[1]);
	}
	assert_int_equal(read(out[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
	assert_int_equal(file_guard__holder(T.fg, child, &slots), 0);
	assert_true(slots & 1ULL << 6);
	assert_int_equal(file_guard__holder(T.fg, grandchild, &slots), 0);
	assert_true(slots & 1ULL << 6);
	refused(CAT, copy);
	close(in[1]);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(in[0]);
	close(out[0]);
	close(out[1]);
	assert_int_equal(file_guard__holder(T.fg, child, &slots), -ENOENT);
	assert_int_equal(file_guard__holder(T.fg, grandchild, &slots), -ENOENT);
	events();
	e = find_event(6, FG_EV_DERIVED);
	assert_non_null(e);
	assert_int_equal(file_guard__inode_of(copy, &copy_id), 0);
	assert_true(e->object.ino == copy_id.ino && e->object.dev == copy_id.dev);
	assert_string_equal(e->path, copy);
}

/* A file created later in a bound directory is bound and decided at once. */
static void test_created_in_bound_dir(void **state)
{
	const char *dir = path_of("product"), *made = path_of("product/new");
	const struct fg_event *e;
	int fd;

	assert_int_equal(mkdir(dir, 0700), 0);
	set_rule(7, FG_APP_ALLOW, &T.self, 1);
	bind(7, dir);
	events();
	fd = open(made, O_WRONLY | O_CREAT, 0600); /* this binary is listed */
	assert_true(fd >= 0);
	assert_true(write(fd, SECRET, strlen(SECRET)) > 0);
	close(fd);
	refused(CAT, made);
	events();
	e = find_event(7, FG_EV_ADDED);
	assert_non_null(e);
	assert_string_equal(e->path, made);
}

/* This binary (listed) opens the product and runs programs with it as their stdin: head
 * (listed) reads it; cat (not listed) cannot even start, its execve() fails with EPERM, since
 * it would get the fd without an open; so with the fd moved up to 1000; with the fd
 * close-on-exec, cat runs. */
static void test_exec_keeps_product(void **state)
{
	const char *f = new_file("exec", SECRET);
	char *cat_argv[] = {CAT, NULL}, *head_argv[] = {HEAD, NULL}, out[512];
	struct fg_inode apps[] = {T.self, T.head}, obj, cat;
	const struct fg_event *e;
	int fd, high, st;

	set_rule(8, FG_APP_ALLOW, apps, 2);
	bind(8, f);
	events();
	fd = open(f, O_RDONLY);
	assert_true(fd >= 0);
	st = run_in(head_argv, fd, out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(out, SECRET);
	st = run_in(cat_argv, fd, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 126);
	assert_string_equal(out, "");
	close(fd);
	fd = open(f, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	st = run(cat_argv, out, sizeof(out)); /* stdin: /dev/null */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	high = dup2(fd, 1000); /* not close-on-exec */
	assert_int_equal(high, 1000);
	st = run(cat_argv, out, sizeof(out));
	close(high);
	close(fd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 126);
	events();
	e = find_event(8, FG_EV_DENIED);
	assert_non_null(e);
	assert_int_equal(e->reason, FG_R_APP);
	assert_int_equal(file_guard__inode_of(CAT, &cat), 0);
	assert_int_equal(file_guard__inode_of(f, &obj), 0);
	assert_true(e->exe.dev == cat.dev && e->exe.ino == cat.ino);
	assert_true(e->object.dev == obj.dev && e->object.ino == obj.ino);
	assert_int_equal(e->fd, 0);
}

/* The portable variant of the same object loads and enforces on this kernel as well,
 * without bpf_rdonly_cast() (6.1 lacks it): the fd table is read with a helper there. */
static void test_portable_variant_loads(void **state)
{
	const char *f = new_file("portable", SECRET);
	char root[96], holders[128], *argv[] = {CAT, (char *)f, NULL}, out[512];
	struct file_guard_opts o = {.pin_root = root};
	struct fg_rule r = {.flags = FG_ACTIVE | FG_APP_ALLOW};
	struct file_guard *fg2;
	int st;

	snprintf(root, sizeof(root), "%s-portable", T.pin_root);
	snprintf(holders, sizeof(holders), "%s/holders", root);
	fg2 = file_guard__open(&o);
	assert_non_null(fg2);
	assert_int_equal(file_guard__set_rule(fg2, 0, &r, &T.head, 1), 0);
	assert_int_equal(file_guard__bind(fg2, 0, f), 0);
	reads(HEAD, f, SECRET);
	st = run(argv, out, sizeof(out));
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(file_guard__unpin(fg2), 0);
	file_guard__destroy(fg2);
	(void)unlink(holders);
	(void)rmdir(root);
}

static void test_nothing_dropped(void **state)
{
	__u64 n;

	for (__u32 what = 0; what < FG_DROPS; what++) {
		assert_int_equal(file_guard__drops(T.fg, what, &n), 0);
		assert_int_equal(n, 0);
	}
}

/* Gives path's binding in the pinned file_bound another generation (stale), saving the file's
 * own in *gen, or *gen back (!stale). */
static void set_generation(const char *path, bool stale, __u32 *gen)
{
	char map[128];
	struct fg_binding b;
	struct fg_inode id;
	int fd;

	snprintf(map, sizeof(map), "%s/file_bound", T.pin_root);
	fd = bpf_obj_get(map);
	assert_true(fd >= 0);
	assert_int_equal(file_guard__inode_of(path, &id), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &id, &b), 0);
	if (stale)
		*gen = b.generation++;
	else
		b.generation = *gen;
	assert_int_equal(bpf_map_update_elem(fd, &id, &b, BPF_EXIST), 0);
	close(fd);
}

/*
 * A binding of another generation, as a bound file deleted behind the agent's back leaves
 * for the next file given its inode number: it does not make that file the product, for
 * opens nor removals (file_guard.h). The VM's filesystem does not reuse numbers, so the
 * entry is made by hand (tests/bpf/test_file_guard.c has ext4 reuse them); with the file's
 * own generation back, the same entry protects it again.
 */
static void test_other_generation(void **state)
{
	const char *f = new_file("generation", SECRET);
	__u32 gen;

	set_rule(9, FG_APP_ALLOW | FG_NO_DELETE, &T.head, 1);
	bind(9, f);
	set_generation(f, true, &gen);
	reads(CAT, f, SECRET);
	set_generation(f, false, &gen);
	refused(CAT, f);
	assert_int_equal(unlink(f), -1);
	assert_int_equal(errno, EPERM);
	set_generation(f, true, &gen);
	assert_int_equal(unlink(f), 0);
}

/* The ioctls that set an inode's generation: FS_IOC_SETVERSION, its 32-bit variant
 * FS_IOC32_SETVERSION, and EXT4_IOC_SETVERSION (fs/ext4/ext4.h, not in the uapi headers). */
static const unsigned long setversion_cmds[] = {FS_IOC_SETVERSION, FS_IOC32_SETVERSION, 0x40086604};

/* errno of ioctl cmd setting the generation of path's inode (0: it was set). */
static int set_version(const char *path, unsigned long cmd)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	long gen = 7;

	if (fd < 0)
		return -1;
	err = ioctl(fd, cmd, &gen) ? errno : 0;
	close(fd);
	return err;
}

/* In a child of this binary: reads f (a holder), writes copy (a derived copy), then sets the
 * copy's generation; exits with ioctl's errno, 100 + errno if a step before it failed. */
static void setversion_child(const char *f, const char *copy)
{
	char buf[64];
	int fd = open(f, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		_exit(100 + errno);
	fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, strlen(SECRET)) < 0 || close(fd))
		_exit(100 + errno);
	_exit(set_version(copy, FS_IOC_SETVERSION));
}

/*
 * The owner may set an inode's generation (`chattr -v`, ext4): a holder that did so on its
 * copy, or a listed application on the bound file, would make the binding another file's
 * (file_guard.h) and the file readable by any program. The ioctls fail with EPERM on bound
 * files and directories, and cat is still refused. The hook runs before the filesystem's
 * ioctl, so this holds on the VM's root filesystem too, which has no such ioctl: an unbound
 * file gets its ENOTTY.
 */
static void test_generation_change(void **state)
{
	const char *f = new_file("setversion", SECRET), *copy = path_of("setversion-copy");
	const char *other = new_file("setversion-other", SECRET), *dir = path_of("setversion-dir");
	const char *unbound = new_file("setversion-unbound", SECRET);
	const struct fg_event *e;
	int st;
	pid_t kid;

	assert_int_equal(mkdir(dir, 0700), 0);
	set_rule(10, FG_APP_ALLOW | FG_MARK_HOLDER | FG_TRACK_COPIES, &T.self, 1);
	bind(10, f);
	/* this process opens these too, and must not become a holder (its files would be
	 * copies): another slot, without FG_MARK_HOLDER */
	set_rule(11, FG_APP_ALLOW, &T.self, 1);
	bind(11, other);
	bind(11, dir);
	events();
	fflush(NULL);
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0)
		setversion_child(f, copy);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), EPERM);
	refused(CAT, copy);
	for (size_t i = 0; i < sizeof(setversion_cmds) / sizeof(*setversion_cmds); i++) {
		assert_int_equal(set_version(other, setversion_cmds[i]), EPERM);
		assert_int_equal(set_version(dir, setversion_cmds[i]), EPERM);
		assert_int_not_equal(set_version(unbound, setversion_cmds[i]), EPERM);
	}
	refused(CAT, other);
	events();
	e = find_event(10, FG_EV_DENIED);
	assert_non_null(e);
	assert_int_equal(e->reason, FG_R_GENERATION);
	assert_int_equal(e->tgid, kid);
}

/* ---- environment ---------------------------------------------------------------------- */

/* NULL when ready, else why the suite must be skipped. */
static const char *env_up(void)
{
	struct file_guard_opts o = {.lsm = true, .on_event = on_event};
	static struct backend_support sup;

	if (geteuid() != 0)
		return "not root";
	if (backend_probe(&sup) || !sup.lsm)
		return "no BPF-LSM here (tests/vm/lsm.t runs this in a VM that has it)";
	T.lsm = true;
	snprintf(T.pin_root, sizeof(T.pin_root), "/sys/fs/bpf/pep-lsm-test-%d", (int)getpid());
	strcpy(T.dir, "/tmp/pep-lsm-XXXXXX");
	if (!mkdtemp(T.dir))
		return "cannot make a temporary directory";
	if (file_guard__inode_of(HEAD, &T.head) ||
	    file_guard__inode_of("/proc/self/exe", &T.self) || access(CAT, X_OK))
		return HEAD " or " CAT " missing";
	o.pin_root = T.pin_root;
	T.fg = file_guard__open(&o);
	return T.fg ? NULL : "the lsm file guard did not load (see the log above)";
}

static void env_down(void)
{
	char path[128];

	if (T.fg)
		(void)file_guard__unpin(T.fg);
	file_guard__destroy(T.fg);
	if (T.pin_root[0]) {
		snprintf(path, sizeof(path), "%s/holders", T.pin_root);
		(void)unlink(path);
		(void)rmdir(T.pin_root);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listed_reads_other_refused),
	    cmocka_unit_test(test_count_exact),
	    cmocka_unit_test(test_no_delete),
	    cmocka_unit_test(test_terminated_refuses),
	    cmocka_unit_test(test_holders_and_copies),
	    cmocka_unit_test(test_created_in_bound_dir),
	    cmocka_unit_test(test_exec_keeps_product),
	    cmocka_unit_test(test_other_generation),
	    cmocka_unit_test(test_generation_change),
	    cmocka_unit_test(test_portable_variant_loads),
	    cmocka_unit_test(test_nothing_dropped),
	};
	const char *why = env_up();
	int failed;

	if (why) {
		/* cmocka 1.1.5 prints a skip as "not ok": say it in TAP ourselves. */
		printf(T.lsm ? "1..1\nnot ok 1 - %s\n" : "1..0 # SKIP %s\n", why);
		env_down();
		return T.lsm ? 1 : 0;
	}
	/* Always TAP: this binary runs in the VM, where no Makefile exports it. */
	cmocka_set_message_output(CM_OUTPUT_TAP);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	env_down();
	return failed ? 1 : 0;
}
