/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * File guard: which processes may open the files of a data product, how often, and until
 * when. Shared by bpf/file_guard.bpf.c (both backends' programs) and agent/file_guard.c:
 * every struct here is a map key, a map value, an event or a program's context. Include
 * vmlinux.h (BPF) or <linux/types.h> (user space) first.
 *
 * Objects are (dev, ino). dev is the KERNEL encoding of super_block->s_dev,
 * major << 20 | minor (MINORBITS in include/linux/kdev_t.h), not glibc's st_dev:
 * user space converts with file_guard__kdev(). A deleted file's inode number is given to a
 * new file (ext4 does so at once), so a binding also keeps inode->i_generation, which the
 * filesystem draws anew for each file it gives a number (ext4, tmpfs; not ramfs, overlayfs:
 * docs/file-guard.md): a binding of another generation is not the file's (struct
 * fg_binding). Times are bpf_ktime_get_boot_ns()
 * (CLOCK_BOOTTIME: counts suspend, never jumps); the agent converts wall clock.
 *
 * Every map is pinned by name under the pin root, so enforcement and counters outlive the
 * agent; names start with file_ so they do not meet the other guards' maps there.
 */
#ifndef PEP_FILE_GUARD_H
#define PEP_FILE_GUARD_H

#define FG_MAX_SLOTS 1024 /* contract slots 0..FG_MAX_SLOTS-1, given by the agent */
#define FG_DIR_DEPTH 16	  /* ancestors looked at when a file is created: see file_dirs */
#define FG_PATH_LEN  256  /* path argument carried by a derived event */
#define FG_FD_SCAN   64	  /* fds of a new holder looked at for derived copies */
#define FG_COMM_LEN  16

/* file->f_mode bits (include/linux/fs.h FMODE_READ, FMODE_WRITE: stable since 2.6) */
#define FG_FMODE_READ  0x1
#define FG_FMODE_WRITE 0x2

/* struct fg_rule.flags */
enum fg_rule_flags {
	FG_ACTIVE = 1 << 0,	  /* applied; a slot without an active rule refuses every open */
	FG_TERMINATED = 1 << 1,	  /* terminated or expired: every open refused */
	FG_APP_ALLOW = 1 << 2,	  /* only executables listed in file_apps may open */
	FG_APP_DENY = 1 << 3,	  /* executables listed in file_apps may not open */
	FG_COUNT_LIMIT = 1 << 4,  /* count_limit uses per count window */
	FG_FREQ_LIMIT = 1 << 5,	  /* freq_limit uses per frequency window */
	FG_MARK_HOLDER = 1 << 6,  /* an admitted open sets bit holder_slot in holders */
	FG_TRACK_COPIES = 1 << 7, /* files a holder creates or writes become derived copies */
	FG_NO_DELETE = 1 << 8,	  /* unlink, rename, truncate refused (lsm backend, file_decide) */
	FG_RECORD_REQUIRED = 1 << 9, /* a use is admitted only if it can be recorded: see below */
};

/*
 * file_record_state: ARRAY of one __u32, pinned, shared by every guard: 1 while the agent's
 * journal takes no records (full, or its disk failing: journal__full()), set and cleared
 * by the agent. Under FG_RECORD_REQUIRED an open or an endpoint connection that would be
 * admitted is refused then (FG_R_UNRECORDABLE), and also when its event cannot be reserved
 * in the ring buffer: the programs reserve the record before they admit the use, so no use
 * goes unrecorded. Refusals are not held back: they are reported as far as possible.
 */

/*
 * file_rules: HASH slot -> rule. A hash, not an array: an update links a new element and
 * unlinks the old one, so a reader sees one version or the other, never a mix (an array
 * update is a memcpy into the value a reader may be reading). Hash elements are recycled
 * at once, though (prealloc freelist and bpf_mem_alloc alike), so a reader that lost the
 * race to two updates could copy a reused element: the programs copy the rule and accept
 * the copy only if slot and both generation stamps agree (the agent keeps generations
 * unique across slots).
 *
 * A use (an open with read access) is admitted iff, for each limit, the counter of the
 * current window was below the limit before the program's own fetch-and-add. Window index
 * = (now - not_before) / window_ns, or 0 when window_ns is 0 (one window for the validity).
 */
struct fg_rule {
	__u32 generation;  /* unique per update of any slot's rule; keys file_apps */
	__u32 slot;	   /* = the key */
	__u32 flags;	   /* enum fg_rule_flags */
	__u32 holder_slot; /* 0..MAX_HOLDER_SLOTS-1, with FG_MARK_HOLDER */
	__u64 not_before;  /* boot ns; 0: no lower bound */
	__u64 not_after;   /* boot ns; 0: no upper bound */
	__u64 count_limit; /* with FG_COUNT_LIMIT */
	__u64 count_window_ns;
	__u64 freq_limit; /* with FG_FREQ_LIMIT */
	__u64 freq_window_ns;
	__u32 generation_end; /* = generation: written last, read last */
	__u32 pad;
};

/* An inode, the key of file_bound, file_dirs, file_derived, and an executable's identity. */
struct fg_inode {
	__u32 dev; /* kernel encoding, see above */
	__u32 pad; /* zero: part of hash keys */
	__u64 ino;
};

/*
 * file_ino_bits: mmapable ARRAY of FG_INO_WORDS __u64 words, bit fg_ino_bit(ino) set for
 * every inode in file_bound. It is set before the inode enters file_bound (user space:
 * atomic OR through mmap; programs: fetch-and-or) and never cleared, so a clear bit proves
 * the file is not bound and an open of a file no contract touches costs one array load
 * instead of reading s_dev and a hash lookup (measured here: ~1.20x -> ~1.13x on
 * open+close). A set bit only means: look it up. Stale bits cost a lookup, nothing else.
 */
#define FG_INO_BITS  (1u << 20)
#define FG_INO_WORDS (FG_INO_BITS / 64)

static inline __u32 fg_ino_bit(__u64 ino)
{
	return (__u32)(ino ^ ino >> 20) & (FG_INO_BITS - 1);
}

/* struct fg_binding.origin: why an inode is in file_bound or file_dirs */
enum fg_origin {
	FG_ORIGIN_BOUND = 0,   /* the agent bound it */
	FG_ORIGIN_DIR = 1,     /* created under a bound directory, added by the program */
	FG_ORIGIN_DERIVED = 2, /* written by a holder: a derived copy */
};

/*
 * file_bound: HASH inode -> binding, the files whose opens are decided (bound files, files
 * created under bound directories, derived copies). file_dirs: HASH inode -> binding,
 * bound directories: a file created (O_CREAT) with one of them among its FG_DIR_DEPTH
 * nearest ancestors is added to file_bound, its parent directory to file_dirs. Subdirectory
 * creation (mkdir) is covered by that ancestor walk, since at sys_exit of mkdir no dentry
 * of the new directory is reachable without resolving the path again.
 */
struct fg_binding {
	__u32 slot;
	__u32 origin;	  /* enum fg_origin */
	__u32 generation; /* inode->i_generation of the file bound */
};

/*
 * A binding whose generation differs from the inode's was made for a file since deleted
 * behind the agent's back (rm while the agent was down, a copy removed by its holder),
 * whose number the filesystem gave to this one: the programs treat it as absent. They do
 * not delete it (a delete could race with a binding of the new file and remove that one):
 * it stays until the file of that number is bound, or the slot is cleared.
 *
 * file_generation: a SEC("syscall") program the agent runs to learn the generation of a
 * file it binds, from an fd of its own (O_PATH will do): the ioctl for it,
 * FS_IOC_GETVERSION, is missing on tmpfs. Returns 0, or -EBADF if fd is not open.
 */
struct fg_fd_generation {
	__s32 fd;	  /* in: the agent's */
	__u32 generation; /* out */
};

/* file_apps: HASH {slot, generation, executable} -> __u8 1. The rule's generation selects
 * the list, so a replaced contract's list takes effect together with its rule. */
struct fg_app_key {
	__u32 slot;
	__u32 generation;
	struct fg_inode exe; /* task->mm->exe_file->f_inode: symlinks resolved, as stat() does */
};

/* file_uses: HASH -> __u64 uses counted (admitted ones: a refused attempt takes its
 * increment back). Pinned: counts survive the agent. Old windows are the agent's to prune. */
enum fg_use_kind {
	FG_USE_COUNT = 0,
	FG_USE_FREQ = 1,
};

struct fg_use_key {
	__u32 slot;
	__u32 kind; /* enum fg_use_kind */
	__u64 window;
};

/* file_derived: HASH inode -> who made the copy. The agent deletes copies at termination
 * (after checking dev/ino of the path it resolved). */
struct fg_derived {
	__u32 slot;
	__u32 tgid;
	__u64 ts; /* boot ns */
};

/* file_hold_slots: HASH holder slot -> __u32 contract slot, for derived copies: a holder
 * bit tells which rule (and so which track-copies flag and slot) a new file inherits. */

/*
 * file_trusted: ARRAY of one fg_trusted, the agent's own process, which the programs do not
 * decide on: its workload supervisor opens files on a workload's behalf (and has that open
 * decided by file_decide, for the workload), its deletion code removes a terminated product.
 * A process is its tgid AND its start time: a later process given the same pid is not
 * trusted. Written by the file_trust_self program (the agent runs it); tgid 0: nobody.
 */
struct fg_trusted {
	__u32 tgid;
	__u32 pad;
	__u64 start_ns; /* task->group_leader->start_boottime */
};

/*
 * The context of file_decide, a SEC("syscall") program the agent runs
 * (bpf_prog_test_run_opts) for a workload of `pepctl run`: the supervisor has opened, or is
 * about to remove, a file for the workload, and the program decides as if the workload had
 * done it itself: the same rule, the same counters (fetch-and-add), the same holder mark, the
 * same copy tracking, the same event. In: all but reason and counter. Out: reason, counter;
 * the program's return value is enum fg_verdict.
 */
enum fg_ask_flags {
	FG_ASK_OPEN = 1 << 0,	 /* an open with access fmode */
	FG_ASK_DESTROY = 1 << 1, /* unlink, rename (either file), truncate, or O_TRUNC */
	FG_ASK_REGULAR = 1 << 2, /* the file is a regular file (only those become copies) */
};

struct fg_ask {
	struct fg_inode object; /* the file the supervisor reached (fstat) */
	struct fg_inode exe;	/* the workload's executable */
	__u64 cgroup_id;	/* the workload's cgroup */
	__u64 counter;		/* out: as fg_event.counter */
	__u32 flags;		/* enum fg_ask_flags */
	__u32 fmode;		/* open: FG_FMODE_READ | FG_FMODE_WRITE */
	__u32 pid;		/* the calling thread, */
	__u32 tgid;		/* its process, */
	__u32 uid;		/* its uid: as the kernel numbers them (initial namespaces) */
	__u32 reason;		/* out: enum fg_reason */
	__s32 fd;		/* the agent's fd of object, or -1: see file_decide */
	char comm[FG_COMM_LEN];
	char path[FG_PATH_LEN]; /* where the file is: for the event of a derived copy */
};

/* file_drops: PERCPU_ARRAY enum fg_drop -> __u64, what the programs could not record. */
enum fg_drop {
	FG_DROP_EVENT = 0,  /* ring buffer full: event lost */
	FG_DROP_HOLDER = 1, /* holders full: process not marked */
	FG_DROP_BIND = 2,   /* file_bound/file_dirs/file_derived full: file not added */
	FG_DROPS
};

enum fg_kind {
	FG_EV_ALLOWED = 1,   /* admitted, not a use (no read access) or no limit */
	FG_EV_COUNTED = 2,   /* admitted use; counter = uses in the count window (or freq) */
	FG_EV_DENIED = 3,    /* refused: killed (portable), EPERM (lsm), EACCES/EPERM (workload) */
	FG_EV_EXHAUSTED = 4, /* refused because a limit was reached: the same */
	FG_EV_DERIVED = 5,   /* a holder made a derived copy: fd and path say where */
	FG_EV_ADDED = 6,     /* a file created under a bound directory was bound */
};

enum fg_verdict {
	FG_ALLOW = 0,
	FG_DENY = 1,
};

enum fg_reason {
	FG_R_NONE = 0,
	FG_R_NO_RULE = 1, /* bound to a slot with no (or an unreadable) active rule */
	FG_R_TERMINATED = 2,
	FG_R_NOT_YET = 3, /* before not_before */
	FG_R_EXPIRED = 4, /* after not_after */
	FG_R_APP = 5,	  /* executable not allowed */
	FG_R_COUNT = 6,
	FG_R_FREQ = 7,
	FG_R_NO_DELETE = 8, /* an unlink, rename or truncation under FG_NO_DELETE */
	FG_R_UNRECORDABLE = 9, /* FG_RECORD_REQUIRED, and the record cannot be made */
	FG_R_GENERATION = 10,  /* an ioctl setting a bound file's inode generation */
};

/*
 * file_events: RINGBUF of these. Every decision on a bound file is one event; a failed
 * reservation counts in file_drops[FG_DROP_EVENT] instead, never silently. Only ADDED and
 * DERIVED events carry path: the others end before it (fg_event_size(), 112 bytes instead of
 * 368), so a ring buffer holds three times as many decisions.
 */
struct fg_event {
	__u64 ts;	 /* boot ns */
	__u64 counter;	 /* COUNTED/EXHAUSTED: value of the counter that decided */
	__u64 cgroup_id; /* cgroup v2 id of the opener */
	struct fg_inode object;
	struct fg_inode exe;
	__u32 kind;    /* enum fg_kind */
	__u32 verdict; /* enum fg_verdict */
	__u32 reason;  /* enum fg_reason */
	__u32 slot;
	__u32 generation;
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id */
	__u32 uid;
	__s32 fd;    /* the fd the open returned */
	__s32 error; /* 0, or why a kill or a map update failed (-errno) */
	char comm[FG_COMM_LEN];
	char path[FG_PATH_LEN]; /* DERIVED/ADDED: path argument as passed, maybe relative */
};

#define FG_EVENT_SHORT __builtin_offsetof(struct fg_event, path)

/* Bytes of an event of kind in file_events (a constant where kind is one). */
static inline __u32 fg_event_size(__u32 kind)
{
	return kind == FG_EV_ADDED || kind == FG_EV_DERIVED ? sizeof(struct fg_event) :
							      FG_EVENT_SHORT;
}

#endif /* PEP_FILE_GUARD_H */
