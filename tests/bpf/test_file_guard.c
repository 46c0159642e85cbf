// SPDX-License-Identifier: Apache-2.0
/*
 * The file guard in the kernel (bpf/file_guard.bpf.c through agent/file_guard.c), with
 * real programs: cat, head, cp, python3, mkdir, sh.
 *
 * Scope: the test runs in its own mount namespace with a private bpffs on /sys/fs/bpf, so
 * pins and links go with the process even if it crashes; the pin root is
 * /sys/fs/bpf/pep-test-<pid> there. The files it binds live in its own temporary
 * directory; only processes it starts ever open them and only they are signalled. The test
 * process itself never opens a bound file (it is not an allowed application).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/holders.h"
#include "bpf/file_guard.h"
#include "agent/file_guard.h"

#define SECRET	   "the data product: 42 rows\n"
#define MAX_EVENTS 512
#define OPENERS	   64

static struct {
	char dir[64]; /* our temporary directory */
	char pin_root[64];
	bool bpffs_mounted;
	struct file_guard *fg;
	struct fg_event ev[MAX_EVENTS];
	int n_ev;
	struct fg_inode cat, head, cp, python, self;
} T;

/* ---- environment ---------------------------------------------------------------------- */

static bool mounted(const char *fstype)
{
	char line[512], type[64];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %63s", type) == 1 && !strcmp(type, fstype);
	fclose(f);
	return found;
}

static int on_event(void *ctx, const struct fg_event *e)
{
	if (T.n_ev < MAX_EVENTS)
		T.ev[T.n_ev++] = *e;
	return 0;
}

/* NULL when ready, else why the suite must be skipped. */
static const char *env_up(void)
{
	struct file_guard_opts o = {.on_event = on_event};

	if (geteuid() != 0)
		return "not root";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "no kernel BTF (/sys/kernel/btf/vmlinux)";
	if (!mounted("cgroup2"))
		return "cgroup v2 not mounted";
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return "cannot make a private mount namespace";
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL))
		return "cannot mount bpffs";
	T.bpffs_mounted = true;
	snprintf(T.pin_root, sizeof(T.pin_root), "/sys/fs/bpf/pep-test-%d", (int)getpid());
	strcpy(T.dir, "/tmp/pep-fg-XXXXXX");
	if (!mkdtemp(T.dir))
		return "cannot make a temporary directory";
	if (file_guard__inode_of("/usr/bin/cat", &T.cat) ||
	    file_guard__inode_of("/usr/bin/head", &T.head) ||
	    file_guard__inode_of("/usr/bin/cp", &T.cp) ||
	    file_guard__inode_of("/usr/bin/python3", &T.python) ||
	    file_guard__inode_of("/proc/self/exe", &T.self))
		return "cat, head, cp or python3 missing from /usr/bin";
	o.pin_root = T.pin_root;
	T.fg = file_guard__open(&o);
	if (!T.fg)
		return "file guard did not load (see the log above)";
	return NULL;
}

static int rm_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) ? 0 : 0; /* best effort */
}

static void env_down(void)
{
	char path[128];

	if (T.fg)
		(void)file_guard__unpin(T.fg);
	file_guard__destroy(T.fg);
	T.fg = NULL;
	if (T.pin_root[0]) {
		snprintf(path, sizeof(path), "%s/holders", T.pin_root);
		(void)unlink(path);
		(void)rmdir(T.pin_root);
	}
	if (T.bpffs_mounted)
		(void)umount("/sys/fs/bpf");
	if (T.dir[0] && strcmp(T.dir, "/tmp/pep-fg-XXXXXX"))
		(void)nftw(T.dir, rm_visit, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers -------------------------------------------------------------------------- */

static const char *path_of(const char *name)
{
	static char buf[16][PATH_MAX]; /* a test uses at most a few at once */
	static int i;

	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", T.dir, name);
	return buf[i];
}

/* Writes a file (before it is bound: afterwards the test process must not open it). */
static const char *new_file(const char *name, const char *content)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Runs argv (a NULL-terminated list) with stdout captured into out; returns the wait
 * status. stdin is /dev/null or, with ret_stdin, a pipe left open for the caller. */
static int run(char *const argv[], char *out, size_t cap, size_t *ret_len)
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
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		if (!getenv("TEST_STDERR"))
			dup2(null, 2);
		dup2(fds[1], 1);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, cap - 1 - len)) > 0 && len + n < cap - 1)
		len += n;
	if (n > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*ret_len = len;
	return status;
}

/* prog reads path to stdout; asserts that it was allowed and printed the content. */
static void reads(const char *prog, const char *path, const char *content)
{
	char *argv[] = {(char *)prog, (char *)path, NULL}, out[4096];
	size_t len;
	int st = run(argv, out, sizeof(out), &len);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(out, content);
}

/* Runs argv; asserts it was killed with SIGKILL and printed nothing. */
static void run_killed(char *const argv[])
{
	char out[4096];
	size_t len;
	int st = run(argv, out, sizeof(out), &len);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(len, 0);
}

/* prog reads path; asserts it was killed with SIGKILL and printed nothing. */
static void killed(const char *prog, const char *path)
{
	char *argv[] = {(char *)prog, (char *)path, NULL};

	run_killed(argv);
}

static void run_ok(char *const argv[])
{
	char out[4096];
	size_t len;
	int st = run(argv, out, sizeof(out), &len);

	if (!WIFEXITED(st) || WEXITSTATUS(st))
		print_message("%s %s: wait status %#x\n", argv[0], argv[1], st);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static struct fg_rule rule(__u32 flags)
{
	struct fg_rule r = {.flags = FG_ACTIVE | flags};

	return r;
}

static void set_rule(__u32 slot, const struct fg_rule *r, const struct fg_inode *apps, size_t n)
{
	assert_int_equal(file_guard__set_rule(T.fg, slot, r, apps, n), 0);
}

static void bind(__u32 slot, const char *path)
{
	assert_int_equal(file_guard__bind(T.fg, slot, path), 0);
}

/* Collects pending events into T.ev (after dropping older ones with keep == false). */
static void events(bool keep)
{
	if (!keep)
		T.n_ev = 0;
	assert_true(file_guard__poll(T.fg, 0) >= 0);
}

static int count_events(__u32 slot, __u32 kind)
{
	int i, n = 0;

	for (i = 0; i < T.n_ev; i++)
		n += T.ev[i].slot == slot && T.ev[i].kind == kind;
	return n;
}

static const struct fg_event *find_event(__u32 slot, __u32 kind)
{
	int i;

	for (i = 0; i < T.n_ev; i++)
		if (T.ev[i].slot == slot && T.ev[i].kind == kind)
			return &T.ev[i];
	return NULL;
}

static bool same_inode(const struct fg_inode *a, const struct fg_inode *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

static struct fg_inode inode_of(const char *path)
{
	struct fg_inode id;

	assert_int_equal(file_guard__inode_of(path, &id), 0);
	return id;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_listed_app_reads(void **state)
{
	const char *f = new_file("listed", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW);
	const struct fg_event *e;
	struct fg_inode obj = inode_of(f);

	set_rule(1, &r, &T.cat, 1);
	bind(1, f);
	events(false);
	reads("/usr/bin/cat", f, SECRET);
	events(true);
	e = find_event(1, FG_EV_ALLOWED);
	assert_non_null(e);
	assert_int_equal(e->verdict, FG_ALLOW);
	assert_true(same_inode(&e->exe, &T.cat));
	assert_true(same_inode(&e->object, &obj));
	assert_string_equal(e->comm, "cat");
}

/* head is not listed, nor is a byte-identical copy of cat: identity is the binary's inode. */
static void test_other_app_killed(void **state)
{
	const char *f = new_file("other", SECRET), *cat2 = path_of("cat-copy");
	char *cp_argv[] = {"/usr/bin/cp", "/usr/bin/cat", (char *)cat2, NULL};
	struct fg_rule r = rule(FG_APP_ALLOW);
	const struct fg_event *e;

	run_ok(cp_argv);
	set_rule(2, &r, &T.cat, 1);
	bind(2, f);
	events(false);
	killed("/usr/bin/head", f);
	killed(cat2, f);
	reads("/usr/bin/cat", f, SECRET);
	events(true);
	assert_int_equal(count_events(2, FG_EV_DENIED), 2);
	e = find_event(2, FG_EV_DENIED);
	assert_int_equal(e->reason, FG_R_APP);
	assert_int_equal(e->verdict, FG_DENY);
	assert_true(same_inode(&e->exe, &T.head));
	assert_int_equal(e->error, 0); /* the signal went out */
}

static void test_count_limit(void **state)
{
	const char *f = new_file("count", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW | FG_COUNT_LIMIT);
	__u64 count, freq;
	int i;

	r.count_limit = 3;
	set_rule(3, &r, &T.cat, 1);
	bind(3, f);
	events(false);
	for (i = 0; i < 3; i++)
		reads("/usr/bin/cat", f, SECRET);
	killed("/usr/bin/cat", f);
	assert_int_equal(file_guard__uses(T.fg, 3, &count, &freq), 0);
	assert_int_equal(count, 3);
	events(true);
	assert_int_equal(count_events(3, FG_EV_COUNTED), 3);
	assert_int_equal(count_events(3, FG_EV_EXHAUSTED), 1);
	assert_int_equal(find_event(3, FG_EV_EXHAUSTED)->reason, FG_R_COUNT);
}

/* Write-only opens are decided but are not uses. */
static void test_write_only_not_counted(void **state)
{
	const char *f = new_file("wronly", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW | FG_COUNT_LIMIT);
	char *py_argv[] = {"/usr/bin/python3", "-c",
			   "import os,sys\n"
			   "for i in range(3): os.close(os.open(sys.argv[1], os.O_WRONLY))\n",
			   (char *)f, NULL};
	__u64 count, freq;

	r.count_limit = 1;
	set_rule(4, &r, &T.python, 1);
	bind(4, f);
	run_ok(py_argv);
	assert_int_equal(file_guard__uses(T.fg, 4, &count, &freq), 0);
	assert_int_equal(count, 0);
}

/* 64 children open at once against K = 5: exactly 5 survive, and the counter says 5. */
static void test_parallel_openers_exact(void **state)
{
	const char *f = new_file("parallel", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW | FG_COUNT_LIMIT);
	int go[2], i, st, admitted = 0, refused = 0;
	pid_t kids[OPENERS];
	__u64 count, freq;
	char c;

	r.count_limit = 5;
	set_rule(5, &r, &T.self, 1); /* the children are this binary */
	bind(5, f);
	assert_int_equal(pipe(go), 0);
	fflush(NULL);
	for (i = 0; i < OPENERS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			close(go[1]);
			(void)!read(go[0], &c, 1); /* EOF: everyone goes at once */
			_exit(open(f, O_RDONLY) < 0 ? 2 : 0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < OPENERS; i++) {
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		admitted += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		refused += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	}
	assert_int_equal(admitted, 5);
	assert_int_equal(refused, OPENERS - 5);
	assert_int_equal(file_guard__uses(T.fg, 5, &count, &freq), 0);
	assert_int_equal(count, 5);
}

/* Files created later in a bound directory, and in a subdirectory made later, are bound. */
static void test_created_in_bound_dir(void **state)
{
	const char *src = new_file("plain-src", SECRET), *dir = path_of("product");
	const char *made = path_of("product/new"), *sub = path_of("product/sub");
	const char *deep = path_of("product/sub/deeper");
	char *cp1[] = {"/usr/bin/cp", (char *)src, (char *)made, NULL};
	char *mk[] = {"/usr/bin/mkdir", (char *)sub, NULL};
	char *cp2[] = {"/usr/bin/cp", (char *)src, (char *)deep, NULL};
	struct fg_inode apps[] = {T.cat, T.cp};
	struct fg_rule r = rule(FG_APP_ALLOW);
	struct fg_inode made_id;
	const struct fg_event *e;

	assert_int_equal(mkdir(dir, 0700), 0);
	set_rule(6, &r, apps, 2);
	bind(6, dir);
	events(false);
	run_ok(cp1);
	run_ok(mk);
	run_ok(cp2);
	killed("/usr/bin/head", made);
	killed("/usr/bin/head", deep);
	reads("/usr/bin/cat", made, SECRET);
	reads("/usr/bin/cat", deep, SECRET);
	events(true);
	assert_int_equal(count_events(6, FG_EV_ADDED), 2);
	made_id = inode_of(made);
	e = find_event(6, FG_EV_ADDED);
	assert_true(same_inode(&e->object, &made_id));
	assert_non_null(strstr(e->path, "new"));
}

static int find_copy(void *ctx, const struct fg_inode *id, const struct fg_derived *d)
{
	const struct fg_inode *want = ctx;

	return same_inode(id, want) && d->slot == 7 ? 1 : 0;
}

/* A holder's cp makes a derived copy: protected like the original, and reported. */
static void test_derived_copy(void **state)
{
	const char *f = new_file("original", SECRET), *copy = path_of("copy");
	char *cp_argv[] = {"/usr/bin/cp", (char *)f, (char *)copy, NULL};
	struct fg_rule r = rule(FG_APP_ALLOW | FG_MARK_HOLDER | FG_TRACK_COPIES);
	struct fg_inode apps[] = {T.cat, T.cp}, copy_id;
	const struct fg_event *e;

	r.holder_slot = 7;
	set_rule(7, &r, apps, 2);
	bind(7, f);
	events(false);
	run_ok(cp_argv);
	killed("/usr/bin/head", copy);
	reads("/usr/bin/cat", copy, SECRET);
	events(true);
	copy_id = inode_of(copy);
	e = find_event(7, FG_EV_DERIVED);
	assert_non_null(e);
	assert_true(same_inode(&e->object, &copy_id));
	assert_true(same_inode(&e->exe, &T.cp));
	assert_non_null(strstr(e->path, "copy"));
	assert_true(e->fd >= 0);
	assert_int_equal(file_guard__for_each_derived(T.fg, find_copy, &copy_id), 1);
}

/* `cat data > copy`: the shell opened copy before cat became a holder; cat's open fds are
 * looked at when it becomes one. */
static void test_derived_by_redirect(void **state)
{
	const char *f = new_file("redirected", SECRET), *copy = path_of("redirect-copy");
	char *sh_argv[] = {"/bin/sh", "-c",	    "/usr/bin/cat \"$0\" > \"$1\"",
			   (char *)f, (char *)copy, NULL};
	struct fg_rule r = rule(FG_APP_ALLOW | FG_MARK_HOLDER | FG_TRACK_COPIES);
	struct fg_inode copy_id;
	const struct fg_event *e;

	r.holder_slot = 17;
	set_rule(17, &r, &T.cat, 1);
	bind(17, f);
	events(false);
	run_ok(sh_argv);
	killed("/usr/bin/head", copy);
	reads("/usr/bin/cat", copy, SECRET);
	events(true);
	copy_id = inode_of(copy);
	e = find_event(17, FG_EV_DERIVED);
	assert_non_null(e);
	assert_true(same_inode(&e->object, &copy_id));
	assert_int_equal(e->fd, 1); /* cat's stdout */
}

/* python3 reads (a holder), forks; the child is a holder too, until it exits. */
static void test_holder_inherited(void **state)
{
	const char *f = new_file("held", SECRET);
	const char *code = "import os,sys\n"
			   "open(sys.argv[1]).read()\n"
			   "pid = os.fork()\n"
			   "if pid == 0:\n"
			   "    sys.stdin.read(); os._exit(0)\n"
			   "print(pid, flush=True)\n"
			   "os.waitpid(pid, 0)\n";
	struct fg_rule r = rule(FG_APP_ALLOW | FG_MARK_HOLDER);
	int in[2], out[2], st;
	char line[32] = "";
	__u64 slots = 0;
	pid_t py, child;

	r.holder_slot = 8;
	set_rule(8, &r, &T.python, 1);
	bind(8, f);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fflush(NULL);
	py = fork();
	assert_true(py >= 0);
	if (py == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", "-c", code, f, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	assert_true(read(out[0], line, sizeof(line) - 1) > 0);
	child = atoi(line);
	assert_true(child > 0);
	assert_int_equal(file_guard__holder(T.fg, py, &slots), 0);
	assert_true(slots & 1ULL << 8);
	slots = 0;
	assert_int_equal(file_guard__holder(T.fg, child, &slots), 0);
	assert_true(slots & 1ULL << 8);
	close(in[1]); /* the child's stdin reaches EOF: both exit */
	assert_int_equal(waitpid(py, &st, 0), py);
	close(out[0]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(file_guard__holder(T.fg, child, &slots), -ENOENT);
	assert_int_equal(file_guard__holder(T.fg, py, &slots), -ENOENT);
}

static void test_terminated_refuses(void **state)
{
	const char *f = new_file("terminated", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW);

	set_rule(9, &r, &T.cat, 1);
	bind(9, f);
	reads("/usr/bin/cat", f, SECRET);
	assert_int_equal(file_guard__terminate(T.fg, 9), 0);
	events(false);
	killed("/usr/bin/cat", f);
	killed("/usr/bin/head", f);
	events(true);
	assert_int_equal(count_events(9, FG_EV_DENIED), 2);
	assert_int_equal(find_event(9, FG_EV_DENIED)->reason, FG_R_TERMINATED);
}

/* Replacing the rule switches the application list in one step. */
static void test_replace_rule(void **state)
{
	const char *f = new_file("replaced", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW);

	set_rule(10, &r, &T.cat, 1);
	bind(10, f);
	reads("/usr/bin/cat", f, SECRET);
	set_rule(10, &r, &T.head, 1);
	killed("/usr/bin/cat", f);
	reads("/usr/bin/head", f, SECRET);
}

static __u32 link_id(const char *prog)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/link_%s", T.pin_root, prog);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

/* The loader goes away without unpinning: enforcement and counts go on; a new loader
 * adopts the same links (no second program, no gap) and the same maps. */
static void test_adopt_pinned(void **state)
{
	const char *f = new_file("adopted", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW | FG_COUNT_LIMIT), seen;
	struct file_guard_opts o = {.pin_root = T.pin_root, .on_event = on_event};
	__u32 link = link_id("file_open_check");
	__u64 count, freq;

	r.count_limit = 4;
	set_rule(11, &r, &T.cat, 1);
	bind(11, f);
	reads("/usr/bin/cat", f, SECRET);
	file_guard__destroy(T.fg);
	T.fg = NULL;
	killed("/usr/bin/head", f);	  /* no loader: still refused */
	reads("/usr/bin/cat", f, SECRET); /* and still counted */
	T.fg = file_guard__open(&o);
	assert_non_null(T.fg);
	assert_int_equal(link_id("file_open_check"), link);
	assert_int_equal(file_guard__rule(T.fg, 11, &seen), 0);
	assert_int_equal(seen.count_limit, 4);
	assert_int_equal(file_guard__uses(T.fg, 11, &count, &freq), 0);
	assert_int_equal(count, 2);
	reads("/usr/bin/cat", f, SECRET);
	reads("/usr/bin/cat", f, SECRET);
	killed("/usr/bin/cat", f);
	assert_int_equal(file_guard__uses(T.fg, 11, &count, &freq), 0);
	assert_int_equal(count, 4);
}

/* A 32-bit open (int 0x80, ia32 syscall numbers) is decided too. */
static void test_ia32_open(void **state)
{
	const char *f = new_file("ia32", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW);
	char *low;
	pid_t pid;
	int st;

	set_rule(12, &r, &T.cat, 1);
	bind(12, f);
	low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
		   0);
	assert_true(low != MAP_FAILED);
	strcpy(low, f);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long ret = 5; /* ia32 open */

		__asm__ volatile("int $0x80"
				 : "+a"(ret)
				 : "b"((long)low), "c"(O_RDONLY)
				 : "memory");
		_exit(ret == -ENOSYS ? 3 : ret < 0 ? 2 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	munmap(low, 4096);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		skip(); /* ia32 emulation off at boot */
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
}

/* Frequency: 2 uses per 2 s window from not_before; the next window admits again. */
static void test_frequency_window(void **state)
{
	const char *f = new_file("frequency", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW | FG_FREQ_LIMIT);
	__u64 window = 2000000000ull, start, count, freq;
	struct timespec rest = {.tv_nsec = 10000000};

	start = file_guard__now();
	r.not_before = start;
	r.freq_limit = 2;
	r.freq_window_ns = window;
	set_rule(13, &r, &T.cat, 1);
	bind(13, f);
	events(false);
	reads("/usr/bin/cat", f, SECRET);
	reads("/usr/bin/cat", f, SECRET);
	killed("/usr/bin/cat", f);
	assert_true(file_guard__now() - start < window); /* else the test itself was too slow */
	assert_int_equal(file_guard__uses(T.fg, 13, &count, &freq), 0);
	assert_int_equal(freq, 2);
	while (file_guard__now() < start + window + 1000000) /* into the next window */
		nanosleep(&rest, NULL);
	reads("/usr/bin/cat", f, SECRET);
	events(true);
	assert_int_equal(count_events(13, FG_EV_EXHAUSTED), 1);
	assert_int_equal(find_event(13, FG_EV_EXHAUSTED)->reason, FG_R_FREQ);
}

/* Validity: before not_before and after not_after every open is refused. */
static void test_validity(void **state)
{
	const char *early = new_file("early", SECRET), *late = new_file("late", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW);
	__u64 now = file_guard__now();

	r.not_before = now + 3600000000000ull;
	set_rule(14, &r, &T.cat, 1);
	bind(14, early);
	r.not_before = 0;
	r.not_after = now - 1;
	set_rule(15, &r, &T.cat, 1);
	bind(15, late);
	events(false);
	killed("/usr/bin/cat", early);
	killed("/usr/bin/cat", late);
	events(true);
	assert_int_equal(find_event(14, FG_EV_DENIED)->reason, FG_R_NOT_YET);
	assert_int_equal(find_event(15, FG_EV_DENIED)->reason, FG_R_EXPIRED);
}

/* A slot given up no longer protects its files. */
static void test_clear_slot(void **state)
{
	const char *f = new_file("cleared", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW);
	struct fg_rule seen;

	set_rule(16, &r, &T.cat, 1);
	bind(16, f);
	killed("/usr/bin/head", f);
	assert_int_equal(file_guard__clear_slot(T.fg, 16), 0);
	assert_int_equal(file_guard__rule(T.fg, 16, &seen), -ENOENT);
	reads("/usr/bin/head", f, SECRET);
}

/* A second guard with its own pin root: unpinning and destroying it detaches it. */
static void test_unpin_detaches(void **state)
{
	const char *f = new_file("unpinned", SECRET);
	char root[96], holders[128];
	struct file_guard_opts o = {.pin_root = root};
	struct fg_rule r = rule(FG_APP_ALLOW);
	struct file_guard *fg2;

	snprintf(root, sizeof(root), "%s-2", T.pin_root);
	snprintf(holders, sizeof(holders), "%s/holders", root);
	fg2 = file_guard__open(&o);
	assert_non_null(fg2);
	assert_int_equal(file_guard__set_rule(fg2, 0, &r, &T.cat, 1), 0);
	assert_int_equal(file_guard__bind(fg2, 0, f), 0);
	killed("/usr/bin/head", f);
	assert_int_equal(file_guard__unpin(fg2), 0);
	file_guard__destroy(fg2);
	assert_int_equal(unlink(holders), 0);
	assert_int_equal(rmdir(root), 0); /* nothing else was left pinned */
	reads("/usr/bin/head", f, SECRET);
}

static int count_events_of(pid_t tgid)
{
	int i, n = 0;

	for (i = 0; i < T.n_ev; i++)
		n += T.ev[i].tgid == (__u32)tgid;
	return n;
}

/* In a child: trusts itself, reads f twice past a count of 1 without becoming a holder, and
 * a process it forks is still decided (killed). Exit 0 when all of that held. */
static void trusted_child(const char *f)
{
	char buf[64];
	int fd, st;
	pid_t kid;

	if (file_guard__trust_self(T.fg))
		_exit(2);
	for (int i = 0; i < 2; i++) {
		fd = open(f, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
			_exit(3);
		close(fd);
	}
	kid = fork();
	if (kid == 0)
		_exit(open(f, O_RDONLY) < 0 ? 2 : 0);
	if (waitpid(kid, &st, 0) != kid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		_exit(4);
	_exit(file_guard__holder(T.fg, getpid(), &(__u64){0}) == -ENOENT ? 0 : 5);
}

/* The agent's own process is not decided, counted, made a holder or reported; its children
 * are; and a process with its pid but another start time is not the agent. */
static void test_trusted_process(void **state)
{
	const char *f = new_file("trusted", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW | FG_COUNT_LIMIT | FG_MARK_HOLDER);
	struct fg_trusted agent, none = {};
	int go[2], fd, st, zero = 0;
	char path[128];
	__u64 count, freq;
	pid_t a, b;

	r.count_limit = 1;
	r.holder_slot = 18;
	set_rule(18, &r, &T.cat, 1);
	bind(18, f);
	events(false);
	fflush(NULL);
	a = fork();
	assert_true(a >= 0);
	if (a == 0)
		trusted_child(f);
	assert_int_equal(waitpid(a, &st, 0), a);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(file_guard__uses(T.fg, 18, &count, &freq), 0);
	assert_int_equal(count, 0);
	events(true);
	assert_int_equal(count_events_of(a), 0);
	assert_int_equal(count_events(18, FG_EV_DENIED), 1); /* the grandchild */

	/* b gets a's entry with its own pid: the start time still says it is not a */
	snprintf(path, sizeof(path), "%s/file_trusted", T.pin_root);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &agent), 0);
	assert_int_equal(agent.tgid, a);
	assert_int_equal(pipe(go), 0);
	b = fork();
	assert_true(b >= 0);
	if (b == 0) {
		close(go[1]);
		(void)!read(go[0], &st, 1);
		_exit(open(f, O_RDONLY) < 0 ? 2 : 0);
	}
	agent.tgid = b;
	assert_int_equal(bpf_map_update_elem(fd, &zero, &agent, BPF_ANY), 0);
	close(go[0]);
	close(go[1]);
	assert_int_equal(waitpid(b, &st, 0), b);
	assert_int_equal(bpf_map_update_elem(fd, &zero, &none, BPF_ANY), 0);
	close(fd);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
}

#define UNRELATED "someone else's file\n"

/*
 * Makes files (dir: directories) <name>0, <name>1... in our directory until the filesystem
 * gives one the inode number ino, as ext4 gives a deleted file's to the next new file: its
 * path in out; false after 100 (tmpfs does not reuse numbers).
 */
static bool make_with_ino(const char *name, __u64 ino, bool dir, char *out, size_t size)
{
	struct stat st;
	int i, fd;

	for (i = 0; i < 100; i++) {
		snprintf(out, size, "%s/%s%d", T.dir, name, i);
		if (dir) {
			assert_int_equal(mkdir(out, 0700), 0);
		} else {
			fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			assert_true(fd >= 0);
			assert_int_equal(write(fd, UNRELATED, strlen(UNRELATED)),
					 strlen(UNRELATED));
			assert_int_equal(close(fd), 0);
		}
		assert_int_equal(stat(out, &st), 0);
		if (st.st_ino == ino)
			return true;
	}
	print_message("# %s did not reuse inode number %llu: not exercised\n", T.dir,
		      (unsigned long long)ino);
	return false;
}

/*
 * A bound file and a bound directory deleted behind the agent's back (rm while it is down):
 * the file and the directory the filesystem gives their inode numbers next are not the
 * product (file_guard.h: generations). Without generations this process was killed as it
 * made the file, head as it read it, and a file copied into the new directory was adopted.
 * A bound file not deleted stays protected.
 */
static void test_reused_number(void **state)
{
	const char *gone = new_file("reuse-gone", SECRET), *kept = new_file("reuse-kept", SECRET);
	const char *dir = path_of("reuse-dir"), *src = new_file("reuse-src", UNRELATED);
	char path[PATH_MAX], in_dir[PATH_MAX + 8];
	char *cp[] = {"/usr/bin/cp", (char *)src, in_dir, NULL};
	struct fg_rule r = rule(FG_APP_ALLOW);
	__u64 ino = inode_of(gone).ino;

	assert_int_equal(mkdir(dir, 0700), 0);
	set_rule(23, &r, &T.cat, 1);
	bind(23, gone);
	bind(23, kept);
	bind(23, dir);
	assert_int_equal(unlink(gone), 0);
	if (!make_with_ino("reuse-file", ino, false, path, sizeof(path)))
		return;
	reads("/usr/bin/head", path, UNRELATED);
	ino = inode_of(dir).ino;
	assert_int_equal(rmdir(dir), 0);
	if (!make_with_ino("reuse-sub", ino, true, path, sizeof(path)))
		return;
	snprintf(in_dir, sizeof(in_dir), "%s/copy", path);
	events(false);
	run_ok(cp);
	reads("/usr/bin/head", in_dir, UNRELATED);
	events(true);
	assert_int_equal(count_events(23, FG_EV_ADDED), 0);
	killed("/usr/bin/head", kept);
}

/* python3 -c SETVERSION CMD PATH [SOURCE]: copies SOURCE to PATH (a holder's copy) if given,
 * then sets PATH's inode generation with ioctl CMD, as `chattr -v 7 PATH` does. */
#define SETVERSION                                                                                 \
	"import fcntl,os,shutil,struct,sys\n"                                                      \
	"if len(sys.argv) > 3: shutil.copyfile(sys.argv[3], sys.argv[2])\n"                        \
	"fcntl.ioctl(os.open(sys.argv[2], os.O_RDONLY), int(sys.argv[1]), struct.pack('l', 7))\n"  \
	"print('survived')\n"

/* Whether the filesystem of the test's directory lets the owner set a generation (ext4). */
static bool setversion_works(void)
{
	const char *f = new_file("setversion-probe", UNRELATED);
	long gen = 7;
	int fd = open(f, O_RDONLY | O_CLOEXEC), err;

	assert_true(fd >= 0);
	err = ioctl(fd, FS_IOC_SETVERSION, &gen) ? errno : 0;
	(void)close(fd);
	if (err)
		print_message("# %s: FS_IOC_SETVERSION: %s: not exercised\n", T.dir, strerror(err));
	return !err;
}

/*
 * The owner may set a file's inode generation (`chattr -v`): a listed application that did
 * so on its copy, or on the bound file, would make their bindings another file's (file_guard.h)
 * and the files readable by any program. It is killed at the ioctl's exit, the binding takes
 * the new generation, and an unlisted program is still refused; both ioctls (FS_IOC_ and
 * EXT4_IOC_SETVERSION), also on a bound directory, whose new files are still adopted.
 */
static void test_generation_change(void **state)
{
	const char *f = new_file("regen", SECRET), *copy = path_of("regen-copy");
	const char *dir = path_of("regen-dir"), *in_dir = path_of("regen-dir/new");
	const char *src = new_file("regen-src", UNRELATED);
	char fs_cmd[16], ext4_cmd[16];
	char *on_copy[] = {"/usr/bin/python3", "-c", SETVERSION, fs_cmd, (char *)copy, (char *)f,
			   NULL};
	char *on_file[] = {"/usr/bin/python3", "-c", SETVERSION, ext4_cmd, (char *)f, NULL};
	char *on_dir[] = {"/usr/bin/python3", "-c", SETVERSION, fs_cmd, (char *)dir, NULL};
	char *cp[] = {"/usr/bin/cp", (char *)src, (char *)in_dir, NULL};
	struct fg_rule r = rule(FG_APP_ALLOW | FG_MARK_HOLDER | FG_TRACK_COPIES);
	const struct fg_event *e;
	struct fg_inode copy_id;

	if (!setversion_works())
		return;
	snprintf(fs_cmd, sizeof(fs_cmd), "%lu", (unsigned long)FS_IOC_SETVERSION);
	snprintf(ext4_cmd, sizeof(ext4_cmd), "%lu", 0x40086604UL); /* EXT4_IOC_SETVERSION */
	assert_int_equal(mkdir(dir, 0700), 0);
	r.holder_slot = 24;
	set_rule(24, &r, &T.python, 1);
	bind(24, f);
	bind(24, dir);
	events(false);
	run_killed(on_copy);
	killed("/usr/bin/head", copy);
	events(true);
	copy_id = inode_of(copy);
	e = find_event(24, FG_EV_DENIED);
	assert_non_null(e);
	assert_int_equal(e->reason, FG_R_GENERATION);
	assert_true(same_inode(&e->object, &copy_id));
	assert_true(same_inode(&e->exe, &T.python));
	run_killed(on_file);
	killed("/usr/bin/head", f);
	run_killed(on_dir);
	run_killed(cp); /* cp is not listed: a new file in the bound directory is the product */
	events(false);
	assert_int_equal(count_events(24, FG_EV_ADDED), 1);
}

/* An access the agent performs for a workload (file_decide): decided by the slot's rule, on
 * its counter, reported as the workload's; a removal under FG_NO_DELETE refused. */
static void test_decide_for_workload(void **state)
{
	const char *f = new_file("workload", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW | FG_COUNT_LIMIT | FG_NO_DELETE);
	struct fg_ask ask = {.object = inode_of(f),
			     .exe = T.head,
			     .pid = 4242,
			     .tgid = 4242,
			     .flags = FG_ASK_OPEN | FG_ASK_REGULAR,
			     .fmode = FG_FMODE_READ};
	const struct fg_event *e;
	__u64 count, freq;

	r.count_limit = 1;
	/* the agent's fd, as it opens for the workload; before the bind: this process is not
	 * trusted */
	ask.fd = open(f, O_RDONLY | O_CLOEXEC);
	assert_true(ask.fd >= 0);
	set_rule(19, &r, &T.cat, 1);
	bind(19, f);
	strcpy(ask.comm, "workload");
	events(false);
	assert_int_equal(file_guard__decide(T.fg, &ask), -EACCES); /* head is not listed */
	assert_int_equal(ask.reason, FG_R_APP);
	ask.exe = T.cat;
	assert_int_equal(file_guard__decide(T.fg, &ask), 0);
	assert_int_equal(file_guard__decide(T.fg, &ask), -EACCES); /* count 1 used up */
	assert_int_equal(ask.reason, FG_R_COUNT);
	assert_int_equal(file_guard__uses(T.fg, 19, &count, &freq), 0);
	assert_int_equal(count, 1);
	ask.flags = FG_ASK_DESTROY | FG_ASK_REGULAR;
	assert_int_equal(file_guard__decide(T.fg, &ask), -EACCES);
	assert_int_equal(ask.reason, FG_R_NO_DELETE);
	events(true);
	e = find_event(19, FG_EV_COUNTED);
	assert_non_null(e);
	assert_int_equal(e->tgid, 4242);
	assert_string_equal(e->comm, "workload");
	assert_true(same_inode(&e->exe, &T.cat));
	assert_int_equal(e->fd, -1);
	assert_int_equal(find_event(19, FG_EV_DENIED)->reason, FG_R_APP);
	(void)close(ask.fd);
}

/* Fills argv (9 entries) for python3 opening f and exec'ing `prog -c script`, "FD" in script
 * replaced by the fd: mode "keep" leaves the fd open across the exec, "high" moves it up to
 * 1000 (open), "cloexec" lets the exec close it (Python's default). */
static void python_exec_argv(char **argv, const char *f, const char *mode, const char *prog,
			     const char *script)
{
	static const char code[] =
	    "import os,sys\n"
	    "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
	    "if sys.argv[2] == 'high': fd = os.dup2(fd, 1000)\n"
	    "else: os.set_inheritable(fd, sys.argv[2] == 'keep')\n"
	    "os.execv(sys.argv[3], [a.replace('FD', str(fd)) for a in sys.argv[3:]])\n";
	char *v[] = {"/usr/bin/python3", "-c", (char *)code,   (char *)f, (char *)mode,
		     (char *)prog,	 "-c", (char *)script, NULL};

	memcpy(argv, v, sizeof(v));
}

/* python3 (listed) opens the product, then execs: with the fd kept open, sh (not listed) is
 * killed before it runs (the fd would let `cat <&N` read the product without an open), also
 * with the fd moved up to 1000; python3 (listed) reads it; with the fd close-on-exec, sh
 * runs. */
static void test_exec_keeps_product(void **state)
{
	const char *f = new_file("exec", SECRET);
	struct fg_rule r = rule(FG_APP_ALLOW);
	struct fg_inode obj = inode_of(f), sh = inode_of("/bin/sh");
	char out[4096], *argv[9];
	const struct fg_event *e;
	size_t len;
	int st;

	set_rule(20, &r, &T.python, 1);
	bind(20, f);
	events(false);
	python_exec_argv(argv, f, "keep", "/bin/sh", "cat <&FD");
	run_killed(argv);
	python_exec_argv(argv, f, "high", "/bin/sh", "cat <&FD");
	run_killed(argv);
	python_exec_argv(argv, f, "keep", "/usr/bin/python3",
			 "import os; print(os.read(FD, 100).decode(), end='')");
	st = run(argv, out, sizeof(out), &len);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(out, SECRET);
	python_exec_argv(argv, f, "cloexec", "/bin/sh", "exit 7");
	st = run(argv, out, sizeof(out), &len);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	events(true);
	assert_int_equal(count_events(20, FG_EV_DENIED), 2);
	e = find_event(20, FG_EV_DENIED);
	assert_int_equal(e->reason, FG_R_APP);
	assert_true(same_inode(&e->exe, &sh));
	assert_true(same_inode(&e->object, &obj));
	assert_true(e->fd >= 3);
	assert_int_equal(e->error, 0); /* the signal went out */
}

/* Nothing was lost on the way: no ring overflow, no full map. */
static void test_nothing_dropped(void **state)
{
	__u64 n;
	__u32 what;

	for (what = 0; what < FG_DROPS; what++) {
		assert_int_equal(file_guard__drops(T.fg, what, &n), 0);
		assert_int_equal(n, 0);
	}
}

/*
 * Journal full (file_record_state set by the agent): a rule that requires its uses to be
 * recorded refuses them, one that does not admits them. Then the ring buffer full, which is
 * the same for the programs: an open is admitted only when its record has a place. Runs
 * last: it fills the ring, so drops are counted (test_nothing_dropped is before it).
 */
static void test_unrecordable(void **state)
{
	const char *f = new_file("recorded", SECRET), *g = new_file("unrecorded", SECRET);
	struct fg_rule must = rule(FG_APP_ALLOW | FG_RECORD_REQUIRED), may = rule(FG_APP_ALLOW);
	char *argv[] = {"/usr/bin/cat", (char *)f, NULL}, out[4096];
	size_t len;
	__u64 lost;
	int i, st;

	set_rule(21, &must, &T.cat, 1);
	bind(21, f);
	set_rule(22, &may, &T.cat, 1);
	bind(22, g);
	reads("/usr/bin/cat", f, SECRET);
	assert_int_equal(file_guard__set_journal_full(T.fg, true), 0);
	events(false);
	killed("/usr/bin/cat", f);
	reads("/usr/bin/cat", g, SECRET);
	events(true);
	assert_int_equal(count_events(21, FG_EV_DENIED), 1);
	assert_int_equal(find_event(21, FG_EV_DENIED)->reason, FG_R_UNRECORDABLE);
	assert_int_equal(file_guard__set_journal_full(T.fg, false), 0);
	reads("/usr/bin/cat", f, SECRET);

	/* the ring buffer (256 KiB, ~2 200 short events) fills when nobody reads it */
	for (i = 0; i < 4000; i++) {
		st = run(argv, out, sizeof(out), &len);
		if (WIFSIGNALED(st))
			break;
	}
	print_message("# refused after %d admitted opens, the ring buffer full\n", i);
	assert_true(i > 100 && i < 4000);
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(len, 0);
	reads("/usr/bin/cat", g, SECRET); /* recording not required: admitted, the loss counted */
	assert_int_equal(file_guard__drops(T.fg, FG_DROP_EVENT, &lost), 0);
	assert_true(lost >= 2);
	while (file_guard__poll(T.fg, 0) > 0)
		; /* room again */
	reads("/usr/bin/cat", f, SECRET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listed_app_reads),
	    cmocka_unit_test(test_other_app_killed),
	    cmocka_unit_test(test_count_limit),
	    cmocka_unit_test(test_write_only_not_counted),
	    cmocka_unit_test(test_parallel_openers_exact),
	    cmocka_unit_test(test_created_in_bound_dir),
	    cmocka_unit_test(test_derived_copy),
	    cmocka_unit_test(test_derived_by_redirect),
	    cmocka_unit_test(test_holder_inherited),
	    cmocka_unit_test(test_terminated_refuses),
	    cmocka_unit_test(test_replace_rule),
	    cmocka_unit_test(test_adopt_pinned),
	    cmocka_unit_test(test_ia32_open),
	    cmocka_unit_test(test_frequency_window),
	    cmocka_unit_test(test_validity),
	    cmocka_unit_test(test_clear_slot),
	    cmocka_unit_test(test_unpin_detaches),
	    cmocka_unit_test(test_trusted_process),
	    cmocka_unit_test(test_reused_number),
	    cmocka_unit_test(test_generation_change),
	    cmocka_unit_test(test_decide_for_workload),
	    cmocka_unit_test(test_exec_keeps_product),
	    cmocka_unit_test(test_nothing_dropped),
	    cmocka_unit_test(test_unrecordable),
	};
	const char *why;
	int failed;

	why = env_up();
	if (why) {
		/* cmocka 1.1.5 prints a skip as "not ok": say it in TAP ourselves. */
		printf("1..0 # SKIP %s\n", why);
		env_down();
		return 0;
	}
	cmocka_set_message_output(CM_OUTPUT_TAP);
	/* tests/vm/portable.t leaves out what takes long under emulation and does not depend
	 * on the kernel's version */
	if (getenv("PEP_TEST_SKIP"))
		cmocka_set_skip_filter(getenv("PEP_TEST_SKIP"));
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	env_down();
	return failed ? 1 : 0;
}
