// SPDX-License-Identifier: Apache-2.0
/*
 * Acting as the caller: see caller.h.
 *
 * Why a thread per call: the permission checks must be the caller's, and the kernel makes
 * them for us when the opener has the caller's fsuid/fsgid/groups/capabilities. Those (and
 * the root after unshare(CLONE_FS)) are per-thread, so a thread can take them and die with
 * them; the agent's own threads never change identity. Checking access by hand first would
 * re-implement the kernel's rules and leave a gap between the check and the open.
 *
 * Why a walk of our own instead of one openat(): the kernel would resolve "/proc/self" (and
 * "/dev/stdin" -> "/proc/self/fd/0") to the agent, and let an agent thread open the agent's
 * own /proc files whatever its credentials. The walk substitutes the caller for "self",
 * refuses the agent's /proc/PID directories, and never lets the kernel follow a symlink
 * except procfs's magic links, which lead only where the caller may go.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include <seccomp.h>

#include "agent/caller.h"

#define MAX_LINKS     40 /* the kernel's MAXSYMLINKS */
#define PROC_ROOT_INO 1	 /* the procfs root directory's inode number */
#define MAX_GROUPS    65536

/* ---- procfs ---------------------------------------------------------------------------- */

static bool fs_is(int fd, long magic)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && sfs.f_type == magic;
}

static bool is_proc_root(int dir)
{
	struct stat st;

	return fs_is(dir, PROC_SUPER_MAGIC) && !fstat(dir, &st) && st.st_ino == PROC_ROOT_INO;
}

/* The Tgid line of <dir>/<name> (a procfs status file), or -1. */
static long status_tgid(int dir, const char *name)
{
	char buf[512], *p;
	ssize_t n;
	int fd;

	fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nTgid:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/*
 * Refuses a directory inside /proc/PID of one of the agent's own tasks: the kernel lets an
 * agent thread open those whatever its credentials (same_thread_group() in
 * ptrace_may_access()), so /proc/AGENT/mem would be the agent's memory. Walks up to the
 * directory below the procfs root and compares its Tgid with "self"'s there: both are read
 * through the same procfs, so both are numbered in the same pid namespace.
 */
int check_not_agent(int dir)
{
	int cur, up = -1, r = -EACCES;
	long mine, its;

	if (!fs_is(dir, PROC_SUPER_MAGIC) || is_proc_root(dir))
		return 0;
	cur = fcntl(dir, F_DUPFD_CLOEXEC, 0);
	for (int depth = 0; cur >= 0 && depth < 16; depth++) {
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			break; /* refuse what we cannot place */
		if (is_proc_root(up)) {
			mine = status_tgid(up, "self/status");
			its = status_tgid(cur, "status"); /* -1: not a pid directory */
			r = its >= 0 && its == mine ? -EACCES : 0;
			break;
		}
		close(cur);
		cur = up;
		up = -1;
	}
	if (up >= 0)
		close(up);
	if (cur >= 0)
		close(cur);
	return r;
}

/* ---- the caller ------------------------------------------------------------------------ */

void caller__close(struct caller *c)
{
	if (c->proc >= 0)
		close(c->proc);
	if (c->mem >= 0)
		close(c->mem);
	if (c->root >= 0)
		close(c->root);
	free(c->groups);
}

/* The last number on a line such as "NStgid:\t4711\t12" (innermost namespace last). */
static long last_number(const char *s)
{
	const char *p = s + strlen(s);

	while (p > s && (p[-1] < '0' || p[-1] > '9'))
		p--;
	while (p > s && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtol(p, NULL, 10);
}

static int parse_groups(const char *s, struct caller *c)
{
	char *end;
	unsigned long g;
	gid_t *more;

	for (;;) {
		g = strtoul(s, &end, 10);
		if (end == s)
			return 0;
		if (c->n_groups >= MAX_GROUPS)
			return -E2BIG;
		more = realloc(c->groups, (c->n_groups + 1) * sizeof(*more));
		if (!more)
			return -ENOMEM;
		c->groups = more;
		c->groups[c->n_groups++] = (gid_t)g;
		s = end;
	}
}

/* Credentials, umask, capabilities and namespace ids from /proc/TID/status. */
static int read_status(struct caller *c)
{
	unsigned int uid = -1u, fsuid = -1u, fsgid = -1u, umask_ = 022, seen = 0;
	char *line = NULL;
	size_t cap = 0;
	int fd, r = 0;
	FILE *f;

	fd = openat(c->proc, "status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return -errno;
	}
	while (!r && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "Uid: %u %*u %*u %u", &uid, &fsuid) == 2)
			seen |= 1;
		else if (sscanf(line, "Gid: %*u %*u %*u %u", &fsgid) == 1)
			seen |= 2;
		else if (sscanf(line, "CapEff: %" SCNx64, &c->cap_eff) == 1)
			seen |= 4;
		else if (!strncmp(line, "Groups:", 7))
			r = parse_groups(line + 7, c);
		else if (sscanf(line, "Umask: %o", &umask_) == 1)
			continue;
		else if (sscanf(line, "Tgid: %d", &c->tgid) == 1)
			continue;
		else if (!strncmp(line, "NStgid:", 7))
			c->ns_tgid = last_number(line);
		else if (!strncmp(line, "NSpid:", 6))
			c->ns_tid = last_number(line);
	}
	free(line);
	(void)fclose(f);
	if (!r && (seen != 7 || c->tgid <= 0 || c->ns_tgid <= 0 || c->ns_tid <= 0))
		r = -EIO; /* not a status file we understand: refuse rather than guess */
	c->uid = uid;
	c->fsuid = fsuid;
	c->fsgid = fsgid;
	c->umask = umask_ & 0777;
	return r;
}

/* Its name (/proc/TID/comm, newline dropped), for the records; "" if unreadable. */
static void read_comm(struct caller *c)
{
	int fd = openat(c->proc, "comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, c->comm, sizeof(c->comm) - 1);

	if (fd >= 0)
		close(fd);
	if (n > 0 && c->comm[n - 1] == '\n')
		n--;
	c->comm[n > 0 ? n : 0] = '\0';
}

/*
 * Pins the calling thread and reads who it is. The notification must still be pending once
 * /proc/TID is open: otherwise TID may already name another process (kernel documentation,
 * seccomp_unotify(2): "check the id after opening anything of the target").
 */
int caller__open(struct caller *c, pid_t tid, int notify_fd, uint64_t id)
{
	struct stat its_ns, our_ns;
	char path[32];
	int r;

	*c = (struct caller){.tid = tid, .proc = -1, .mem = -1, .root = -1};
	if (tid <= 0)
		return -EACCES; /* not visible in our pid namespace */
	(void)snprintf(path, sizeof(path), "/proc/%d", tid);
	c->proc = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->proc < 0)
		return -errno;
	r = seccomp_notify_id_valid(notify_fd, id);
	if (r)
		return r;
	c->mem = openat(c->proc, "mem", O_RDONLY | O_CLOEXEC);
	c->root = openat(c->proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->mem < 0 || c->root < 0 || fstatat(c->proc, "exe", &c->exe, 0) ||
	    fstatat(c->proc, "ns/user", &its_ns, 0) || stat("/proc/self/ns/user", &our_ns))
		return -errno;
	r = read_status(c);
	read_comm(c);
	/* Capabilities count in the caller's user namespace: root of a namespace it made
	 * (unshare -Ur) must not become root of ours in our thread. Its ids are mapped already
	 * (status shows them as our namespace sees them). */
	if (its_ns.st_ino != our_ns.st_ino || its_ns.st_dev != our_ns.st_dev)
		c->cap_eff = 0;
	return r;
}

/* A NUL-terminated string at addr in the caller's memory: ENAMETOOLONG past PATH_MAX, as
 * the kernel would say. */
int caller__string(const struct caller *c, uint64_t addr, char *buf)
{
	ssize_t n;

	if (!addr)
		return -EFAULT;
	n = pread(c->mem, buf, PATH_MAX, (off_t)addr);
	if (n <= 0)
		return -EFAULT;
	if (!memchr(buf, '\0', (size_t)n))
		return n == PATH_MAX ? -ENAMETOOLONG : -EFAULT;
	return 0;
}

/* The directory a relative path starts from: the caller's cwd, or its fd dirfd. */
int caller__base(const struct caller *c, int dirfd, const char *path, int *ret_fd)
{
	char name[32];
	int fd;

	*ret_fd = -1;
	if (path[0] == '/')
		return 0; /* the kernel ignores dirfd then, even a bad one */
	if (dirfd == AT_FDCWD)
		(void)snprintf(name, sizeof(name), "cwd");
	else if (dirfd >= 0)
		(void)snprintf(name, sizeof(name), "fd/%d", dirfd);
	else
		return -EBADF;
	fd = openat(c->proc, name, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EBADF : -errno;
	*ret_fd = fd;
	return check_not_agent(fd);
}

/* ---- acting as the caller -------------------------------------------------------------- */

/*
 * Makes this thread see files as the caller does. Only this thread changes: the root after
 * unshare(CLONE_FS), and the fs ids, groups and capabilities, which Linux keeps per thread
 * (glibc's setgroups() would change every thread of the agent: it broadcasts set*id calls,
 * so the raw system call is used).
 */
static int enter_view(const struct caller *c)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct cap[2];

	/* 1. Its root: absolute paths, absolute symlinks and ".." stop where they stop for it. */
	if (unshare(CLONE_FS) || fchdir(c->root) || chroot("."))
		return -errno;
	/* 2. Its umask, for the mode of the files it creates. */
	(void)umask(c->umask);
	/* 3. Its file-system identity: the kernel checks permissions against these. */
	if (syscall(SYS_setgroups, c->n_groups, c->groups))
		return -errno;
	(void)setfsgid(c->fsgid);
	(void)setfsuid(c->fsuid);
	if ((gid_t)setfsgid(-1) != c->fsgid || (uid_t)setfsuid(-1) != c->fsuid)
		return -EPERM;
	/* 4. Its effective capabilities, last: setfsuid() adjusts the file capabilities. The
	 *    commonest caller, root, has ours, and capset() costs more than the rest together. */
	if (syscall(SYS_capget, &hdr, cap))
		return -errno;
	if (cap[0].effective == (uint32_t)c->cap_eff &&
	    cap[1].effective == (uint32_t)(c->cap_eff >> 32))
		return 0;
	cap[0].effective = (uint32_t)c->cap_eff & cap[0].permitted;
	cap[1].effective = (uint32_t)(c->cap_eff >> 32) & cap[1].permitted;
	return syscall(SYS_capset, &hdr, cap) ? -errno : 0;
}

struct as_caller {
	const struct caller *c;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void *as_caller_thread(void *p)
{
	struct as_caller *a = p;

	a->ret = enter_view(a->c);
	if (!a->ret)
		a->ret = a->fn(a->arg);
	return NULL;
}

/* Runs fn(arg) in a thread with the caller's view; returns its result. The thread's
 * identity dies with it. */
int caller__run(const struct caller *c, int (*fn)(void *arg), void *arg)
{
	struct as_caller a = {.c = c, .fn = fn, .arg = arg};
	pthread_t t;
	int r;

	r = pthread_create(&t, NULL, as_caller_thread, &a);
	if (r)
		return -r;
	(void)pthread_join(t, NULL);
	return a.ret;
}

/* ---- resolving a path as the caller would (runs in the caller's view) ------------------ */

void spot__close(struct spot *s)
{
	if (s->dir >= 0)
		close(s->dir);
	s->dir = -1;
}

static int read_link(int fd, char **ret_text)
{
	char *buf = malloc(PATH_MAX);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = readlinkat(fd, "", buf, PATH_MAX);
	if (n <= 0 || n >= PATH_MAX) {
		free(buf);
		return n < 0 ? -errno : n == 0 ? -ENOENT : -ENAMETOOLONG;
	}
	buf[n] = '\0';
	*ret_text = buf;
	return 0;
}

/* A symlink found in procfs: "self" and "thread-self" mean the caller; the other links in
 * the procfs root ("mounts" -> "self/mounts") are text; deeper ones are magic links, which
 * the kernel follows with our (the caller's) credentials. */
static int proc_link(const struct caller *c, int dir, int link, const char *name, int *ret_fd,
		     char **ret_text, bool *ret_magic)
{
	int r;

	if (!is_proc_root(dir)) {
		*ret_fd = openat(dir, name, O_PATH | O_CLOEXEC);
		*ret_magic = true;
		return *ret_fd < 0 ? -errno : check_not_agent(*ret_fd);
	}
	if (!strcmp(name, "self"))
		r = asprintf(ret_text, "%ld", c->ns_tgid);
	else if (!strcmp(name, "thread-self"))
		r = asprintf(ret_text, "%ld/task/%ld", c->ns_tgid, c->ns_tid);
	else
		return read_link(link, ret_text);
	return r < 0 ? -ENOMEM : 0;
}

/*
 * One component, never following a symlink: an O_PATH fd of what name is in *ret_fd, or,
 * for a symlink, the text to follow in *ret_text (procfs: see proc_link()).
 */
static int step(const struct caller *c, int dir, const char *name, int *ret_fd, char **ret_text,
		bool *ret_magic)
{
	struct stat st;
	int fd, r = 0;

	*ret_fd = -1;
	*ret_text = NULL;
	*ret_magic = false;
	fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		r = -errno;
		goto cleanup;
	}
	if (S_ISLNK(st.st_mode)) {
		r = fs_is(dir, PROC_SUPER_MAGIC)
			? proc_link(c, dir, fd, name, ret_fd, ret_text, ret_magic)
			: read_link(fd, ret_text);
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode))
		r = check_not_agent(fd);
	if (!r) {
		*ret_fd = fd;
		fd = -1;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Continues the walk with a symlink's text in front of what is left of the path. */
static int splice_link(char **buf, char **p, char *text, const char *rest, bool slash)
{
	char *more;

	if (asprintf(&more, "%s%s%s", text, *rest || slash ? "/" : "", rest) < 0)
		return -ENOMEM;
	free(*buf);
	*buf = *p = more;
	return 0;
}

/* Where the walk (re)starts: the root for an absolute path, else base (p is skipped past
 * the slashes). */
static int walk_from(const struct caller *c, int base, char **p, int *cur)
{
	if (**p != '/' && *cur >= 0)
		return 0;
	if (*cur >= 0)
		close(*cur);
	*cur = fcntl(**p == '/' ? c->root : base, F_DUPFD_CLOEXEC, 0);
	*p += strspn(*p, "/");
	return *cur < 0 ? -errno : 0;
}

/* The name at p ("." for the root itself), what follows it, and whether it is the last one
 * and ends in '/'. */
static int next_name(const char *p, char *name, char **ret_rest, bool *ret_trailing)
{
	size_t len = strcspn(p, "/");

	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, p, len);
	(void)snprintf(name + len, NAME_MAX + 1 - len, "%s", len ? "" : ".");
	*ret_rest = (char *)p + len + strspn(p + len, "/");
	*ret_trailing = !**ret_rest && p[len] == '/';
	return 0;
}

int caller__resolve(const struct caller *c, int base, const char *path, bool follow,
		    struct spot *ret)
{
	char *buf, *p, *rest, *text, name[NAME_MAX + 1];
	int cur = -1, next = -1, links = 0, r;
	bool last, trailing, magic = false;

	if (!*path)
		return -ENOENT;
	buf = p = strdup(path);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		r = walk_from(c, base, &p, &cur);
		if (!r)
			r = next_name(p, name, &rest, &trailing);
		if (r)
			goto cleanup;
		last = !*rest;
		magic = false;
		if (last && !follow)
			break;
		r = step(c, cur, name, &next, &text, &magic);
		if (r == -ENOENT && last)
			break; /* O_CREAT may make it */
		if (r)
			goto cleanup;
		if (text) {
			r = ++links > MAX_LINKS ? -ELOOP
						: splice_link(&buf, &p, text, rest, trailing);
			free(text);
			if (r)
				goto cleanup;
			continue; /* a relative link goes on from the directory holding it: cur */
		}
		if (last)
			break;
		close(cur);
		cur = next;
		next = -1;
		p = rest;
	}
	*ret = (struct spot){.dir = cur, .must_dir = trailing, .magic = magic};
	memcpy(ret->name, name, sizeof(name));
	cur = -1;
	r = 0;
cleanup:
	if (cur >= 0)
		close(cur);
	if (next >= 0)
		close(next);
	free(buf);
	return r;
}
