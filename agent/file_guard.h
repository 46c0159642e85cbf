/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File guard loader: loads bpf/file_guard.bpf.c, pins its maps and links under a bpffs
 * directory, attaches. Enforcement outlives the object: file_guard__destroy() closes, it
 * does not detach; a later file_guard__open() on the same pin root adopts what is pinned
 * (same program code: the pinned links are kept; new code: attached beside, then renamed
 * over the old pin), so there is never a moment without a program.
 *
 * Semantics of rules, bindings, uses and events: bpf/file_guard.h. Every function returns
 * 0 or -errno; constructors NULL and errno. Include <linux/types.h> and bpf/file_guard.h.
 */
#ifndef PEP_AGENT_FILE_GUARD_H
#define PEP_AGENT_FILE_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct file_guard;
struct fg_rule;
struct fg_inode;
struct fg_event;
struct fg_derived;
struct fg_ask;
struct fg_binding;

/* Called by file_guard__poll() for each event; a non-zero return stops the poll. */
typedef int (*file_guard_event_fn)(void *ctx, const struct fg_event *e);

struct file_guard_opts {
	const char *pin_root; /* bpffs directory, made if missing: "/sys/fs/bpf/pep" */
	/* The lsm backend's hooks (file_open refused with EPERM; unlink, rename, truncate under
	 * FG_NO_DELETE), else the portable one's (sys_exit tracepoint, SIGKILL). */
	bool lsm;
	/* Map sizes; 0 takes the default. Ignored for maps already pinned (adopted as are). */
	__u32 max_files;    /* bound files + files added under directories + copies (65536) */
	__u32 max_dirs;	    /* (4096) */
	__u32 max_apps;	    /* {slot, executable} entries, all slots (4096) */
	__u32 max_windows;  /* use counters (8192) */
	__u32 max_derived;  /* (16384) */
	__u32 events_bytes; /* ring buffer, a power of 2 multiple of the page size (256 KiB) */
	file_guard_event_fn on_event; /* NULL: events stay in the ring for someone else */
	void *ctx;
};

/* Opens or adopts, loads, pins and attaches. */
struct file_guard *file_guard__open(const struct file_guard_opts *opts);
/* Closes; pins stay and enforcement goes on. Accepts NULL. */
void file_guard__destroy(struct file_guard *fg);
/* Removes the link pins and the file_* map pins (not the shared holders map); the
 * programs stop when the object is destroyed. */
int file_guard__unpin(struct file_guard *fg);

/* Exempts the calling process (its tgid and start time) from the programs' decisions,
 * holders and copies: the agent, whose supervisor opens files for workloads and whose
 * deletion code removes a product (bpf/file_guard.h, file_trusted). Replaces the process
 * trusted before. */
int file_guard__trust_self(struct file_guard *fg);

/* Decides an access the agent performs for a workload (struct fg_ask, bpf/file_guard.h) with
 * the file_decide program: the kernel's own rule, counters, holders, copies and event.
 * 0: allowed; -EACCES: refused (ask->reason says why); another -errno: the program did not
 * run, and the caller must refuse. */
int file_guard__decide(struct file_guard *fg, struct fg_ask *ask);

/*
 * Sets or replaces slot's rule and its application list atomically: the list is written
 * under a new generation, then the rule (one hash update) switches to it, then the old
 * list goes. An open is decided wholly by the old or wholly by the new version. generation,
 * generation_end and slot of *rule are filled in here. On error the old version stands.
 */
int file_guard__set_rule(struct file_guard *fg, __u32 slot, const struct fg_rule *rule,
			 const struct fg_inode *apps, size_t n_apps);
/* From now on every open of the slot's files is refused. */
int file_guard__terminate(struct file_guard *fg, __u32 slot);
/* Whether the journal takes records (file_record_state): while it does not, the uses of
 * rules with FG_RECORD_REQUIRED are refused. */
int file_guard__set_journal_full(struct file_guard *fg, bool full);
/* The rule as the programs see it. */
int file_guard__rule(struct file_guard *fg, __u32 slot, struct fg_rule *ret_rule);
/* Gives the slot up: rule first (its files are refused meanwhile), then its bindings,
 * derived copies, applications and counters. */
int file_guard__clear_slot(struct file_guard *fg, __u32 slot);

/* The identity the programs see for an executable or file: stat() (symlinks resolved),
 * device in the kernel encoding. */
int file_guard__inode_of(const char *path, struct fg_inode *ret_id);
__u32 file_guard__kdev(dev_t st_dev);
/* Binds a file, or a directory and everything under it now (later files: file_dirs).
 * On error part of it may be bound: file_guard__clear_slot() undoes. */
int file_guard__bind(struct file_guard *fg, __u32 slot, const char *path);
/* The generation of the file of the caller's fd (the file_generation program). */
int file_guard__generation(struct file_guard *fg, int fd, __u32 *ret_gen);
/* The binding of an object in file_bound, else file_dirs, whatever its generation; -ENOENT. */
int file_guard__binding(struct file_guard *fg, const struct fg_inode *id, struct fg_binding *ret);
/* Forgets an object: file_bound, file_dirs and file_derived (after deleting a copy). */
int file_guard__unbind(struct file_guard *fg, const struct fg_inode *id);
/* Calls fn for each derived copy until it returns non-zero (that value is returned). */
int file_guard__for_each_derived(struct file_guard *fg,
				 int (*fn)(void *ctx, const struct fg_inode *id,
					   const struct fg_derived *d),
				 void *ctx);

/* Uses admitted in the current count and frequency windows (0 if the rule has no such
 * limit or no use yet). */
int file_guard__uses(struct file_guard *fg, __u32 slot, __u64 *ret_count, __u64 *ret_freq);
/* Holder slots of process pid (holders.h); -ENOENT if it holds nothing. */
int file_guard__holder(struct file_guard *fg, pid_t pid, __u64 *ret_slots);
/* Sum over CPUs of file_drops[what] (enum fg_drop). */
int file_guard__drops(struct file_guard *fg, __u32 what, __u64 *ret_count);
/* Hands pending events to opts.on_event, waiting up to timeout_ms for the first;
 * returns the number handled or -errno. */
int file_guard__poll(struct file_guard *fg, int timeout_ms);
/* The file_events ring buffer fd, for an event loop (epoll it, then poll with 0). */
int file_guard__events_fd(const struct file_guard *fg);

/* The programs' clock (CLOCK_BOOTTIME ns): now, and the boot time of a wall-clock time
 * (seconds since the epoch), for not_before/not_after. */
__u64 file_guard__now(void);
__u64 file_guard__boot_ns(__s64 wall_sec);

#endif /* PEP_AGENT_FILE_GUARD_H */
