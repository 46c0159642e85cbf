/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload supervisor (portable backend): `pepctl run --contract ID -- CMD` starts CMD in the
 * contract's cgroup under a seccomp filter that turns open/openat/creat/openat2 and the
 * deletion calls (unlink, unlinkat, rmdir, rename, renameat, renameat2, truncate) into user
 * notifications. The agent receives the filter's notification fd and, for each call, performs
 * the operation itself with the caller's view (root, cwd or dirfd, fsuid/fsgid, groups,
 * effective capabilities, umask), asks decide() about the file it actually reached, and then
 * injects the fd (SECCOMP_IOCTL_NOTIF_ADDFD, atomically returned as the syscall's result) or
 * answers with the decision's errno. The program sees a plain "Permission denied"; there is no
 * window between check and use, because the file checked is the file handed over.
 * docs/backends.md says what this guarantees and what it cannot.
 *
 * Every function returns 0 or -errno; workloads__open() returns NULL and sets errno.
 * Everything runs on the event_base's thread; nothing here is thread-safe.
 */
#ifndef PEP_AGENT_WORKLOAD_H
#define PEP_AGENT_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct workloads;

enum workload_op {
	WORKLOAD_OPEN,	   /* flags: the open flags; O_TRUNC in them truncates */
	WORKLOAD_UNLINK,   /* unlink, unlinkat, rmdir, and a file a rename would replace;
			    * flags: AT_REMOVEDIR for directories */
	WORKLOAD_RENAME,   /* the file renamed (both files of a RENAME_EXCHANGE);
			    * flags: renameat2's RENAME_* */
	WORKLOAD_TRUNCATE, /* truncate(2); flags 0 */
};

/*
 * One access to decide, filled by the supervisor. Files are named by (dev, ino) of what the
 * supervisor reached itself (fstat of the file it opened, or of the directory entry it is
 * about to remove), never by the path the program passed. dev is user space's st_dev.
 * The pointers are valid only during the call.
 */
struct workload_access {
	pid_t pid;	      /* the calling thread, in the agent's pid namespace */
	pid_t tgid;	      /* its process, likewise */
	uid_t uid;	      /* its real uid */
	const char *comm;     /* its name */
	uint64_t cgroup_id;   /* the contract's workload cgroup (its inode number) */
	uint32_t slot;	      /* the contract's slot */
	const char *contract; /* the contract's id */
	enum workload_op op;
	int flags;
	dev_t dev; /* the file */
	ino_t ino;
	mode_t mode;   /* its type and permission bits (st_mode) */
	dev_t exe_dev; /* the caller's executable (/proc/PID/exe) */
	ino_t exe_ino;
	int fd; /* open: the agent's fd of the file opened (not yet handed over); else -1 */
};

/* Returns 0 to allow, or -EPERM / -EACCES: the errno the program gets. Runs on the
 * event_base's thread, with the agent's own credentials and root. */
typedef int (*workload_decide_fn)(void *ctx, const struct workload_access *access);

struct workloads_opts {
	const char *cgroup_root; /* made if missing: "<cgroup2 mount>/pep" (probe.h finds it) */
	/* The root-only socket pepctl run talks to (tools/workload_proto.h): the admin socket's
	 * path + WORKLOAD_SOCKET_SUFFIX. NULL: none (workloads come in by workloads__accept). */
	const char *socket_path;
	workload_decide_fn decide;
	void *ctx;
};

struct workloads *workloads__open(struct event_base *base, const struct workloads_opts *opts);
/* Stops supervising: the notification fds close, so a workload's supervised calls fail with
 * ENOSYS from then on (fail-closed). Removes the socket file. Accepts NULL. */
void workloads__close(struct workloads *w);

/*
 * Makes the contract's workload cgroup, <cgroup_root>/<slot> (kept if it exists), and
 * remembers contract -> slot. The path goes to ret_path (size bytes). Register it with
 * net_guard__add_workload() so that its processes count as holders.
 */
int workloads__add_contract(struct workloads *w, const char *contract, uint32_t slot,
			    char *ret_path, size_t size);
/* Forgets the contract and stops supervising its workloads (their supervised calls fail with
 * ENOSYS); the cgroup stays, for the caller to kill (cgroup.kill) and remove. -ENOENT if
 * unknown. */
int workloads__remove_contract(struct workloads *w, const char *contract);
/* The contract's cgroup path into ret_path (size bytes); -ENOENT if unknown. */
int workloads__cgroup(struct workloads *w, const char *contract, char *ret_path, size_t size);

/*
 * Supervises a new workload of `contract`: moves pid into the contract's cgroup and watches
 * notify_fd (its seccomp notification fd). Takes notify_fd in every case (closed on error).
 * The cgroup's path goes to ret_cgroup (size bytes) when it is not NULL.
 */
int workloads__accept(struct workloads *w, const char *contract, pid_t pid, int notify_fd,
		      char *ret_cgroup, size_t size);

/* Workloads (notification fds) being supervised, for status and tests. */
unsigned int workloads__count(const struct workloads *w);

#endif /* PEP_AGENT_WORKLOAD_H */
