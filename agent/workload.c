// SPDX-License-Identifier: Apache-2.0
/*
 * The workload supervisor: see workload.h. One notification at a time, on the event loop:
 *
 *   1. pin the caller (/proc/TID, then SECCOMP_IOCTL_NOTIF_ID_VALID) and read its identity;
 *   2. read the path arguments from its memory, only to resolve them;
 *   3. in a short-lived thread that takes the caller's view (root, creds, capabilities,
 *      umask), walk the path one component at a time and open or look up the file;
 *   4. back on the loop thread, ask decide() about the file reached (fstat: dev, ino);
 *   5. inject the fd (ADDFD with SEND: the syscall returns it, atomically) or perform the
 *      deletion, or answer with the errno.
 *
 * Performing a call as the caller would (its identity, its view of the file system, the
 * path walk) is agent/caller.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <seccomp.h>

#include "agent/caller.h"
#include "agent/log.h"
#include "agent/unixsock.h"
#include "agent/workload.h"
#include "tools/workload_proto.h"

#define REQUEST_TIMEOUT_SEC 5
#define LET_THROUGH	    1 /* answer SECCOMP_USER_NOTIF_FLAG_CONTINUE (serve()) */

struct contract {
	LIST_ENTRY(contract) link;
	char *id;
	uint32_t slot;
	char *cgroup;
	uint64_t cgroup_id; /* a cgroup v2 id is its directory's inode number */
};

struct workload {
	LIST_ENTRY(workload) link;
	struct workloads *w;
	struct contract *c;
	struct event *ev;
	int fd; /* the seccomp notification fd */
	pid_t pid;
};

struct conn {
	LIST_ENTRY(conn) link;
	struct workloads *w;
	struct event *ev;
	int fd;
};

struct workloads {
	struct event_base *base;
	workload_decide_fn decide;
	void *ctx;
	char *cgroup_root;
	char *socket_path;
	struct evconnlistener *listener;
	int self_fds; /* our /proc/self/fd, to reopen a file for writing (truncate) */
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	LIST_HEAD(, contract) contracts;
	LIST_HEAD(, workload) workloads;
	LIST_HEAD(, conn) conns;
};

/* ---- the calls ------------------------------------------------------------------------- */

/* A supervised system call, its arguments normalised. */
struct call {
	enum workload_op op;
	int n_paths;
	int dirfd[2];
	uint64_t addr[2];
	int flags;
	mode_t mode;
	off_t length; /* truncate: the new size; an open with O_TRUNC: 0 */
};

/*
 * The filter (tools/pepctl_run.c) sends only these. openat2 is answered ENOSYS: emulating
 * its RESOLVE_* flags is not done here, and programs fall back to openat on ENOSYS (openat2
 * is young, 5.6). Calls of another architecture never reach us: the filter is native only.
 */
static int decode(const struct seccomp_data *d, struct call *k)
{
	const __u64 *a = d->args;

	*k = (struct call){.n_paths = 1, .dirfd = {AT_FDCWD, AT_FDCWD}, .addr = {a[0]}};
	if (d->arch != seccomp_arch_native())
		return -ENOSYS;
	switch (d->nr) {
#ifdef __NR_open
	case __NR_open:
		k->flags = (int)a[1];
		k->mode = (mode_t)a[2];
		return 0;
#endif
#ifdef __NR_creat
	case __NR_creat:
		k->flags = O_CREAT | O_WRONLY | O_TRUNC;
		k->mode = (mode_t)a[1];
		return 0;
#endif
	case __NR_openat:
		k->dirfd[0] = (int)a[0];
		k->addr[0] = a[1];
		k->flags = (int)a[2];
		k->mode = (mode_t)a[3];
		return 0;
#ifdef __NR_unlink
	case __NR_unlink:
		k->op = WORKLOAD_UNLINK;
		return 0;
#endif
#ifdef __NR_rmdir
	case __NR_rmdir:
		k->op = WORKLOAD_UNLINK;
		k->flags = AT_REMOVEDIR;
		return 0;
#endif
	case __NR_unlinkat:
		k->op = WORKLOAD_UNLINK;
		k->dirfd[0] = (int)a[0];
		k->addr[0] = a[1];
		k->flags = (int)a[2];
		return k->flags & ~AT_REMOVEDIR ? -EINVAL : 0;
#ifdef __NR_rename
	case __NR_rename:
		*k = (struct call){WORKLOAD_RENAME, 2, {AT_FDCWD, AT_FDCWD}, {a[0], a[1]}};
		return 0;
#endif
	case __NR_renameat:
	case __NR_renameat2:
		*k = (struct call){WORKLOAD_RENAME, 2, {(int)a[0], (int)a[2]}, {a[1], a[3]}};
		k->flags = d->nr == __NR_renameat2 ? (int)a[4] : 0;
		return 0;
	case __NR_truncate:
		k->op = WORKLOAD_TRUNCATE;
		k->length = (off_t)a[1];
		return 0;
	default:
		return -ENOSYS;
	}
}

/* One call being served: what the caller passed and what the supervisor reached. */
struct job {
	const struct caller *c;
	const struct call *k;
	int self_fds;
	int base[2];
	char *path[2];
	struct spot at[2]; /* unlink, rename: the entries */
	struct stat st[2];
	bool exists[2];
	int fd;	 /* open: the file opened */
	int wfd; /* the file opened again for writing, to truncate it */
};

static void job__close(struct job *j)
{
	for (int i = 0; i < 2; i++) {
		if (j->base[i] >= 0)
			close(j->base[i]);
		spot__close(&j->at[i]);
		free(j->path[i]);
	}
	if (j->fd >= 0)
		close(j->fd);
	if (j->wfd >= 0)
		close(j->wfd);
}

/* The open itself, in the directory resolve() found. Only a magic link is left for the
 * kernel to follow: -EAGAIN when the name became a symlink since resolve() looked at it. */
static int open_spot(struct job *j, const struct spot *s, int flags, bool follow)
{
	int f = (flags & ~O_TRUNC) | O_CLOEXEC | (s->must_dir ? O_DIRECTORY : 0);

	if (s->must_dir && (flags & O_CREAT))
		return -EISDIR;
	j->fd = openat(s->dir, s->name, f | (s->magic ? 0 : O_NOFOLLOW), j->k->mode);
	if (j->fd < 0)
		return errno == ELOOP && follow && !s->magic ? -EAGAIN : -errno;
	if (fstat(j->fd, &j->st[0]))
		return -errno;
	if (S_ISLNK(j->st[0].st_mode) && follow && !s->magic)
		return -EAGAIN; /* O_PATH opened a symlink that appeared meanwhile */
	return S_ISDIR(j->st[0].st_mode) ? check_not_agent(j->fd) : 0;
}

/* The file again, for writing, through our /proc/self/fd: the kernel checks the caller's
 * write permission (truncate and O_TRUNC need it) without touching the path again. */
static int reopen_for_write(struct job *j)
{
	char name[16];

	(void)snprintf(name, sizeof(name), "%d", j->fd);
	j->wfd = openat(j->self_fds, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	return j->wfd < 0 ? -errno : 0;
}

/* In the caller's view: open (or, for truncate, find) the file; O_TRUNC waits for decide. */
static int open_look(void *arg)
{
	struct job *j = arg;
	bool truncate = j->k->op == WORKLOAD_TRUNCATE;
	int flags = truncate ? O_PATH : j->k->flags;
	const char *path = j->path[0];
	bool follow = (*path && path[strlen(path) - 1] == '/') ||
		      (!(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL));
	int r = -EAGAIN;

	for (int tries = 0; r == -EAGAIN && tries < 3; tries++) {
		spot__close(&j->at[0]);
		if (j->fd >= 0)
			close(j->fd);
		j->fd = -1;
		r = caller__resolve(j->c, j->base[0], path, follow, &j->at[0]);
		if (!r)
			r = open_spot(j, &j->at[0], flags, follow);
	}
	if (r)
		return r == -EAGAIN ? -ELOOP : r;
	if (truncate && !S_ISREG(j->st[0].st_mode))
		return S_ISDIR(j->st[0].st_mode) ? -EISDIR : -EINVAL;
	if (truncate || ((flags & O_TRUNC) && !(flags & O_PATH) && S_ISREG(j->st[0].st_mode)))
		return reopen_for_write(j);
	return 0;
}

/* In the caller's view: the entries an unlink or rename would remove or move. */
static int remove_look(void *arg)
{
	struct job *j = arg;
	int r;

	for (int i = 0; i < j->k->n_paths; i++) {
		r = caller__resolve(j->c, j->base[i], j->path[i], false, &j->at[i]);
		if (r)
			return r;
		j->exists[i] =
		    !fstatat(j->at[i].dir, j->at[i].name, &j->st[i], AT_SYMLINK_NOFOLLOW);
		if (!j->exists[i] && (i == 0 || errno != ENOENT))
			return -errno;
	}
	return 0;
}

static bool same_entry(const struct spot *s, const struct stat *then)
{
	struct stat now;

	return !fstatat(s->dir, s->name, &now, AT_SYMLINK_NOFOLLOW) && now.st_dev == then->st_dev &&
	       now.st_ino == then->st_ino;
}

/* In the caller's view: the unlink or rename, by name in the directories found before. The
 * kernel applies a trailing '/' itself. -EBUSY if a process outside the supervisor swapped an
 * entry since it was decided on (workloads cannot: their calls wait for this one). */
static int remove_act(void *arg)
{
	struct job *j = arg;
	char name[2][NAME_MAX + 2];
	int r;

	for (int i = 0; i < j->k->n_paths; i++) {
		if (j->exists[i] && !same_entry(&j->at[i], &j->st[i]))
			return -EBUSY;
		(void)snprintf(name[i], sizeof(name[i]), "%s%s", j->at[i].name,
			       j->at[i].must_dir ? "/" : "");
	}
	if (j->k->op == WORKLOAD_UNLINK)
		r = unlinkat(j->at[0].dir, name[0], j->k->flags);
	else
		r = renameat2(j->at[0].dir, name[0], j->at[1].dir, name[1],
			      (unsigned int)j->k->flags);
	return r ? -errno : 0;
}

/* ---- serving a notification (on the loop thread) --------------------------------------- */

static int ask(struct workload *wl, const struct caller *c, enum workload_op op, int flags,
	       const struct stat *st, int fd)
{
	struct workload_access a = {
	    .pid = c->tid,
	    .tgid = c->tgid,
	    .uid = c->uid,
	    .comm = c->comm,
	    .cgroup_id = wl->c->cgroup_id,
	    .slot = wl->c->slot,
	    .contract = wl->c->id,
	    .op = op,
	    .flags = flags,
	    .dev = st->st_dev,
	    .ino = st->st_ino,
	    .mode = st->st_mode,
	    .exe_dev = c->exe.st_dev,
	    .exe_ino = c->exe.st_ino,
	    .fd = fd,
	};
	int r = wl->w->decide(wl->w->ctx, &a);

	/* Anything but 0 refuses; the program sees EACCES or EPERM only. */
	return r == 0 ? 0 : r == -EACCES ? -EACCES : -EPERM;
}

/* open, creat, openat, truncate: the file is open before decide(); nothing is truncated and
 * no fd reaches the caller unless decide() allows. */
static int serve_open(struct workload *wl, struct job *j, int *ret_fd)
{
	int r;

	r = caller__run(j->c, open_look, j);
	if (!r)
		r = ask(wl, j->c, j->k->op, j->k->flags, &j->st[0], j->fd);
	if (!r && j->wfd >= 0 && ftruncate(j->wfd, j->k->length))
		r = -errno;
	if (!r && j->k->op == WORKLOAD_OPEN) {
		*ret_fd = j->fd;
		j->fd = -1;
	}
	return r;
}

/* unlink, rmdir, rename: decide() on each entry removed, moved or replaced, then act. */
static int serve_remove(struct workload *wl, struct job *j)
{
	bool exchange = j->k->flags & RENAME_EXCHANGE, replaces;
	int r;

	r = caller__run(j->c, remove_look, j);
	if (!r)
		r = ask(wl, j->c, j->k->op, j->k->flags, &j->st[0], -1);
	replaces = j->k->op == WORKLOAD_RENAME && j->exists[1] && !(j->k->flags & RENAME_NOREPLACE);
	if (!r && replaces)
		r = ask(wl, j->c, exchange ? WORKLOAD_RENAME : WORKLOAD_UNLINK,
			exchange ? j->k->flags : 0, &j->st[1], -1);
	/* Do not act for a caller that is gone: its pid may be someone else's by now. */
	if (!r)
		r = seccomp_notify_id_valid(wl->fd, wl->w->req->id);
	if (!r)
		r = caller__run(j->c, remove_act, j);
	return r;
}

/* Serves one notification: 0 (with *ret_fd >= 0 to inject), LET_THROUGH, or the errno to
 * answer. */
static int serve(struct workload *wl, const struct seccomp_notif *req, int *ret_fd,
		 bool *ret_cloexec)
{
	struct caller c;
	struct call k;
	struct job j = {.c = &c,
			.k = &k,
			.self_fds = wl->w->self_fds,
			.base = {-1, -1},
			.at = {{.dir = -1}, {.dir = -1}},
			.fd = -1,
			.wfd = -1};
	int r;

	r = decode(&req->data, &k);
	if (r)
		return r;
	/*
	 * The one call let through: an O_PATH open. Its flags are a register, which the caller
	 * cannot change after this check, and an O_PATH fd gives no access to the data: reading
	 * takes another open (of /proc/self/fd/N), which comes here like any other. It cannot
	 * create or truncate (the kernel drops O_CREAT and O_TRUNC with O_PATH). And it could
	 * not be done here anyway: ADDFD refuses O_PATH files (fget() skips them: EBADF).
	 */
	if (k.op == WORKLOAD_OPEN && (k.flags & O_PATH))
		return LET_THROUGH;
	r = caller__open(&c, (pid_t)req->pid, wl->fd, req->id);
	for (int i = 0; !r && i < k.n_paths; i++) {
		j.path[i] = malloc(PATH_MAX);
		r = j.path[i] ? caller__string(&c, k.addr[i], j.path[i]) : -ENOMEM;
		if (!r)
			r = caller__base(&c, k.dirfd[i], j.path[i], &j.base[i]);
	}
	if (!r)
		r = k.op == WORKLOAD_OPEN || k.op == WORKLOAD_TRUNCATE ? serve_open(wl, &j, ret_fd)
								       : serve_remove(wl, &j);
	*ret_cloexec = k.flags & O_CLOEXEC;
	job__close(&j);
	caller__close(&c);
	return r;
}

/* Hands fd to the caller as the call's result, atomically (Linux 5.14, SEND). */
static int inject(int notify_fd, uint64_t id, int fd, bool cloexec)
{
	struct seccomp_notif_addfd add = {
	    .id = id,
	    .flags = SECCOMP_ADDFD_FLAG_SEND,
	    .srcfd = (uint32_t)fd,
	    .newfd_flags = cloexec ? O_CLOEXEC : 0,
	};

	return ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 ? -errno : 0;
}

static void answer(struct workload *wl, int error)
{
	struct seccomp_notif_resp *resp = wl->w->resp;
	int r;

	*resp = (struct seccomp_notif_resp){.id = wl->w->req->id};
	if (error == LET_THROUGH)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else
		resp->error = error;
	r = seccomp_notify_respond(wl->fd, resp);
	if (r && r != -ENOENT) /* ENOENT: the caller died or was interrupted meanwhile */
		(void)log_errno(r, "workload %d: cannot answer", wl->pid);
}

static void workload__drop(struct workload *wl)
{
	log_debug("workload %d (%s): no process left", wl->pid, wl->c->id);
	LIST_REMOVE(wl, link);
	event_free(wl->ev);
	close(wl->fd);
	free(wl);
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct workload *wl = arg;
	struct seccomp_notif *req = wl->w->req;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r, newfd = -1;
	bool cloexec = false;

	/* The fd is readable when a call waits, and hangs up when no process uses the filter
	 * any more; RECV blocks on a hang-up alone, so look first. */
	if (poll(&p, 1, 0) <= 0)
		return;
	if (!(p.revents & POLLIN)) {
		if (p.revents & (POLLHUP | POLLERR))
			workload__drop(wl);
		return;
	}
	memset(req, 0, sizeof(*req)); /* the kernel wants it zeroed */
	r = seccomp_notify_receive(fd, req);
	if (r) {
		if (r != -ENOENT)
			(void)log_errno(r, "workload %d: cannot receive", wl->pid);
		return;
	}
	r = serve(wl, req, &newfd, &cloexec);
	log_debug("workload %d: call %d by %u: %d", wl->pid, req->data.nr, req->pid, r);
	if (newfd >= 0) {
		r = inject(fd, req->id, newfd, cloexec);
		close(newfd);
		if (!r || r == -ENOENT)
			return;
	}
	answer(wl, r);
}

/* ---- contracts and workloads ----------------------------------------------------------- */

static struct contract *find_contract(struct workloads *w, const char *id)
{
	struct contract *c;

	LIST_FOREACH(c, &w->contracts, link)
	if (!strcmp(c->id, id))
		return c;
	return NULL;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	ssize_t len = (ssize_t)strlen(text);
	int fd, r = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len)
		r = -errno;
	close(fd);
	return r;
}

int workloads__add_contract(struct workloads *w, const char *contract, uint32_t slot,
			    char *ret_path, size_t size)
{
	struct contract *c;
	char *path = NULL;
	struct stat st;
	int r;

	if (find_contract(w, contract))
		return -EEXIST;
	if (asprintf(&path, "%s/%u", w->cgroup_root, slot) < 0)
		return -ENOMEM;
	if ((mkdir(path, 0755) && errno != EEXIST) || stat(path, &st)) {
		r = -errno;
		goto cleanup;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(contract))) {
		free(c);
		r = -ENOMEM;
		goto cleanup;
	}
	c->slot = slot;
	c->cgroup = path;
	c->cgroup_id = st.st_ino;
	path = NULL;
	LIST_INSERT_HEAD(&w->contracts, c, link);
	if (ret_path && snprintf(ret_path, size, "%s", c->cgroup) >= (int)size)
		return -ENAMETOOLONG;
	r = 0;
cleanup:
	free(path);
	return r;
}

int workloads__remove_contract(struct workloads *w, const char *contract)
{
	struct contract *c = find_contract(w, contract);
	struct workload *wl, *tmp;

	if (!c)
		return -ENOENT;
	for (wl = LIST_FIRST(&w->workloads); wl; wl = tmp) {
		tmp = LIST_NEXT(wl, link);
		if (wl->c == c)
			workload__drop(wl);
	}
	LIST_REMOVE(c, link);
	free(c->id);
	free(c->cgroup);
	free(c);
	return 0;
}

int workloads__cgroup(struct workloads *w, const char *contract, char *ret_path, size_t size)
{
	struct contract *c = find_contract(w, contract);

	if (!c)
		return -ENOENT;
	return snprintf(ret_path, size, "%s", c->cgroup) < (int)size ? 0 : -ENAMETOOLONG;
}

/* A seccomp listener is an anonymous inode named so (kernel/seccomp.c, init_listener()). */
static bool is_notify_fd(int fd)
{
	char path[32], target[64];
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:seccomp notify");
}

int workloads__accept(struct workloads *w, const char *contract, pid_t pid, int notify_fd,
		      char *ret_cgroup, size_t size)
{
	struct contract *c = find_contract(w, contract);
	struct workload *wl = NULL;
	char text[24];
	int r;

	if (!c || !is_notify_fd(notify_fd) || pid <= 0) {
		r = !c ? -ENOENT : -EINVAL;
		goto fail;
	}
	/* In the cgroup before its first call is answered: the net guard sees a holder. */
	(void)snprintf(text, sizeof(text), "%d\n", pid);
	r = write_file(c->cgroup, "cgroup.procs", text);
	if (r)
		goto fail;
	wl = calloc(1, sizeof(*wl));
	if (!wl) {
		r = -ENOMEM;
		goto fail;
	}
	*wl = (struct workload){.w = w, .c = c, .fd = notify_fd, .pid = pid};
	wl->ev = event_new(w->base, notify_fd, EV_READ | EV_PERSIST, on_notify, wl);
	if (!wl->ev || event_add(wl->ev, NULL)) {
		r = -ENOMEM;
		goto fail;
	}
	LIST_INSERT_HEAD(&w->workloads, wl, link);
	if (ret_cgroup)
		(void)snprintf(ret_cgroup, size, "%s", c->cgroup);
	log_debug("workload %d (%s) supervised in %s", pid, c->id, c->cgroup);
	return 0;
fail:
	if (wl && wl->ev)
		event_free(wl->ev);
	free(wl);
	close(notify_fd);
	return r;
}

unsigned int workloads__count(const struct workloads *w)
{
	const struct workload *wl;
	unsigned int n = 0;

	LIST_FOREACH(wl, &w->workloads, link)
	n++;
	return n;
}

/* ---- the workload socket (protocol: tools/workload_proto.h) ---------------------------- */

static void conn__close(struct conn *cn)
{
	LIST_REMOVE(cn, link);
	event_free(cn->ev);
	close(cn->fd);
	free(cn);
}

/* One request line and the fds that came with it (at most 4 kept; any more are closed by
 * the kernel, which then sets MSG_CTRUNC). */
static int read_request(int sock, char *line, int fds[4], int *ret_n)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = line, .iov_len = WORKLOAD_MSG_MAX - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm;
	ssize_t n;

	*ret_n = 0;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) && *ret_n < 4;
		     i++)
			memcpy(&fds[(*ret_n)++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
	line[n] = '\0';
	return n > 0 && line[n - 1] == '\n' ? 0 : -EPROTO;
}

static pid_t peer_pid(int sock, uid_t *ret_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -1;
	*ret_uid = cred.uid;
	return cred.pid;
}

/* Checks and serves a request; fills error (and returns nonzero) when refusing. */
static int serve_request(struct workloads *w, int sock, char *cgroup, char *error, size_t size)
{
	char line[WORKLOAD_MSG_MAX];
	int fds[4], n_fds, r;
	cJSON *req = NULL, *contract, *pid;
	uid_t uid = (uid_t)-1;
	pid_t peer = peer_pid(sock, &uid);

	r = read_request(sock, line, fds, &n_fds);
	req = r ? NULL : cJSON_Parse(line);
	contract = cJSON_GetObjectItemCaseSensitive(req, "contract");
	pid = cJSON_GetObjectItemCaseSensitive(req, "pid");
	if (!cJSON_IsString(contract) || !cJSON_IsNumber(pid) || n_fds != 1) {
		(void)snprintf(error, size,
			       "expected one line {\"contract\": ID, \"pid\": N} "
			       "and one fd");
		r = -EPROTO;
	} else if (uid != 0 || peer != (pid_t)pid->valuedouble) {
		(void)snprintf(error, size, "pid must be the sender's own, and the sender root");
		r = -EPERM;
	} else {
		r = workloads__accept(w, contract->valuestring, peer, fds[0], cgroup, PATH_MAX);
		fds[0] = -1; /* taken */
		if (r)
			(void)snprintf(error, size, "%s: %s", contract->valuestring,
				       r == -ENOENT ? "no such contract on this node"
						    : strerror(-r));
	}
	for (int i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	cJSON_Delete(req);
	return r;
}

static void on_request(evutil_socket_t fd, short what, void *arg)
{
	struct conn *cn = arg;
	char cgroup[PATH_MAX], error[256], out[WORKLOAD_MSG_MAX], *text;
	cJSON *reply = cJSON_CreateObject();
	bool ok;

	ok = (what & EV_READ) && !serve_request(cn->w, fd, cgroup, error, sizeof(error));
	if (!(what & EV_READ))
		(void)snprintf(error, sizeof(error), "no request within %d s", REQUEST_TIMEOUT_SEC);
	cJSON_AddBoolToObject(reply, "ok", ok);
	cJSON_AddStringToObject(reply, ok ? "cgroup" : "error", ok ? cgroup : error);
	text = cJSON_PrintUnformatted(reply);
	/* A small reply into an empty socket buffer: one send() is enough. */
	if (text && snprintf(out, sizeof(out), "%s\n", text) < (int)sizeof(out))
		(void)send(fd, out, strlen(out), MSG_NOSIGNAL | MSG_DONTWAIT);
	if (!ok)
		log_warn("workload socket: refused: %s", error);
	free(text);
	cJSON_Delete(reply);
	conn__close(cn);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
		      int socklen, void *arg)
{
	struct workloads *w = arg;
	struct timeval timeout = {.tv_sec = REQUEST_TIMEOUT_SEC};
	struct conn *cn = calloc(1, sizeof(*cn));

	if (!cn || !(cn->ev = event_new(w->base, fd, EV_READ, on_request, cn)) ||
	    event_add(cn->ev, &timeout)) {
		if (cn && cn->ev)
			event_free(cn->ev);
		free(cn);
		close(fd);
		return;
	}
	cn->w = w;
	cn->fd = fd;
	LIST_INSERT_HEAD(&w->conns, cn, link);
}


/* ---- the supervisor -------------------------------------------------------------------- */

static int open_socket(struct workloads *w, const char *path)
{
	int fd;

	w->socket_path = strdup(path);
	if (!w->socket_path)
		return -ENOMEM;
	fd = unix_listen_root(path);
	if (fd < 0)
		return fd;
	w->listener = evconnlistener_new(w->base, on_accept, w,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!w->listener) {
		close(fd);
		(void)unlink(path);
		return -ENOMEM;
	}
	return 0;
}

struct workloads *workloads__open(struct event_base *base, const struct workloads_opts *opts)
{
	struct workloads *w;
	int r;

	if (!base || !opts || !opts->cgroup_root || !opts->decide) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	*w = (struct workloads){.base = base, .decide = opts->decide, .ctx = opts->ctx};
	LIST_INIT(&w->contracts);
	LIST_INIT(&w->workloads);
	LIST_INIT(&w->conns);
	w->self_fds = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	w->cgroup_root = strdup(opts->cgroup_root);
	if (w->self_fds < 0 || !w->cgroup_root || seccomp_notify_alloc(&w->req, &w->resp)) {
		r = w->self_fds < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	if (mkdir(w->cgroup_root, 0755) && errno != EEXIST) {
		r = log_errno(-errno, "workloads: cannot make cgroup %s", w->cgroup_root);
		goto fail;
	}
	r = opts->socket_path ? open_socket(w, opts->socket_path) : 0;
	if (r) {
		(void)log_errno(r, "workloads: cannot listen on %s", opts->socket_path);
		goto fail;
	}
	return w;
fail:
	workloads__close(w);
	errno = -r;
	return NULL;
}

void workloads__close(struct workloads *w)
{
	if (!w)
		return;
	while (!LIST_EMPTY(&w->conns))
		conn__close(LIST_FIRST(&w->conns));
	while (!LIST_EMPTY(&w->contracts))
		(void)workloads__remove_contract(w, LIST_FIRST(&w->contracts)->id);
	if (w->listener) {
		evconnlistener_free(w->listener);
		(void)unlink(w->socket_path);
	}
	if (w->self_fds >= 0)
		close(w->self_fds);
	seccomp_notify_free(w->req, w->resp);
	free(w->socket_path);
	free(w->cgroup_root);
	free(w);
}
