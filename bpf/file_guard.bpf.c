// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * File guard, portable backend: for kernels without BPF-LSM or trampolines (this machine:
 * lsm and fentry programs are refused at load, no kprobes; kernel-facts.md). One tp_btf/sys_exit
 * program decides every successful open of a bound file on the file actually opened
 * (fd -> struct file -> inode), not on the path string another thread may change.
 * Refusing = bpf_send_signal(SIGKILL): the open has completed, but the process dies on its
 * way back to user space, before it runs another instruction, so it never reads a byte.
 * Two more programs keep holders right across fork and exit.
 *
 * Maps and their contracts: file_guard.h. Decision: file_guard.bpf.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpf/holders.h"
#include "bpf/file_guard.h"
#include "bpf/file_guard.bpf.h"

#ifndef __TARGET_ARCH_x86
/* The syscall numbers, argument registers and the compat check below are x86_64's.
 * arm64: openat 56, openat2 437, open_by_handle_at 265 (no open/creat), nr in
 * regs->syscallno, args in regs->regs[0..]; not done. */
#error "file_guard.bpf.c: x86_64 only"
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGKILL 9
#define O_CREAT 0100 /* same for native and ia32 */
#define S_IFMT	00170000
#define S_IFREG 0100000
/* arch/x86/include/asm/thread_info.h: thread_info.status bit of a 32-bit syscall
 * (in_ia32_syscall()); unchanged since 3.x */
#define TS_COMPAT 0x0002

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The shared map of holders.h: declared exactly as every other guard declares it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_HOLDERS);
	__type(key, __u32);
	__type(value, struct holder);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FG_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct fg_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fg_inode);
	__type(value, struct fg_binding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_bound SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FG_INO_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_ino_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fg_inode);
	__type(value, struct fg_binding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_dirs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fg_app_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_apps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct fg_use_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_uses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fg_inode);
	__type(value, struct fg_derived);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_derived SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_HOLDER_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_hold_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_trusted);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_trusted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FG_DROPS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_drops SEC(".maps");

/* ---- context -------------------------------------------------------------------------- */

/* The open-like syscalls, native and ia32 alike. */
enum call { CALL_NONE, CALL_OPEN, CALL_CREAT, CALL_OPENAT, CALL_OPENAT2, CALL_BY_HANDLE };

/*
 * A cheap first filter on the number alone: every syscall of every task passes here.
 * Both tables, since an ia32 syscall (int 0x80 from any process) reports its own numbers:
 * without them a 32-bit open would go unchecked.
 */
static __always_inline bool maybe_open(long nr)
{
	return nr == 257 || nr == 2 || nr == 437 || nr == 85 || nr == 304 || /* x86_64 */
	       nr == 295 || nr == 5 || nr == 8 || nr == 342;		     /* ia32 */
}

static __always_inline bool is_compat(struct task_struct *t)
{
	return t->thread_info.status & TS_COMPAT;
}

static __always_inline enum call call_of(long nr, bool compat)
{
	if (compat) {
		switch (nr) {
		case 5:
			return CALL_OPEN;
		case 8:
			return CALL_CREAT;
		case 295:
			return CALL_OPENAT;
		case 342:
			return CALL_BY_HANDLE;
		case 437:
			return CALL_OPENAT2;
		}
		return CALL_NONE;
	}
	switch (nr) {
	case 2:
		return CALL_OPEN;
	case 85:
		return CALL_CREAT;
	case 257:
		return CALL_OPENAT;
	case 304:
		return CALL_BY_HANDLE;
	case 437:
		return CALL_OPENAT2;
	}
	return CALL_NONE;
}

/* Argument i (0-based) as the syscall entry saved it: x86_64 di si dx r10, ia32 bx cx dx si. */
static __always_inline unsigned long arg(struct pt_regs *regs, bool compat, int i)
{
	if (compat)
		return i == 0 ? regs->bx : i == 1 ? regs->cx : i == 2 ? regs->dx : regs->si;
	return i == 0 ? regs->di : i == 1 ? regs->si : i == 2 ? regs->dx : regs->r10;
}

/* Whether the call asked for O_CREAT (f_flags has it cleared by do_dentry_open()). */
static __always_inline bool asked_create(struct pt_regs *regs, bool compat, enum call c)
{
	__u64 how_flags = 0;

	switch (c) {
	case CALL_CREAT:
		return true;
	case CALL_OPEN:
		return arg(regs, compat, 1) & O_CREAT;
	case CALL_OPENAT:
		return arg(regs, compat, 2) & O_CREAT;
	case CALL_OPENAT2: /* struct open_how in user memory; flags is its first field */
		(void)bpf_probe_read_user(&how_flags, sizeof(how_flags),
					  (void *)arg(regs, compat, 2));
		return how_flags & O_CREAT;
	default:
		return false;
	}
}

static __always_inline const char *path_arg(struct pt_regs *regs, bool compat, enum call c)
{
	bool first = c == CALL_OPEN || c == CALL_CREAT;

	return (const char *)arg(regs, compat, first ? 0 : 1);
}

/*
 * fd -> struct file: t->files->fdt->fd[fd], all direct, fault-safe loads (no helper call:
 * a bpf_probe_read_kernel() of the slot measured +0.03x on open+close). The variable index
 * needs fdt->fd cast to void, which gives read-only untrusted memory readable at any offset:
 * Linux >= 6.17 ("bpf: allow void* cast using bpf_rdonly_cast()"); checked on 6.18.
 */
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = t->files->fdt;
	struct file **slots;
	struct file *f;

	if ((unsigned long)fd >= fdt->max_fds)
		return NULL;
	slots = bpf_rdonly_cast(fdt->fd, 0);
	f = slots[fd];
	if (!f)
		return NULL;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

/* Whether ino may be bound (file_ino_bits): false is certain, true means look it up. */
static __always_inline bool maybe_bound(__u64 ino)
{
	__u32 bit = fg_ino_bit(ino), word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(&file_ino_bits, &word);

	return w && (*w >> (bit % 64) & 1);
}

static __always_inline struct fg_inode inode_id(struct inode *inode)
{
	struct fg_inode id = {.dev = inode->i_sb->s_dev, .ino = inode->i_ino};

	return id;
}

/* The process's start: with the tgid, it names one process for as long as the system runs. */
static __always_inline __u64 process_start(struct task_struct *t)
{
	return t->group_leader->start_boottime;
}

/* Whether t is a thread of the agent (file_trusted). */
static __always_inline bool trusted(struct task_struct *t)
{
	__u32 zero = 0;
	struct fg_trusted *agent = bpf_map_lookup_elem(&file_trusted, &zero);

	return agent && agent->tgid == t->tgid && agent->start_ns == process_start(t);
}

static __always_inline void count_drop(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&file_drops, &what);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* An event with the opener and the object filled in, the rest zero; NULL when the ring is
 * full (counted). Ring memory is not zeroed: every field is written here or by the caller. */
static __always_inline struct fg_event *event_new(__u32 kind, __u32 slot,
						  const struct fg_inode *obj, long fd)
{
	struct fg_event *e = bpf_ringbuf_reserve(&file_events, sizeof(*e), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e) {
		count_drop(FG_DROP_EVENT);
		return NULL;
	}
	e->ts = bpf_ktime_get_boot_ns();
	e->counter = 0;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->object = *obj;
	e->exe = (struct fg_inode){};
	e->kind = kind;
	e->verdict = FG_ALLOW;
	e->reason = FG_R_NONE;
	e->slot = slot;
	e->generation = 0;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->fd = fd;
	e->error = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->path[0] = '\0';
	return e;
}

/* ---- effects -------------------------------------------------------------------------- */

/* Sets bit hslot in the process's holders entry (holders.h): 1 if it was not set yet, 0 if
 * it was, -1 when the map is full. */
static __always_inline int mark_holder(__u32 tgid, __u32 hslot)
{
	struct holder fresh = {.slots = 1ULL << (hslot & 63)}, *h;

	h = bpf_map_lookup_elem(&holders, &tgid);
	if (!h && !bpf_map_update_elem(&holders, &tgid, &fresh, BPF_NOEXIST))
		return 1;
	if (!h)
		h = bpf_map_lookup_elem(&holders, &tgid); /* lost the race to insert */
	if (!h) {
		count_drop(FG_DROP_HOLDER);
		return -1;
	}
	if (h->slots & fresh.slots)
		return 0;
	return !(__sync_fetch_and_or(&h->slots, fresh.slots) & fresh.slots);
}

/* Into file_bound (after its file_ino_bits bit) or file_dirs. */
static __always_inline int bind(void *map, const struct fg_inode *id, __u32 slot, __u32 origin)
{
	struct fg_binding b = {.slot = slot, .origin = origin};
	__u32 bit = fg_ino_bit(id->ino), word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(&file_ino_bits, &word);
	int err;

	if (map == (void *)&file_bound && w)
		__sync_fetch_and_or(w, 1ULL << (bit % 64));
	err = bpf_map_update_elem(map, id, &b, BPF_ANY);

	if (err)
		count_drop(FG_DROP_BIND);
	return err;
}

/* Files obj (fd in the holder t) as a derived copy of slot and reports it; path: the path
 * argument of the open that made it, or NULL. */
static __always_inline void make_derived(struct task_struct *t, const struct fg_inode *obj,
					 __u32 slot, long fd, const char *path)
{
	struct fg_derived d = {.slot = slot, .tgid = t->tgid, .ts = bpf_ktime_get_boot_ns()};
	struct fg_event *e;
	int err;

	err = bind(&file_bound, obj, slot, FG_ORIGIN_DERIVED);
	if (!err && bpf_map_update_elem(&file_derived, obj, &d, BPF_ANY)) {
		count_drop(FG_DROP_BIND);
		err = -1;
	}
	e = event_new(FG_EV_DERIVED, slot, obj, fd);
	if (!e)
		return;
	e->error = err;
	e->exe = inode_id(t->mm->exe_file->f_inode);
	if (path)
		(void)bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	bpf_ringbuf_submit(e, 0);
}

/* A writable regular file not bound yet: what a holder may copy the data into. */
static __always_inline bool copy_target(struct file *f)
{
	return (f->f_mode & FG_FMODE_WRITE) && (f->f_inode->i_mode & S_IFMT) == S_IFREG;
}

/*
 * A process that just became a holder may already have a file open for writing: in
 * `cat data > copy` the shell opened copy before cat held anything, and cat writes to its
 * stdout. Its first FG_FD_SCAN fds that are writable regular files become derived copies.
 */
static __always_inline void derive_open_fds(struct task_struct *t, __u32 slot)
{
	struct fdtable *fdt = t->files->fdt;
	struct file **slots = bpf_rdonly_cast(fdt->fd, 0);
	__u32 i, max = fdt->max_fds;
	struct fg_inode obj;
	struct file *f;

	for (i = 0; i < FG_FD_SCAN && i < max; i++) {
		f = slots[i];
		if (!f)
			continue;
		f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
		if (!copy_target(f))
			continue;
		obj = inode_id(f->f_inode);
		if (!bpf_map_lookup_elem(&file_bound, &obj))
			make_derived(t, &obj, slot, i, NULL);
	}
}

/* ---- decisions ------------------------------------------------------------------------ */

static __always_inline __u32 event_kind(__u32 reason, bool counted)
{
	if (reason == FG_R_COUNT || reason == FG_R_FREQ)
		return FG_EV_EXHAUSTED;
	if (reason != FG_R_NONE)
		return FG_EV_DENIED;
	return counted ? FG_EV_COUNTED : FG_EV_ALLOWED;
}

/*
 * An open of a file bound to slot: decide (file_guard.bpf.h), kill if refused, mark the
 * holder if admitted, report either way.
 */
static __always_inline int decide_open(struct task_struct *t, struct file *file,
				       const struct fg_inode *obj, __u32 slot, long fd)
{
	struct fg_inode exe = inode_id(t->mm->exe_file->f_inode);
	__u32 fmode = file->f_mode, reason;
	__u64 now = bpf_ktime_get_boot_ns(), counter = 0;
	struct fg_rule r = {};
	struct fg_event *e;
	int err = 0;

	if (trusted(t))
		return 0; /* the agent decides its opens itself (file_decide) */
	if (!fg_rule_get(&file_rules, slot, &r)) {
		reason = FG_R_NO_RULE;
		__builtin_memset(&r, 0, sizeof(r)); /* a torn copy must not mark a holder */
	} else {
		reason = fg_check(&r, fg_wants_app(&r) && fg_app_listed(&file_apps, &r, &exe), now);
	}
	if (reason == FG_R_NONE && fg_is_use(fmode))
		reason = fg_take_use(&file_uses, &r, now, &counter);

	if (reason != FG_R_NONE) {
		err = bpf_send_signal(SIGKILL);
	} else if (r.flags & FG_MARK_HOLDER && r.holder_slot < MAX_HOLDER_SLOTS) {
		err = mark_holder(t->tgid, r.holder_slot);
		if (err == 1 && r.flags & FG_TRACK_COPIES)
			derive_open_fds(t, slot);
		err = err < 0 ? err : 0;
	}

	e = event_new(event_kind(reason, fg_is_use(fmode) && counter), slot, obj, fd);
	if (!e)
		return 0;
	e->verdict = reason == FG_R_NONE ? FG_ALLOW : FG_DENY;
	e->reason = reason;
	e->generation = r.generation;
	e->counter = counter;
	e->exe = exe;
	e->error = err;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The binding of the nearest bound directory among the created file's ancestors. */
static __always_inline struct fg_binding *bound_above(struct dentry *d)
{
	struct fg_binding *b;
	struct dentry *p;
	struct fg_inode id;
	int i;

	for (i = 0; i < FG_DIR_DEPTH; i++) {
		p = d->d_parent;
		if (!p || p == d)
			return NULL; /* root of its mount: bindings do not cross mounts */
		id = inode_id(p->d_inode);
		b = bpf_map_lookup_elem(&file_dirs, &id);
		if (b)
			return b;
		d = p;
	}
	return NULL;
}

/* A file created under a bound directory: bind it (and its directory, so the next file
 * there is found at depth 1), report, then decide on it as on any bound file. False if no
 * bound directory is above it. */
static __always_inline bool adopt_created(struct task_struct *t, struct pt_regs *regs, bool compat,
					  enum call c, struct file *file,
					  const struct fg_inode *obj, long fd)
{
	struct dentry *d = file->f_path.dentry;
	struct fg_binding *b = bound_above(d);
	struct fg_inode dir;
	struct fg_event *e;
	__u32 slot;
	int err;

	if (!b)
		return false;
	slot = b->slot;
	dir = inode_id(d->d_parent->d_inode);
	err = bind(&file_bound, obj, slot, FG_ORIGIN_DIR);
	if (!err && !bpf_map_lookup_elem(&file_dirs, &dir))
		err = bind(&file_dirs, &dir, slot, FG_ORIGIN_DIR);
	e = event_new(FG_EV_ADDED, slot, obj, fd);
	if (e) {
		e->error = err;
		e->exe = inode_id(t->mm->exe_file->f_inode);
		(void)bpf_probe_read_user_str(e->path, sizeof(e->path), path_arg(regs, compat, c));
		bpf_ringbuf_submit(e, 0);
	}
	decide_open(t, file, obj, slot, fd);
	return true;
}

/* The slot whose copies a holder with these bits makes: the lowest bit whose rule tracks
 * copies. Several products in one process: the copy is filed under one of them. */
static __always_inline bool copy_slot(__u64 slots, __u32 *ret_slot)
{
	struct fg_rule r;
	__u32 i, *slot;

	for (i = 0; i < MAX_HOLDER_SLOTS; i++) {
		if (!(slots >> i & 1))
			continue;
		slot = bpf_map_lookup_elem(&file_hold_slots, &i);
		if (slot && fg_rule_get(&file_rules, *slot, &r) && r.flags & FG_TRACK_COPIES) {
			*ret_slot = *slot;
			return true;
		}
	}
	return false;
}

/*
 * A holder wrote a regular file no contract touches: it may now hold the data, so it is a
 * derived copy, protected like the original from now on (else `cp` then `cat` would get
 * around the rule). Regular files only: a holder writing /dev/null must not make it one.
 */
static __always_inline int track_copy(struct task_struct *t, struct pt_regs *regs, bool compat,
				      enum call c, struct file *file, const struct fg_inode *obj,
				      long fd)
{
	__u32 tgid = t->tgid, slot;
	struct holder *h = bpf_map_lookup_elem(&holders, &tgid);

	if (h && copy_target(file) && !trusted(t) && copy_slot(h->slots, &slot))
		make_derived(t, obj, slot, fd, path_arg(regs, compat, c));
	return 0;
}

static __always_inline int on_open(struct pt_regs *regs, long nr, long fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	bool compat = is_compat(t);
	enum call c = call_of(nr, compat);
	struct fg_binding *b;
	struct fg_inode obj;
	struct file *file;
	bool creating;

	if (c == CALL_NONE)
		return 0;
	file = fd_file(t, fd);
	if (!file)
		return 0;
	if (maybe_bound(file->f_inode->i_ino)) {
		obj = inode_id(file->f_inode);
		b = bpf_map_lookup_elem(&file_bound, &obj);
		if (b)
			return decide_open(t, file, &obj, b->slot, fd);
	}
	/* no contract touches it: only a created or written file can become one's */
	creating = asked_create(regs, compat, c);
	if (!creating && !(file->f_mode & FG_FMODE_WRITE))
		return 0;
	obj = inode_id(file->f_inode);
	if (creating && adopt_created(t, regs, compat, c, file, &obj, fd))
		return 0;
	if (file->f_mode & FG_FMODE_WRITE)
		return track_copy(t, regs, compat, c, file, &obj, fd);
	return 0;
}

/* ---- programs ------------------------------------------------------------------------- */
/* Fork and exit first: the loader attaches in this order, and inheritance must be live
 * before anything can make a holder. */

/* A holder's child holds what its parent held at the fork (holders.h). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(file_holder_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct holder *h, copy;

	if (ctgid == ptgid)
		return 0; /* a thread: the process's entry covers it */
	h = bpf_map_lookup_elem(&holders, &ptgid);
	if (!h)
		return 0;
	copy = *h;
	if (bpf_map_update_elem(&holders, &ctgid, &copy, BPF_ANY))
		count_drop(FG_DROP_HOLDER);
	return 0;
}

/* The entry goes with the last thread (signal->live), not with the leader, which can exit
 * before the others. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(file_holder_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter)
		return 0;
	(void)bpf_map_delete_elem(&holders, &tgid);
	return 0;
}

/* Run by the agent (bpf_prog_test_run): trusts the calling process (file_guard.h). */
SEC("syscall")
int file_trust_self(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fg_trusted agent = {.tgid = t->tgid, .start_ns = process_start(t)};
	__u32 zero = 0;

	return bpf_map_update_elem(&file_trusted, &zero, &agent, BPF_ANY);
}

/*
 * Every syscall of every task exits through here (an empty program alone costs ~1.1x on
 * open+close): filter on the number and the result before touching anything else.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(file_open_check, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;

	if (!maybe_open(nr) || ret < 0)
		return 0;
	return on_open(regs, nr, ret);
}
