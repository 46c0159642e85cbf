// SPDX-License-Identifier: Apache-2.0
/*
 * The workload supervisor (agent/workload.c) with real programs started by `pepctl run`.
 *
 * The supervisor runs in this process, on its own event loop in a thread, with the workload
 * socket in a temporary directory; workloads are `$OUTPUT/pepctl --socket DIR/admin.sock run
 * --contract C -- CMD`. The decision callback protects one file, DIR/data: cat may open it,
 * every other executable gets EACCES; under `pol.no_delete` unlink, rename and truncation
 * of it get EPERM. Scope: files under a fresh /tmp directory, a cgroup made under the cgroup
 * v2 mount for this run (removed at the end), and the processes the tests start.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
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
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <event2/event.h>

#include "agent/probe.h"
#include "agent/workload.h"

#define CONTRACT "urn:pep:test:workload"
#define SLOT	 7
#define PYTHON	 "/usr/bin/python3"
#define NOBODY	 "65534"

static struct {
	char dir[64];	 /* ours, in /tmp */
	char files[80];	 /* DIR/f: the files, made again for each test */
	char admin[128]; /* DIR/admin.sock: pepctl adds ".workload" */
	char pepctl[PATH_MAX];
	char cgroup2[PATH_MAX];		 /* the cgroup v2 mount */
	char cgroup_root[PATH_MAX + 32]; /* ours, under it */
	char cgroup[PATH_MAX + 64];	 /* the contract's */
	struct event_base *base;
	struct event *stop_ev;
	struct workloads *w;
	int stop[2];
	pthread_t loop;
	bool loop_running;
} env;

/* What decide() is told and what it saw; shared with the loop thread. */
static struct {
	pthread_mutex_t lock;
	struct stat data, cat;	     /* the protected file, the executable allowed to open it */
	bool no_delete;		     /* a prohibition of deletion */
	ino_t swap_on;		     /* when deciding on this inode, point DIR/link at DIR/data */
	unsigned int n_data;	     /* decisions about the protected file */
	struct workload_access last; /* the last of them */
	char cgroup[PATH_MAX];	     /* the last caller's cgroup, read by the supervisor */
} pol = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- helpers --------------------------------------------------------------------------- */

static char *path_of(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", env.files, name);
	return buf[i];
}

static void put_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(path_of(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static bool exists(const char *name)
{
	struct stat st;

	return lstat(path_of(name), &st) == 0;
}

static void read_cgroup(pid_t pid, char *buf, size_t size)
{
	char path[64], line[PATH_MAX];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			snprintf(buf, size, "%.*s", (int)strcspn(line + 3, "\n"), line + 3);
	if (f)
		fclose(f);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* The supervisor holds nothing once a workload is gone; its hang-up arrives a little
 * after the process exits. */
static void assert_fds_back_to(int baseline)
{
	for (int i = 0; i < 200 && count_fds() != baseline; i++)
		usleep(10 * 1000);
	assert_int_equal(count_fds(), baseline);
}

/* ---- the policy ------------------------------------------------------------------------ */

static bool same_file(dev_t dev, ino_t ino, const struct stat *st)
{
	return dev == st->st_dev && ino == st->st_ino;
}

static int decide(void *ctx, const struct workload_access *a)
{
	int r = 0;

	pthread_mutex_lock(&pol.lock);
	read_cgroup(a->pid, pol.cgroup, sizeof(pol.cgroup));
	if (pol.swap_on && a->ino == pol.swap_on) {
		/* The path the program passed now leads elsewhere: too late to matter. */
		(void)unlink(path_of("link"));
		assert_int_equal(symlink(path_of("data"), path_of("link")), 0);
		pol.swap_on = 0;
	}
	if (same_file(a->dev, a->ino, &pol.data)) {
		pol.n_data++;
		pol.last = *a;
		if (a->op != WORKLOAD_OPEN || (a->flags & O_TRUNC))
			r = pol.no_delete ? -EPERM : 0;
		else
			r = same_file(a->exe_dev, a->exe_ino, &pol.cat) ? 0 : -EACCES;
	}
	pthread_mutex_unlock(&pol.lock);
	return r;
}

/* ---- running workloads ----------------------------------------------------------------- */

struct run {
	int status; /* pepctl's exit code */
	char out[8192];
	char err[8192];
};

static void slurp(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* As TAP comments, a few lines of it. */
static void print_lines(const char *what, const char *text)
{
	for (int i = 0; *text && i < 4; i++) {
		int len = (int)strcspn(text, "\n");

		printf("#   %s: %.*s\n", what, len > 160 ? 160 : len, text);
		text += len + (text[len] == '\n');
	}
}

/* Runs `pepctl run --contract contract -- argv...` with `input` on a pipe as stdin; with
 * contract NULL, runs argv as it is (unsupervised). */
static void run_as(struct run *res, const char *contract, const char *input,
		   const char *const *argv)
{
	const char *args[32] = {env.pepctl,   "--socket", env.admin, "run",
				"--contract", contract,	  "--"};
	int out = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int err = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	const char *const *cmd = contract ? args : args + 7;
	int in[2], status, n = 7, i;
	pid_t pid;

	assert_true(out >= 0 && err >= 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	while (*argv && n < 31)
		args[n++] = *argv++;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out, 1);
		dup2(err, 2);
		execvp(cmd[0], (char *const *)cmd);
		_exit(126);
	}
	close(in[0]);
	if (input)
		assert_int_equal(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
	close(in[1]);
	for (i = 0; i < 3000 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10 * 1000);
	if (i == 3000) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
	}
	slurp(out, res->out, sizeof(res->out));
	slurp(err, res->err, sizeof(res->err));
	printf("# %s ... -> %d\n", args[7], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	print_lines("out", res->out);
	print_lines("err", res->err);
	assert_true(i < 3000); /* a hung workload: the supervisor stopped answering */
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define RUN(res, ...) run_as(res, CONTRACT, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define SH(res, ...)  RUN(res, "sh", "-c", __VA_ARGS__)
#define NOBODY_DOES(...)                                                                           \
	"setpriv", "--reuid=" NOBODY, "--regid=" NOBODY, "--clear-groups", __VA_ARGS__

static char *fmt(const char *f, ...)
{
	static char buf[4][2048];
	static int i;
	va_list ap;

	i = (i + 1) % 4;
	va_start(ap, f);
	vsnprintf(buf[i], sizeof(buf[i]), f, ap);
	va_end(ap);
	return buf[i];
}

/* ---- tests ----------------------------------------------------------------------------- */

/* The listed executable reads the protected file; the decision named the file and cat. */
static void test_allowed_app_reads(void **state)
{
	struct run r;

	RUN(&r, "cat", path_of("data"));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "product\n");
	assert_true(pol.n_data >= 1);
	assert_int_equal(pol.last.op, WORKLOAD_OPEN);
	assert_true(same_file(pol.last.exe_dev, pol.last.exe_ino, &pol.cat));
	assert_string_equal(pol.last.contract, CONTRACT);
	assert_int_equal(pol.last.slot, SLOT);
}

/* Other executables get a plain "Permission denied" from their own open(). */
static void test_other_apps_refused(void **state)
{
	struct run r;

	RUN(&r, "head", "-c", "100", path_of("data"));
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "Permission denied"));

	RUN(&r, PYTHON, "-c", fmt("print(open('%s').read())", path_of("data")));
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "PermissionError"));

	/* An O_PATH open goes through (no data in it); opening it for reading does not. */
	RUN(&r, PYTHON, "-c",
	    fmt("import os\n"
		"fd = os.open('%s', os.O_PATH)\n"
		"print(os.fstat(fd).st_size)\n"
		"open('/proc/self/fd/%%d' %% fd).read()",
		path_of("data")));
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "8\n");
	assert_non_null(strstr(r.err, "PermissionError"));
}

/* A refused open hands the program no fd, and the supervisor keeps none. */
static void test_nothing_leaks(void **state)
{
	struct run r;

	RUN(&r, PYTHON, "-c",
	    fmt("import os\n"
		"n = len(os.listdir('/proc/self/fd'))\n"
		"for i in range(20):\n"
		"    try: open('%s')\n"
		"    except PermissionError: pass\n"
		"print(len(os.listdir('/proc/self/fd')) == n)",
		path_of("data")));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "True\n");
	/* (teardown checks the supervisor's fds) */
}

/* Calls from many threads at once are each served for their own thread (/proc/TID). */
static void test_threads(void **state)
{
	struct run r;

	RUN(&r, PYTHON, "-c",
	    fmt("import os, threading\n"
		"res = []\n"
		"def work(i):\n"
		"    for _ in range(20):\n"
		"        res.append(open('%s').read())\n"
		"        try: open('%s'); res.append('leak')\n"
		"        except PermissionError: res.append('refused')\n"
		"ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
		"[t.start() for t in ts]; [t.join() for t in ts]\n"
		"print(res.count('plain\\n'), res.count('refused'), len(res))",
		path_of("plain"), path_of("data")));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "160 160 320\n");
}

/* Relative paths start at the caller's cwd, dirfd-relative ones at its dirfd. */
static void test_relative_paths(void **state)
{
	struct run r;

	SH(&r, fmt("cd %s/sub && cat ../data && cd .. && cat ./data && head ./data", env.files));
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "product\nproduct\n");
	assert_non_null(strstr(r.err, "Permission denied"));

	RUN(&r, PYTHON, "-c",
	    fmt("import os\n"
		"d = os.open('%s', os.O_RDONLY)\n"
		"print(os.read(os.open('plain', os.O_RDONLY, dir_fd=d), 99).decode(), end='')\n"
		"os.open('data', os.O_RDONLY, dir_fd=d)",
		env.files));
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "plain\n");
	assert_non_null(strstr(r.err, "PermissionError"));
}

/* Path resolution as the kernel's: the same script of opens, unlinks, renames and
 * truncations prints the same results unsupervised and through the supervisor. */
static const char kernel_script[] =
    "import errno, os, sys\n"
    "os.mkdir(sys.argv[1]); os.chdir(sys.argv[1]); here = os.getcwd()\n"
    "open('f', 'w').write('f\\n'); os.mkdir('sub'); os.mkdir('sub/d')\n"
    "os.symlink('../f', 'sub/rel'); os.symlink(here + '/f', 'abs'); os.symlink('loop', 'loop')\n"
    "os.symlink('nowhere', 'dangling'); os.symlink('sub', 'dirlink')\n"
    "def t(name, fn):\n"
    "    try: print(name, 'ok', fn())\n"
    "    except OSError as e: print(name, errno.errorcode[e.errno])\n"
    "def rd(p, fl=0, **kw):\n"
    "    fd = os.open(p, os.O_RDONLY | fl, **kw); b = os.read(fd, 9); os.close(fd); return b\n"
    "t('file', lambda: rd('f'))\n"
    "t('file/', lambda: rd('f/'))\n"
    "t('rel-link', lambda: rd('sub/rel'))\n"
    "t('abs-link', lambda: rd('abs'))\n"
    "t('dotdot-past-root', lambda: rd('/../..' + here + '/f'))\n"
    "t('dot-dotdot', lambda: rd('sub/./d/../../f'))\n"
    "t('loop', lambda: rd('loop'))\n"
    "t('nofollow', lambda: rd('abs', os.O_NOFOLLOW))\n"
    "t('path-nofollow', lambda: os.close(os.open('abs', os.O_PATH | os.O_NOFOLLOW)))\n"
    "t('dirlink/', lambda: os.close(os.open('dirlink/', os.O_RDONLY | os.O_NOFOLLOW)))\n"
    "t('via-dirlink', lambda: rd('dirlink/rel'))\n"
    "t('missing', lambda: rd('nope'))\n"
    "t('missing-dir', lambda: rd('nope/x'))\n"
    "t('not-dir', lambda: rd('f/x'))\n"
    "t('directory-flag', lambda: rd('f', os.O_DIRECTORY))\n"
    "t('empty', lambda: rd(''))\n"
    "t('long-name', lambda: rd('x' * 300))\n"
    "t('dirfd', lambda: rd('rel', dir_fd=os.open('sub', os.O_RDONLY)))\n"
    "t('bad-dirfd', lambda: rd('f', dir_fd=999))\n"
    "t('file-dirfd', lambda: rd('x', dir_fd=os.open('f', os.O_RDONLY)))\n"
    "t('excl-exists', lambda: os.open('f', os.O_CREAT | os.O_EXCL | os.O_WRONLY))\n"
    "t('excl-link', lambda: os.open('dangling', os.O_CREAT | os.O_EXCL | os.O_WRONLY))\n"
    "t('creat-through-link', lambda: (os.close(os.open('dangling', os.O_CREAT | os.O_WRONLY)),"
    "  os.path.exists('nowhere'))[1])\n"
    "t('creat/', lambda: os.open('new/', os.O_CREAT | os.O_WRONLY))\n"
    "t('tmpfile', lambda: os.close(os.open('.', os.O_TMPFILE | os.O_WRONLY, 0o600)))\n"
    "t('trunc', lambda: (os.close(os.open('f', os.O_WRONLY | os.O_TRUNC)), "
    "os.stat('f').st_size)[1])\n"
    "t('truncate', lambda: (os.truncate('abs', 3), os.stat('f').st_size)[1])\n"
    "t('truncate-dir', lambda: os.truncate('sub', 0))\n"
    "t('unlink-dir', lambda: os.unlink('sub'))\n"
    "t('rmdir-full', lambda: os.rmdir('sub'))\n"
    "t('rmdir-link/', lambda: os.rmdir('dirlink/'))\n"
    "t('rmdir-dot', lambda: os.rmdir('sub/d/.'))\n"
    "t('unlink-link', lambda: (os.unlink('abs'), os.path.exists('f'))[1])\n"
    "t('rename-over-dir', lambda: os.rename('f', 'sub'))\n"
    "t('rename-missing', lambda: os.rename('nope', 'x'))\n"
    "t('rename-link', lambda: (os.rename('dirlink', 'dl2'), os.readlink('dl2'))[1])\n"
    "t('rename-into', lambda: (os.rename('f', 'sub/d/f'), rd('sub/d/f'))[1])\n"
    "t('rmdir', lambda: os.rmdir('sub/d/../../new') if 0 else os.rmdir('sub/d'))\n"
    "t('proc-self-fd', lambda: '0' in os.listdir('/proc/self/fd'))\n"
    "t('proc-mounts', lambda: len(open('/proc/mounts').read()) > 0)\n";

static void test_paths_resolve_like_the_kernel(void **state)
{
	struct run direct, supervised;

	run_as(&direct, NULL, NULL,
	       (const char *const[]){PYTHON, "-c", kernel_script, path_of("k1"), NULL});
	RUN(&supervised, PYTHON, "-c", kernel_script, path_of("k2"));
	assert_int_equal(direct.status, 0);
	assert_int_equal(supervised.status, 0);
	assert_string_equal(supervised.out, direct.out);
}

/* The decision is about the file the supervisor opened: a symlink re-pointed at the
 * protected file after the open (during the decision) does not change what the program
 * gets. Then, pointing there from the start, the open is refused. */
static void test_symlink_swap(void **state)
{
	struct stat plain;
	struct run r;

	assert_int_equal(stat(path_of("plain"), &plain), 0);
	assert_int_equal(symlink(path_of("plain"), path_of("link")), 0);
	pthread_mutex_lock(&pol.lock);
	pol.swap_on = plain.st_ino;
	pthread_mutex_unlock(&pol.lock);

	RUN(&r, "head", path_of("link"));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "plain\n");
	assert_int_equal(pol.swap_on, 0); /* the swap happened */
	assert_int_equal(pol.n_data, 0);  /* and nothing decided on data */

	RUN(&r, "head", path_of("link"));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "Permission denied"));
	assert_int_equal(pol.n_data, 1);
}

/* The caller's credentials, not the agent's: nobody cannot read a 0600 root file, even with
 * the allowed executable; a file nobody creates is nobody's, with nobody's umask. */
static void test_unprivileged_caller(void **state)
{
	struct stat st;
	struct run r;

	RUN(&r, PYTHON, "-c",
	    fmt("import os\n"
		"os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
		"open('%s')",
		path_of("secret")));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "PermissionError"));

	RUN(&r, NOBODY_DOES("cat", path_of("secret")));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "Permission denied"));

	RUN(&r, NOBODY_DOES("sh", "-c", fmt("umask 027 && echo made > %s", path_of("pub/made"))));
	assert_int_equal(r.status, 0);
	assert_int_equal(stat(path_of("pub/made"), &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_mode & 0777, 0640);

	/* The same program as root reads it: the refusal above was the credentials. */
	RUN(&r, "cat", path_of("secret"));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "secret\n");
}

/* Under a prohibition of deletion: unlink, rename (either way) and truncation of the
 * protected file fail with EPERM and it stays; other files are removed as usual. */
static void test_delete_prohibited(void **state)
{
	struct stat st;
	struct run r;

	pol.no_delete = true;
	put_file("other", "other\n", 0644);
	put_file("other2", "other2\n", 0644);

	RUN(&r, "rm", "-f", path_of("data"));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "Operation not permitted"));
	RUN(&r, "mv", path_of("data"), path_of("moved"));
	assert_int_equal(r.status, 1);
	RUN(&r, "mv", path_of("other"), path_of("data")); /* would replace it */
	assert_int_equal(r.status, 1);
	RUN(&r, PYTHON, "-c", fmt("import os; os.truncate('%s', 0)", path_of("data")));
	assert_non_null(strstr(r.err, "PermissionError: [Errno 1]"));
	assert_int_equal(pol.last.op, WORKLOAD_TRUNCATE);
	SH(&r, fmt(": > %s", path_of("data"))); /* O_TRUNC */
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "Operation not permitted"));
	RUN(&r, PYTHON, "-c", fmt("import os; os.unlink('%s')", path_of("data")));
	assert_non_null(strstr(r.err, "PermissionError: [Errno 1]"));
	assert_int_equal(pol.last.op, WORKLOAD_UNLINK);

	assert_int_equal(stat(path_of("data"), &st), 0);
	assert_true(same_file(st.st_dev, st.st_ino, &pol.data));
	assert_int_equal(st.st_size, 8);
	assert_false(exists("moved"));

	/* Files no contract protects: the supervisor performs the call. */
	RUN(&r, "mv", path_of("other"), path_of("renamed"));
	assert_int_equal(r.status, 0);
	RUN(&r, "rm", path_of("other2"), path_of("renamed"));
	assert_int_equal(r.status, 0);
	assert_false(exists("other") || exists("other2") || exists("renamed"));
	RUN(&r, "rmdir", path_of("sub"));
	assert_int_equal(r.status, 0);
	assert_false(exists("sub"));
}

/* The workload runs in the contract's cgroup: as the supervisor reads it (/proc/PID/cgroup)
 * and as the program itself reads it, by its pid and through /proc/self. */
static void test_runs_in_contract_cgroup(void **state)
{
	const char *rel = env.cgroup + strlen(env.cgroup2);
	struct run r;

	SH(&r, "cat /proc/$$/cgroup; cat /proc/self/cgroup");
	assert_int_equal(r.status, 0);
	assert_string_equal(pol.cgroup, rel);
	assert_non_null(strstr(r.out, fmt("0::%s\n", rel)));
	assert_non_null(strstr(strstr(r.out, fmt("0::%s\n", rel)) + 1, fmt("0::%s\n", rel)));
}

/* "self" is the caller, never the agent: /proc/self, /dev/stdin (-> /proc/self/fd/0), and
 * the agent's own /proc/PID stays out of reach whatever the caller's credentials. */
static void test_proc_self_is_caller(void **state)
{
	struct run r;
	long pid;

	SH(&r, "echo $$; exec cat /proc/self/stat");
	assert_int_equal(r.status, 0);
	pid = strtol(r.out, NULL, 10);
	assert_true(pid > 0);
	assert_non_null(strstr(r.out, fmt("\n%ld (cat)", pid)));

	run_as(&r, CONTRACT, "through a pipe\n", (const char *const[]){"cat", "/dev/stdin", NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "through a pipe\n");

	/* maps is 0444 and guarded by a ptrace check, which an agent thread would pass. */
	RUN(&r, NOBODY_DOES("cat", fmt("/proc/%d/maps", getpid())));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "Permission denied"));
	RUN(&r, "cat", fmt("/proc/%d/mem", getpid()));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "Permission denied"));
	/* Not by a thread id, not as the last name (O_NOFOLLOW), not by a dirfd either. */
	RUN(&r, "cat", fmt("/proc/%ld/status", (long)syscall(SYS_gettid)));
	assert_int_equal(r.status, 1);
	RUN(&r, PYTHON, "-c",
	    fmt("import os\n"
		"d = os.open('/proc', os.O_RDONLY)\n"
		"try: os.open('%d', os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY, dir_fd=d)\n"
		"except PermissionError: print('refused')",
		getpid()));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "refused\n");
}

/* Root of a user namespace the workload made is not root here: no capability of the
 * caller's counts in the agent's namespace. */
static void test_user_namespace_root(void **state)
{
	struct run r;

	RUN(&r, PYTHON, "-c",
	    fmt("import ctypes, os\n"
		"os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
		"assert ctypes.CDLL(None).unshare(0x10000000) == 0\n" /* CLONE_NEWUSER */
		"print([l for l in open('/proc/self/status') if l.startswith('CapEff')][0], "
		"end='')\n"
		"open('%s')",
		path_of("secret")));
	assert_int_equal(r.status, 1);
	/* every capability, in its own namespace */
	assert_true(!strncmp(r.out, "CapEff:\t", 8) &&
		    strcmp(r.out, "CapEff:\t0000000000000000\n"));
	assert_non_null(strstr(r.err, "PermissionError"));
}

/* openat2 is answered ENOSYS (programs fall back to openat), io_uring is closed. */
static void test_openat2_and_io_uring_closed(void **state)
{
	struct run r;

	RUN(&r, PYTHON, "-c",
	    fmt("import ctypes\n"
		"libc = ctypes.CDLL(None, use_errno=True)\n"
		"how = ctypes.create_string_buffer(24)\n"
		"a = libc.syscall(%d, -100, b'%s', how, 24)\n"
		"e1 = ctypes.get_errno()\n"
		"b = libc.syscall(%d, 8, ctypes.create_string_buffer(120))\n"
		"print(a, e1, b, ctypes.get_errno())",
		SYS_openat2, path_of("plain"), SYS_io_uring_setup));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, fmt("-1 %d -1 %d\n", ENOSYS, ENOSYS));
}

/* Fail-closed: once the supervisor lets go of a workload (contract removed, agent gone),
 * its supervised calls fail with ENOSYS instead of going through unchecked. */
static void test_unsupervised_calls_fail(void **state)
{
	struct run r;

	assert_int_equal(write(env.stop[1], "r", 1), 1);
	SH(&r, fmt("cat %s; sleep 1.5; cat %s", path_of("plain"), path_of("plain")));
	assert_int_not_equal(r.status, 0);
	assert_string_equal(r.out, "plain\n");
	/* ld.so cannot open libc for the second cat: "Error 38" is its way to say ENOSYS */
	assert_true(strstr(r.err, "Function not implemented") || strstr(r.err, "Error 38"));
}

/* Bad requests are refused with a reason and the command never runs. */
static void test_unknown_contract(void **state)
{
	struct run r;

	run_as(&r, "urn:pep:test:none", NULL, (const char *const[]){"touch", path_of("ran"), NULL});
	assert_int_equal(r.status, 125);
	assert_non_null(strstr(r.err, "no such contract"));
	assert_false(exists("ran"));
}

/* ---- set-up ---------------------------------------------------------------------------- */

static int baseline_fds;

static int files_up(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", env.files);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(mkdir(env.files, 0755), 0);
	put_file("data", "product\n", 0644);
	put_file("plain", "plain\n", 0644);
	put_file("secret", "secret\n", 0600);
	assert_int_equal(mkdir(path_of("sub"), 0755), 0);
	assert_int_equal(mkdir(path_of("pub"), 0777), 0);
	assert_int_equal(chmod(path_of("pub"), 01777), 0);
	pthread_mutex_lock(&pol.lock);
	assert_int_equal(stat(path_of("data"), &pol.data), 0);
	pol.no_delete = false;
	pol.swap_on = 0;
	pol.n_data = 0;
	memset(&pol.last, 0, sizeof(pol.last));
	pthread_mutex_unlock(&pol.lock);
	baseline_fds = count_fds();
	return 0;
}

static int files_check(void **state)
{
	assert_fds_back_to(baseline_fds);
	return 0;
}

/* On the loop thread: the contract goes away and comes back (its old workloads stay cut). */
static void on_remove(evutil_socket_t fd, short what, void *arg)
{
	assert_int_equal(workloads__remove_contract(env.w, CONTRACT), 0);
	assert_int_equal(workloads__add_contract(env.w, CONTRACT, SLOT, NULL, 0), 0);
}

/* Commands to the loop thread: 'q' stops it, 'r' removes the contract half a second later. */
static void on_command(evutil_socket_t fd, short what, void *arg)
{
	struct timeval half = {.tv_usec = 500 * 1000};
	char c = 'q';

	(void)read(fd, &c, 1);
	if (c == 'r')
		assert_int_equal(event_base_once(env.base, -1, EV_TIMEOUT, on_remove, NULL, &half),
				 0);
	else
		event_base_loopbreak(env.base);
}

static void *loop(void *unused)
{
	event_base_dispatch(env.base);
	return NULL;
}

/* Directory, cgroup, supervisor. NULL or why the tests cannot run here. */
static const char *env_up(void)
{
	struct workloads_opts opts = {.decide = decide};
	struct backend_support sup;
	const char *output = getenv("OUTPUT");

	if (geteuid() != 0)
		return "supervising workloads needs root";
	snprintf(env.pepctl, sizeof(env.pepctl), "%s/pepctl", output ? output : ".output");
	if (access(env.pepctl, X_OK))
		return "no pepctl built ($OUTPUT/pepctl)";
	if (access(PYTHON, X_OK) || system("command -v setpriv >/dev/null"))
		return "needs " PYTHON " and setpriv";
	(void)backend_probe(&sup); /* the cgroup v2 mount, as the agent finds it */
	if (!sup.cgroup2[0])
		return "no cgroup v2 mount in /proc/mounts";
	snprintf(env.cgroup2, sizeof(env.cgroup2), "%s", sup.cgroup2);
	snprintf(env.cgroup_root, sizeof(env.cgroup_root), "%s/pep-test-wl-%d", env.cgroup2,
		 getpid());
	strcpy(env.dir, "/tmp/pep-wl.XXXXXX");
	if (!mkdtemp(env.dir) || chmod(env.dir, 0755))
		return "cannot make a directory in /tmp";
	snprintf(env.admin, sizeof(env.admin), "%s/admin.sock", env.dir);
	snprintf(env.files, sizeof(env.files), "%s/f", env.dir);
	if (stat("/usr/bin/cat", &pol.cat))
		return "no /usr/bin/cat";

	env.base = event_base_new();
	opts.cgroup_root = env.cgroup_root;
	opts.socket_path = fmt("%s.workload", env.admin);
	env.w = env.base ? workloads__open(env.base, &opts) : NULL;
	if (!env.w)
		return "cannot start the supervisor";
	if (workloads__add_contract(env.w, CONTRACT, SLOT, env.cgroup, sizeof(env.cgroup)))
		return "cannot make the contract's cgroup";
	if (pipe2(env.stop, O_CLOEXEC) ||
	    !(env.stop_ev =
		  event_new(env.base, env.stop[0], EV_READ | EV_PERSIST, on_command, NULL)) ||
	    event_add(env.stop_ev, NULL) || pthread_create(&env.loop, NULL, loop, NULL))
		return "cannot start the event loop";
	env.loop_running = true;
	return NULL;
}

static void env_down(void)
{
	char cmd[PATH_MAX + 128];

	if (env.loop_running) {
		(void)write(env.stop[1], "q", 1);
		pthread_join(env.loop, NULL);
	}
	if (env.stop_ev)
		event_free(env.stop_ev);
	workloads__close(env.w);
	if (env.base)
		event_base_free(env.base);
	if (env.cgroup[0]) {
		/* A workload left behind by a failed test must not keep the cgroup alive. */
		snprintf(cmd, sizeof(cmd), "echo 1 > %s/cgroup.kill", env.cgroup);
		(void)system(cmd);
		for (int i = 0; i < 100 && rmdir(env.cgroup) && errno == EBUSY; i++)
			usleep(10 * 1000);
		(void)rmdir(env.cgroup_root);
	}
	if (env.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", env.dir);
		(void)system(cmd);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, files_up, files_check)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_allowed_app_reads),
	    T(test_other_apps_refused),
	    T(test_nothing_leaks),
	    T(test_threads),
	    T(test_relative_paths),
	    T(test_paths_resolve_like_the_kernel),
	    T(test_symlink_swap),
	    T(test_unprivileged_caller),
	    T(test_delete_prohibited),
	    T(test_runs_in_contract_cgroup),
	    T(test_proc_self_is_caller),
	    T(test_user_namespace_root),
	    T(test_openat2_and_io_uring_closed),
	    T(test_unsupervised_calls_fail),
	    T(test_unknown_contract),
	};
	const char *why;
	int failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	why = env_up();
	if (why) {
		/* cmocka 1.1.5 prints a skip as "not ok": say it in TAP ourselves. */
		printf("1..0 # SKIP %s\n", why);
		env_down();
		return 0;
	}
	cmocka_set_message_output(CM_OUTPUT_TAP);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	env_down();
	return failed;
}
