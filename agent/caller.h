/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Acting as the caller of a supervised system call (agent/workload.c): who it is, read from
 * /proc/TID, and file operations done as it would do them. caller__run() runs a function in
 * a short-lived thread that has taken the caller's root, fsuid/fsgid, groups, effective
 * capabilities and umask, so that the kernel's own permission checks are the caller's;
 * caller__resolve() walks a path there one component at a time, as the kernel would for the
 * caller, except that "/proc/self" means the caller and nothing under the agent's own
 * /proc/PID is reachable. Functions return 0 or -errno.
 */
#ifndef PEP_AGENT_CALLER_H
#define PEP_AGENT_CALLER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* Who made the call, read once per notification from /proc/TID (pinned by an fd). */
struct caller {
	pid_t tid;
	pid_t tgid; /* its process, in our pid namespace */
	uid_t uid;  /* real uid */
	int proc;   /* /proc/TID */
	int mem;    /* /proc/TID/mem, for the path arguments */
	int root;   /* its root directory */
	uid_t fsuid;
	gid_t fsgid;
	gid_t *groups;
	size_t n_groups;
	mode_t umask;
	uint64_t cap_eff;     /* 0 when it lives in another user namespace than the agent */
	long ns_tgid, ns_tid; /* as its own /proc names them: what "self" means to it */
	struct stat exe;
	char comm[16]; /* /proc/TID/comm, NUL-terminated */
};

/* Pins thread tid (in our pid namespace) while notification id on notify_fd is pending,
 * and reads who it is. caller__close() is needed even when this fails. */
int caller__open(struct caller *c, pid_t tid, int notify_fd, uint64_t id);
void caller__close(struct caller *c);
/* The NUL-terminated string at addr in the caller's memory, into buf[PATH_MAX]. */
int caller__string(const struct caller *c, uint64_t addr, char *buf);
/* The directory a relative path starts from (cwd for AT_FDCWD, else the caller's dirfd);
 * *ret_fd is -1 for an absolute path. */
int caller__base(const struct caller *c, int dirfd, const char *path, int *ret_fd);
/* Runs fn(arg) in a thread with the caller's view; returns its result. */
int caller__run(const struct caller *c, int (*fn)(void *arg), void *arg);

/* Where a path leads: a directory and a name in it. */
struct spot {
	int dir; /* O_PATH */
	char name[NAME_MAX + 1];
	bool must_dir; /* the path ended in '/' */
	bool magic;    /* name is a procfs magic link (fd/N, cwd, exe...): the kernel follows it */
};

void spot__close(struct spot *s);
/* Only in caller__run(): resolves path from base (or the root) to a directory and the last
 * name, following a last symlink when `follow` says so. A missing last name is not an error
 * (O_CREAT may make it); no symlink is left for the kernel to follow but procfs magic
 * links. */
int caller__resolve(const struct caller *c, int base, const char *path, bool follow,
		    struct spot *ret);
/* -EACCES for a directory inside the agent's own /proc/PID, else 0 (or -errno). */
int check_not_agent(int dir);

#endif /* PEP_AGENT_CALLER_H */
