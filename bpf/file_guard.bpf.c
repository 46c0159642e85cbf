// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * File guard: who may open the files of a data product, how often, until when; holders and
 * their copies. One object for both backends, whose loader switches the hooks on by backend
 * (agent/file_guard.c): a second object would declare every map again and need a second
 * loader, and the one part the 6.1 kernel lacks, bpf_rdonly_cast(), is a weak kfunc with a
 * fallback (fd_file()). Every hook decides on the file actually opened, never on a path
 * string another thread may change, with the same helpers (fg_decide(), decide_open()).
 *
 * - portable (kernels without BPF-LSM or trampolines, like this machine: lsm and fentry
 *   programs are refused at load, no kprobes; kernel-facts.md): file_open_check, at
 *   tp_btf/sys_exit of the open syscalls, fd -> struct file. Refusing =
 *   bpf_send_signal(SIGKILL): the open has completed, but the process dies on its way back
 *   to user space, before it runs another instruction, so it never reads a byte.
 * - lsm: file_open_lsm refuses the open itself (-EPERM), file_exec_lsm an exec that would
 *   hand a bound file's fd to an application its rule does not admit; file_unlink, file_rename,
 *   file_truncate and file_ftruncate refuse the removal of files whose rule prohibits
 *   deletion, file_ioctl_lsm (and file_ioctl_compat_lsm) a change of a bound file's inode
 *   generation; the portable hook kills after one (regenerated()).
 * - both: file_holder_fork and file_holder_exit keep holders right across fork and exit;
 *   file_trust_self and file_decide are run by the agent (SEC("syscall")).
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
#define EPERM	1
#define EBADF	9
#define O_CREAT 0100 /* same for native and ia32 */
#define O_TRUNC 01000
#define S_IFMT	00170000
#define S_IFREG 0100000
/* arch/x86/include/asm/thread_info.h: thread_info.status bit of a 32-bit syscall
 * (in_ia32_syscall()); unchanged since 3.x */
#define TS_COMPAT 0x0002
#define MAX_LOOPS (1 << 23) /* bpf_loop()'s limit: BPF_MAX_LOOPS in include/linux/bpf.h */
/* The ioctls that set an inode's i_generation, asking only that the caller own the file
 * (inode_owner_or_capable(): fs/ext4/ioctl.c, ext4_ioctl_setversion()): include/uapi/linux/fs.h
 * FS_IOC_SETVERSION _IOW('v', 2, long) and FS_IOC32_SETVERSION (int), fs/ext4/ext4.h
 * EXT4_IOC_SETVERSION _IOW('f', 4, long) and EXT4_IOC32_SETVERSION (int). */
#define FS_IOC_SETVERSION     0x40087602
#define FS_IOC32_SETVERSION   0x40047602
#define EXT4_IOC_SETVERSION   0x40086604
#define EXT4_IOC32_SETVERSION 0x40046604

/*
 * bpf_rdonly_cast() reads the fd table with plain loads (Linux 6.2). Weak, so the object also
 * loads where the kernel lacks it (6.1: the lsm backend's kernel); there fd_file() reads the
 * table with bpf_probe_read_kernel() and returns an untyped pointer, whose fields kread()
 * reads with BPF_CORE_READ. The verifier knows which one exists and drops the other branch
 * (ld_imm64 of a kfunc: a non-NULL pointer, or 0 when unresolved). The loader logs which.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

#ifndef bpf_ksym_exists /* libbpf >= 1.2 has it */
#define bpf_ksym_exists(sym) (!!(sym))
#endif
#define kread(p, field) (bpf_ksym_exists(bpf_rdonly_cast) ? (p)->field : BPF_CORE_READ(p, field))

#include "bpf/shared_maps.bpf.h"

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

/* The open-like syscalls, exec and ioctl, native and ia32 alike. */
enum call {
	CALL_NONE,
	CALL_OPEN,
	CALL_CREAT,
	CALL_OPENAT,
	CALL_OPENAT2,
	CALL_BY_HANDLE,
	CALL_EXEC,
	CALL_IOCTL
};

static __always_inline bool sets_generation(unsigned int cmd)
{
	return cmd == FS_IOC_SETVERSION || cmd == EXT4_IOC_SETVERSION ||
	       cmd == FS_IOC32_SETVERSION || cmd == EXT4_IOC32_SETVERSION;
}

/*
 * A cheap first filter on the number alone: every syscall of every task passes here.
 * Both tables, since an ia32 syscall (int 0x80 from any process) reports its own numbers:
 * without them a 32-bit open would go unchecked. A successful exec reports the execve of the
 * new image's mode (the kernel sets orig_ax in set_personality_64bit() and
 * __set_personality_ia32()); execveat's numbers are there for a binary format that does not.
 * An ioctl (x86_64 16, ia32 54) passes only with a command that sets a generation, read
 * here from the register that table puts it in, so other ioctls cost the command's compares
 * and nothing else (16 is also ia32's lchown, 54 x86_64's setsockopt: call_of() sorts them).
 */
static __always_inline bool maybe_decided(struct pt_regs *regs, long nr)
{
	return nr == 257 || nr == 2 || nr == 437 || nr == 85 || nr == 304 || nr == 59 ||
	       nr == 322 ||							      /* x86_64 */
	       nr == 295 || nr == 5 || nr == 8 || nr == 342 || nr == 11 || nr == 358 || /* ia32 */
	       (nr == 16 && sets_generation(regs->si)) || /* ioctl, x86_64 */
	       (nr == 54 && sets_generation(regs->cx));	  /* ioctl, ia32 */
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
		case 11:
		case 358:
			return CALL_EXEC;
		case 54:
			return CALL_IOCTL;
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
	case 59:
	case 322:
		return CALL_EXEC;
	case 16:
		return CALL_IOCTL;
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
 * The word at addr, an element of an fd table's arrays (fdt->fd, fdt->close_on_exec), with a
 * direct, fault-safe load (no helper call: a bpf_probe_read_kernel() of the fd slot measured
 * +0.03x on open+close). The verifier sees those arrays as numbers (a pointer to pointers or
 * longs has no BTF type), so the element's address is cast to a struct that starts with an
 * unsigned long, struct cpumask, and that word read, as a number: a typed cast, which every
 * kernel with bpf_rdonly_cast() takes (6.2 on; its cast to void, readable at a variable
 * offset, only 6.17 on). Without bpf_rdonly_cast (6.1) a helper reads it.
 */
static __always_inline unsigned long kword(const void *addr)
{
	struct cpumask *words;
	unsigned long w = 0;

	if (!bpf_ksym_exists(bpf_rdonly_cast)) {
		(void)bpf_probe_read_kernel(&w, sizeof(w), addr);
		return w;
	}
	words = bpf_rdonly_cast(addr, bpf_core_type_id_kernel(struct cpumask));
	return words->bits[0];
}

/* fd -> struct file: t->files->fdt->fd[fd]; on 6.1 an untyped pointer, whose fields kread()
 * reads with BPF_CORE_READ. */
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = t->files->fdt;
	struct file *f;

	if ((unsigned long)fd >= fdt->max_fds)
		return NULL;
	f = (struct file *)kword(fdt->fd + fd);
	if (!f || !bpf_ksym_exists(bpf_rdonly_cast))
		return f;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

/* Whether fd (open, so below max_fds) is closed at exec (O_CLOEXEC, FD_CLOEXEC). */
static __always_inline bool close_on_exec(struct task_struct *t, long fd)
{
	struct fdtable *fdt = t->files->fdt;

	return kword(fdt->close_on_exec + fd / 64) >> (fd % 64) & 1;
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
	struct super_block *sb = kread(inode, i_sb);
	struct fg_inode id = {.dev = kread(sb, s_dev), .ino = kread(inode, i_ino)};

	return id;
}

static __always_inline __u32 inode_gen(struct inode *inode)
{
	return kread(inode, i_generation);
}

/* The binding of the file id of generation gen in map (file_bound, file_dirs), or NULL: one
 * of another generation was made for a deleted file that had the number (file_guard.h). */
static __always_inline struct fg_binding *binding_of(void *map, const struct fg_inode *id,
						     __u32 gen)
{
	struct fg_binding *b = bpf_map_lookup_elem(map, id);

	return b && b->generation == gen ? b : NULL;
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

/* ---- who opens what ------------------------------------------------------------------- */

/*
 * Who opens: the current task t (the hooks), or a workload the agent opens a file for
 * (file_decide: ask, the program's context, says who; t is NULL). Decisions, holder marks,
 * copies and events are about this opener. Each program sets one of t and ask as a literal
 * NULL, so the compiler drops the other's code from it.
 */
struct opener {
	struct task_struct *t;
	struct fg_ask *ask;
	struct fg_inode exe;
	__u32 tgid;
};

static __always_inline struct opener task_opener(struct task_struct *t)
{
	struct opener o = {.t = t, .exe = inode_id(t->mm->exe_file->f_inode), .tgid = t->tgid};

	return o;
}

/* What was opened: the inode, with which access (f_mode), whether a regular file, the fd it
 * got (-1: none yet or not ours), and for the events of added files and copies its path: the
 * opener's argument in user memory (upath, the portable hook) or the file's (fpath, lsm,
 * bpf_d_path()). Each program leaves the one it has not as a literal NULL. */
struct opened {
	struct fg_inode obj;
	__u32 gen; /* the inode's i_generation */
	__u32 fmode;
	bool regular;
	long fd;
	const char *upath;
	const struct path *fpath;
};

static __always_inline bool is_regular(struct inode *inode)
{
	return (kread(inode, i_mode) & S_IFMT) == S_IFREG;
}

/* A writable regular file: what a holder may copy the data into. */
static __always_inline bool copy_target(const struct opened *d)
{
	return (d->fmode & FG_FMODE_WRITE) && d->regular;
}

/* An event about o and obj, the rest zero; NULL when the ring is full (counted). Ring memory
 * is not zeroed: every field is written here or by the caller. kind is a literal, so the size
 * reserved is a constant (the verifier wants one): a decision (kind 0, set later) is short. */
static __always_inline struct fg_event *event_new(__u32 kind, __u32 slot, const struct opener *o,
						  const struct fg_inode *obj, long fd)
{
	struct fg_event *e = bpf_ringbuf_reserve(&file_events, fg_event_size(kind), 0);
	__u64 id;

	if (!e) {
		count_drop(FG_DROP_EVENT);
		return NULL;
	}
	__builtin_memset(e, 0, offsetof(struct fg_event, comm));
	e->ts = bpf_ktime_get_boot_ns();
	e->object = *obj;
	e->exe = o->exe;
	e->kind = kind;
	e->slot = slot;
	e->fd = fd;
	if (fg_event_size(kind) == sizeof(*e))
		e->path[0] = '\0';
	if (o->ask) {
		e->cgroup_id = o->ask->cgroup_id;
		e->pid = o->ask->pid;
		e->tgid = o->ask->tgid;
		e->uid = o->ask->uid;
		__builtin_memcpy(e->comm, o->ask->comm, sizeof(e->comm));
		return e;
	}
	id = bpf_get_current_pid_tgid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* The path of an added file or a copy, as the opener named it. */
static __always_inline void event_path(struct fg_event *e, const struct opener *o,
				       const struct opened *d)
{
	if (o->ask)
		__builtin_memcpy(e->path, o->ask->path, sizeof(e->path));
	else if (d->upath)
		(void)bpf_probe_read_user_str(e->path, sizeof(e->path), d->upath);
	else if (d->fpath) /* bpf_d_path(): file_open is among the hooks allowed to call it */
		(void)bpf_d_path((struct path *)d->fpath, e->path, sizeof(e->path));
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

/* Into file_bound (after its file_ino_bits bit) or file_dirs: the file id of generation gen. */
static __always_inline int bind(void *map, const struct fg_inode *id, __u32 gen, __u32 slot,
				__u32 origin)
{
	struct fg_binding b = {.slot = slot, .origin = origin, .generation = gen};
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

/* Files d->obj (fd: d->fd) as a derived copy of slot and reports it, with the path d names
 * it by when path says so. */
static __always_inline void make_derived(const struct opener *o, const struct opened *d,
					 __u32 slot, bool path)
{
	struct fg_derived c = {.slot = slot, .tgid = o->tgid, .ts = bpf_ktime_get_boot_ns()};
	struct fg_event *e;
	int err;

	err = bind(&file_bound, &d->obj, d->gen, slot, FG_ORIGIN_DERIVED);
	if (!err && bpf_map_update_elem(&file_derived, &d->obj, &c, BPF_ANY)) {
		count_drop(FG_DROP_BIND);
		err = -1;
	}
	e = event_new(FG_EV_DERIVED, slot, o, &d->obj, d->fd);
	if (!e)
		return;
	e->error = err;
	if (path)
		event_path(e, o, d);
	bpf_ringbuf_submit(e, 0);
}

/* One fd of the current task, a new holder of slot *ctx: a derived copy if it is a writable
 * regular file no contract touches. A bpf_loop() callback (loops whose back edge is not a
 * jump are refused by 6.1's verifier, and clang makes such loops). */
static int derive_fd(__u32 fd, void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *f = fd_file(t, fd);
	struct opened d = {.fd = fd};
	struct inode *inode;
	struct opener o;

	if (!f)
		return 0;
	inode = kread(f, f_inode);
	d.fmode = kread(f, f_mode);
	d.regular = is_regular(inode);
	if (!copy_target(&d))
		return 0;
	d.obj = inode_id(inode);
	d.gen = inode_gen(inode);
	if (binding_of(&file_bound, &d.obj, d.gen))
		return 0;
	o = task_opener(t);
	make_derived(&o, &d, *(__u32 *)ctx, false);
	return 0;
}

/* Calls fn(fd, ctx) for the current task's fds 0..n-1, until it returns 1. */
static __always_inline void scan_fds(__u32 n, int (*fn)(__u32 fd, void *ctx), void *ctx)
{
	(void)bpf_loop(n, fn, ctx, 0);
}

/*
 * A process that just became a holder may already have a file open for writing: in
 * `cat data > copy` the shell opened copy before cat held anything, and cat writes to its
 * stdout. Its first FG_FD_SCAN fds that are writable regular files become derived copies.
 */
static __always_inline void derive_open_fds(__u32 slot)
{
	scan_fds(FG_FD_SCAN, derive_fd, &slot);
}

/* An admitted opener of a slot with FG_MARK_HOLDER holds its data from now on; a new holder's
 * open writable files become copies (FG_TRACK_COPIES). 0, or -1 when holders is full. */
static __always_inline int hold(const struct opener *o, const struct fg_rule *r, __u32 slot)
{
	int err;

	if (!(r->flags & FG_MARK_HOLDER) || r->holder_slot >= MAX_HOLDER_SLOTS)
		return 0;
	err = mark_holder(o->tgid, r->holder_slot);
	/* a workload's fds are not ours to see: file_decide runs in the agent */
	if (err == 1 && r->flags & FG_TRACK_COPIES && o->t)
		derive_open_fds(slot);
	return err < 0 ? err : 0;
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

/* Decides an open (fg_decide), whose record can be made or not, and acts: kills the opener
 * if refused and kill says so, marks the holder if admitted. *ret_err: how that went. */
static __always_inline __u32 settle_open(const struct opener *o, const struct opened *d,
					 __u32 slot, bool kill, bool recordable, struct fg_rule *r,
					 __u64 *counter, int *ret_err)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 reason;

	reason = fg_decide(&file_rules, &file_apps, &file_uses, slot, &o->exe, d->fmode, now,
			   recordable, r, counter);
	*ret_err = 0;
	if (reason != FG_R_NONE && kill)
		*ret_err = bpf_send_signal(SIGKILL);
	else if (reason == FG_R_NONE)
		*ret_err = hold(o, r, slot);
	return reason;
}

/*
 * An open of a file bound to slot: decide, act (settle_open()) and report. The record is
 * reserved first: under FG_RECORD_REQUIRED nothing is admitted without one. Returns the
 * reason, FG_R_NONE when admitted. The agent's own opens are not decided here.
 */
static __always_inline __u32 decide_open(const struct opener *o, const struct opened *d, __u32 slot,
					 bool kill)
{
	struct fg_event *e;
	struct fg_rule r;
	__u64 counter;
	__u32 reason;
	int err;

	if (o->t && trusted(o->t))
		return FG_R_NONE; /* the agent has its opens decided for the workload (file_decide)
				   */
	e = event_new(0, slot, o, &d->obj, d->fd);
	/* Two calls, not one with `e != NULL`: 6.1's verifier, testing e a second time, would
	 * follow a NULL branch holding the reservation. */
	if (!e)
		return settle_open(o, d, slot, kill, false, &r, &counter, &err);
	reason = settle_open(o, d, slot, kill, fg_journal_ok(&file_record_state), &r, &counter,
			     &err);
	e->kind = event_kind(reason, fg_is_use(d->fmode) && counter);
	e->verdict = reason == FG_R_NONE ? FG_ALLOW : FG_DENY;
	e->reason = reason;
	e->generation = r.generation;
	e->counter = counter;
	e->error = err;
	bpf_ringbuf_submit(e, 0);
	return reason;
}

/* Reports a refusal by rule r of something o did to obj (fd: -1 if none); err: the kill's. */
static __always_inline void report_denial(const struct opener *o, const struct fg_inode *obj,
					  long fd, const struct fg_rule *r, __u32 reason, int err)
{
	struct fg_event *e = event_new(FG_EV_DENIED, r->slot, o, obj, fd);

	if (!e)
		return;
	e->verdict = FG_DENY;
	e->reason = reason;
	e->generation = r->generation;
	e->error = err;
	bpf_ringbuf_submit(e, 0);
}

/*
 * An unlink, rename or truncation of a file bound to slot (the lsm hooks, file_decide):
 * refused and reported when its rule prohibits deletion (FG_NO_DELETE). Without a rule that
 * can be read nothing is prohibited: the prohibition refuses, not the binding.
 */
static __always_inline __u32 decide_destroy(const struct opener *o, const struct fg_inode *obj,
					    __u32 slot)
{
	struct fg_rule r;

	if (o->t && trusted(o->t))
		return FG_R_NONE; /* the agent deletes terminated products, decides for workloads */
	if (!fg_rule_get(&file_rules, slot, &r) || !(r.flags & FG_NO_DELETE))
		return FG_R_NONE;
	report_denial(o, obj, -1, &r, FG_R_NO_DELETE, 0);
	return FG_R_NO_DELETE;
}

/* An access to a file bound to slot that may truncate it (destroy) and open it (open): the
 * truncation first, then the open. */
static __always_inline __u32 decide_bound(const struct opener *o, const struct opened *d,
					  __u32 slot, bool destroy, bool open)
{
	__u32 reason = destroy ? decide_destroy(o, &d->obj, slot) : FG_R_NONE;

	if (reason == FG_R_NONE && open)
		reason = decide_open(o, d, slot, false);
	return reason;
}

/* The binding of the nearest bound directory among the created file's ancestors. */
static __always_inline struct fg_binding *bound_above(struct dentry *d)
{
	struct fg_binding *b;
	struct dentry *p;
	struct inode *dir;
	struct fg_inode id;
	int i;

#pragma unroll /* 6.1's verifier refuses the loop clang makes of it (see derive_fd()) */
	for (i = 0; i < FG_DIR_DEPTH; i++) {
		p = kread(d, d_parent);
		if (!p || p == d)
			return NULL; /* root of its mount: bindings do not cross mounts */
		dir = kread(p, d_inode);
		id = inode_id(dir);
		b = binding_of(&file_dirs, &id, inode_gen(dir));
		if (b)
			return b;
		d = p;
	}
	return NULL;
}

/*
 * A file created under a bound directory (dentry: its own): bind it (and its directory, so
 * the next file there is found at depth 1), report, then decide on it as on any bound file.
 * False if no bound directory is above it; else *ret_reason is the decision.
 */
static __always_inline bool adopt_created(const struct opener *o, const struct opened *d,
					  struct dentry *dentry, bool kill, __u32 *ret_reason)
{
	struct fg_binding *b = bound_above(dentry);
	struct dentry *parent_d;
	struct inode *parent;
	struct fg_inode dir;
	struct fg_event *e;
	__u32 slot, gen;
	int err;

	if (!b)
		return false;
	slot = b->slot;
	parent_d = kread(dentry, d_parent);
	parent = kread(parent_d, d_inode);
	dir = inode_id(parent);
	gen = inode_gen(parent);
	err = bind(&file_bound, &d->obj, d->gen, slot, FG_ORIGIN_DIR);
	if (!err && !binding_of(&file_dirs, &dir, gen))
		err = bind(&file_dirs, &dir, gen, slot, FG_ORIGIN_DIR);
	e = event_new(FG_EV_ADDED, slot, o, &d->obj, d->fd);
	if (e) {
		e->error = err;
		event_path(e, o, d);
		bpf_ringbuf_submit(e, 0);
	}
	*ret_reason = decide_open(o, d, slot, kill);
	return true;
}

struct copy_scan {
	__u64 slots; /* the holder's bits */
	__u32 slot;  /* out: the contract slot of the first bit that tracks copies */
	bool found;
};

/* Holder bit i of a copy_scan (a bpf_loop() callback: see derive_fd()). */
static int copy_slot_of(__u32 i, void *ctx)
{
	struct copy_scan *s = ctx;
	__u32 bit = i, *slot;
	struct fg_rule r;

	if (!(s->slots >> bit & 1))
		return 0;
	slot = bpf_map_lookup_elem(&file_hold_slots, &bit);
	if (!slot || !fg_rule_get(&file_rules, *slot, &r) || !(r.flags & FG_TRACK_COPIES))
		return 0;
	s->slot = *slot;
	s->found = true;
	return 1; /* stop */
}

/* The slot whose copies a holder with these bits makes: the lowest bit whose rule tracks
 * copies. Several products in one process: the copy is filed under one of them. */
static __always_inline bool copy_slot(__u64 slots, __u32 *ret_slot)
{
	struct copy_scan s = {.slots = slots};

	(void)bpf_loop(MAX_HOLDER_SLOTS, copy_slot_of, &s, 0);
	*ret_slot = s.slot;
	return s.found;
}

/*
 * A holder wrote a regular file no contract touches: it may now hold the data, so it is a
 * derived copy, protected like the original from now on (else `cp` then `cat` would get
 * around the rule). Regular files only: a holder writing /dev/null must not make it one.
 */
static __always_inline void track_copy(const struct opener *o, const struct opened *d)
{
	struct holder *h = bpf_map_lookup_elem(&holders, &o->tgid);
	__u32 slot;

	if (h && copy_target(d) && !(o->t && trusted(o->t)) && copy_slot(h->slots, &slot))
		make_derived(o, d, slot, true);
}

/* ---- exec ----------------------------------------------------------------------------- */

struct exec_scan {
	struct fg_inode exe; /* the new image */
	bool open_cloexec;   /* the fds the exec closes are still open (the lsm hook) */
	long fd;	     /* out: an fd the new image may not have, or -1 */
	struct fg_inode obj; /* out: its file */
	struct fg_rule rule; /* out: the rule that refuses */
};

/* One fd kept across the exec: stops the scan at a bound file whose rule's application list
 * does not admit the new image (a bpf_loop() callback: see derive_fd()). */
static int exec_fd(__u32 fd, void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *f = fd_file(t, fd);
	struct exec_scan *s = ctx;
	struct fg_binding *b;
	struct inode *inode;

	if (!f || (s->open_cloexec && close_on_exec(t, fd)))
		return 0;
	inode = kread(f, f_inode);
	if (!maybe_bound(kread(inode, i_ino)))
		return 0;
	s->obj = inode_id(inode);
	b = binding_of(&file_bound, &s->obj, inode_gen(inode));
	if (!b || !fg_rule_get(&file_rules, b->slot, &s->rule) || !fg_wants_app(&s->rule) ||
	    !fg_app_refused(&s->rule, fg_app_listed(&file_apps, &s->rule, &s->exe)))
		return 0;
	s->fd = fd;
	return 1;
}

/*
 * t execs the image exe, keeping its fds that are not close-on-exec: with one of a bound
 * file whose application list does not admit exe, the new image could read the product
 * without opening it (an allowed program opens it without O_CLOEXEC and execs another).
 * Then the exec is refused (FG_R_APP), reported with that fd and file, and with kill (the
 * portable hook, after the exec) t is killed before the new image runs. Every fd the table
 * has room for is looked at, since dup2() can move one up to any number below the limit
 * (max_fds is 64 unless the process had a higher fd); beyond bpf_loop()'s 2^23 iterations
 * only with fs.nr_open raised above that.
 */
static __always_inline __u32 decide_exec(struct task_struct *t, const struct fg_inode *exe,
					 bool open_cloexec, bool kill)
{
	struct exec_scan s = {.exe = *exe, .open_cloexec = open_cloexec, .fd = -1};
	struct opener o = {.t = t, .exe = *exe, .tgid = t->tgid};
	__u32 fds = t->files->fdt->max_fds;
	int err = 0;

	if (trusted(t))
		return FG_R_NONE;
	scan_fds(fds < MAX_LOOPS ? fds : MAX_LOOPS, exec_fd, &s);
	if (s.fd < 0)
		return FG_R_NONE;
	if (kill)
		err = bpf_send_signal(SIGKILL);
	report_denial(&o, &s.obj, s.fd, &s.rule, FG_R_APP, err);
	return FG_R_APP;
}

/* ---- generation changes --------------------------------------------------------------- */

/* The binding of the file or directory id in file_bound or file_dirs, of any generation. */
static __always_inline struct fg_binding *bound_any(const struct fg_inode *id)
{
	struct fg_binding *b = bpf_map_lookup_elem(&file_bound, id);

	return b ? b : bpf_map_lookup_elem(&file_dirs, id);
}

/* Reports a refused generation change of obj (fd: -1 if none), bound to slot: by no rule's
 * decision (generation 0), by the binding's. err: the kill's. */
static __always_inline void report_regeneration(const struct fg_inode *obj, long fd, __u32 slot,
						int err)
{
	struct opener o = task_opener(bpf_get_current_task_btf());
	struct fg_rule r = {.slot = slot};

	report_denial(&o, obj, fd, &r, FG_R_GENERATION, err);
}

/*
 * The portable hook, after an ioctl on fd that may have set its inode's generation
 * (sets_generation()): a binding of the file (or directory) by dev and ino whose generation
 * is not the inode's now was made for the file before the ioctl changed it, and would no
 * longer be taken for it, so that any program could read it. The binding takes the new
 * generation (the same file: it stays protected, the update is one word in place) and the
 * caller is killed and reported (FG_R_GENERATION). A stale binding (a deleted bound file's,
 * docs/file-guard.md) of an unrelated file whose owner sets its generation is taken for that
 * file too: the portable hook cannot tell the two apart after the fact (fail-closed).
 */
static __always_inline void regenerated(struct task_struct *t, long fd)
{
	struct file *f = fd_file(t, fd);
	struct fg_binding *b;
	struct inode *inode;
	struct fg_inode obj;
	__u32 gen;

	if (!f)
		return;
	inode = kread(f, f_inode);
	obj = inode_id(inode);
	gen = inode_gen(inode);
	b = bound_any(&obj);
	if (!b || b->generation == gen)
		return;
	b->generation = gen;
	report_regeneration(&obj, fd, b->slot, bpf_send_signal(SIGKILL));
}

/* ---- the portable hook ---------------------------------------------------------------- */

/*
 * Whether another task opened the file this syscall returns: a seccomp supervisor that
 * answered with SECCOMP_IOCTL_NOTIF_ADDFD (SEND: the syscall returns the new fd, and the
 * tracepoint fires). The file carries its opener's credentials (f_cred: current_cred() in
 * alloc_empty_file()), which an open of the task's own always shares. That open was decided
 * when the supervisor made it (the agent: file_decide, for the workload).
 */
static __always_inline bool handed_over(struct task_struct *t, struct file *file)
{
	return kread(file, f_cred) != t->cred;
}

/* A successful open-like syscall returned fd: decide if the file is bound, adopt it if it
 * was created under a bound directory, track it if a holder writes it. A successful exec:
 * decide_exec(); an ioctl that sets a generation: regenerated(). Refusing kills. */
static __always_inline int on_call(struct pt_regs *regs, long nr, long fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	bool compat = is_compat(t), creating = false;
	enum call c = call_of(nr, compat);
	struct opened d = {.fd = fd};
	struct fg_binding *b = NULL;
	struct inode *inode;
	struct opener o;
	struct file *file;
	__u32 reason;

	if (c == CALL_NONE)
		return 0;
	if (c == CALL_EXEC) {
		o = task_opener(t); /* the new image's */
		(void)decide_exec(t, &o.exe, false, true);
		return 0;
	}
	if (c == CALL_IOCTL) {
		regenerated(t, arg(regs, compat, 0));
		return 0;
	}
	file = fd_file(t, fd);
	if (!file)
		return 0;
	d.fmode = kread(file, f_mode);
	inode = kread(file, f_inode);
	if (maybe_bound(kread(inode, i_ino))) {
		d.obj = inode_id(inode);
		d.gen = inode_gen(inode);
		b = binding_of(&file_bound, &d.obj, d.gen);
	}
	/* no contract touches it: only a created or written file can become one's */
	if (!b)
		creating = asked_create(regs, compat, c);
	if ((!b && !creating && !(d.fmode & FG_FMODE_WRITE)) || handed_over(t, file))
		return 0;
	o = task_opener(t);
	if (b) {
		(void)decide_open(&o, &d, b->slot, true);
		return 0;
	}
	d.obj = inode_id(inode);
	d.gen = inode_gen(inode);
	d.regular = is_regular(inode);
	d.upath = path_arg(regs, compat, c);
	if (creating && adopt_created(&o, &d, kread(file, f_path.dentry), true, &reason))
		return 0;
	if (d.fmode & FG_FMODE_WRITE)
		track_copy(&o, &d);
	return 0;
}

/* ---- the lsm hooks -------------------------------------------------------------------- */

/* A removal, rename or truncation of inode: -EPERM when it is a bound file whose rule
 * prohibits deletion. */
static __always_inline int on_destroy(struct inode *inode)
{
	struct fg_binding *b;
	struct fg_inode obj;
	struct opener o;

	if (!inode || !maybe_bound(inode->i_ino))
		return 0;
	obj = inode_id(inode);
	b = binding_of(&file_bound, &obj, inode->i_generation);
	if (!b)
		return 0;
	o = task_opener(bpf_get_current_task_btf());
	return decide_destroy(&o, &obj, b->slot) == FG_R_NONE ? 0 : -EPERM;
}

/* An ioctl with cmd on file: -EPERM when it would set the generation of a bound file or
 * directory (one whose binding has the inode's generation: regenerated() says why). */
static __always_inline int on_ioctl(struct file *file, unsigned int cmd)
{
	struct inode *inode = file->f_inode;
	struct fg_binding *b;
	struct fg_inode obj;

	if (!sets_generation(cmd))
		return 0;
	obj = inode_id(inode);
	b = bound_any(&obj);
	if (!b || b->generation != inode->i_generation)
		return 0;
	report_regeneration(&obj, -1, b->slot, 0);
	return -EPERM;
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

/*
 * The lsm backend. Each hook first respects the verdict of the BPF-LSM programs before it
 * (ret: kernel/bpf/bpf_lsm.c runs them in a chain); refusing is -EPERM, and the call fails.
 */

/* An open, before the file is handed out: decided as file_open_check decides, but refused
 * with EPERM. f_flags still has O_CREAT and O_TRUNC here (do_dentry_open() clears them after
 * the hook), so a truncating open of a file that may not be deleted is refused too. */
SEC("lsm/file_open")
int BPF_PROG(file_open_lsm, struct file *file, int ret)
{
	struct opened d = {.fmode = file->f_mode, .fd = -1, .fpath = &file->f_path};
	struct inode *inode = file->f_inode;
	struct fg_binding *b = NULL;
	__u32 reason = FG_R_NONE;
	bool creating = false;
	struct opener o;

	if (ret)
		return ret;
	if (maybe_bound(inode->i_ino)) {
		d.obj = inode_id(inode);
		d.gen = inode->i_generation;
		b = binding_of(&file_bound, &d.obj, d.gen);
	}
	if (!b)
		creating = file->f_flags & O_CREAT;
	if (!b && !creating && !(d.fmode & FG_FMODE_WRITE))
		return 0;
	o = task_opener(bpf_get_current_task_btf());
	if (b)
		return decide_bound(&o, &d, b->slot, file->f_flags & O_TRUNC, true) ? -EPERM : 0;
	d.obj = inode_id(inode);
	d.gen = inode->i_generation;
	d.regular = is_regular(inode);
	if (creating && adopt_created(&o, &d, file->f_path.dentry, false, &reason))
		return reason ? -EPERM : 0;
	if (d.fmode & FG_FMODE_WRITE)
		track_copy(&o, &d);
	return 0;
}

SEC("lsm/inode_unlink")
int BPF_PROG(file_unlink, struct inode *dir, struct dentry *victim, int ret)
{
	if (ret)
		return ret;
	return on_destroy(victim->d_inode);
}

/* The file moved and a file the rename would replace; for RENAME_EXCHANGE the kernel calls
 * the hook a second time with the two swapped (security_inode_rename()). */
SEC("lsm/inode_rename")
int BPF_PROG(file_rename, struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir,
	     struct dentry *new_dentry, int ret)
{
	if (ret)
		return ret;
	ret = on_destroy(old_dentry->d_inode);
	return ret ? ret : on_destroy(new_dentry->d_inode);
}

/* truncate(2), and on 6.1 ftruncate(2) and O_TRUNC too (later kernels call file_truncate for
 * those: see file_ftruncate; the O_TRUNC case is refused in file_open_lsm already). */
SEC("lsm/path_truncate")
int BPF_PROG(file_truncate, const struct path *path, int ret)
{
	if (ret)
		return ret;
	return on_destroy(path->dentry->d_inode);
}

/* ftruncate(2) and O_TRUNC on kernels that have the hook (6.2 on, security_file_truncate());
 * the loader leaves it out where the kernel's BTF has no bpf_lsm_file_truncate. */
SEC("lsm/file_truncate")
int BPF_PROG(file_ftruncate, struct file *file, int ret)
{
	if (ret)
		return ret;
	return on_destroy(file->f_inode);
}

SEC("lsm/file_ioctl")
int BPF_PROG(file_ioctl_lsm, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return ret;
	return on_ioctl(file, cmd);
}

/* A 32-bit process's ioctl where the kernel has the hook (security_file_ioctl_compat(): 6.8,
 * and stable kernels it was backported to); without it compat_sys_ioctl() calls file_ioctl.
 * The loader leaves it out where the kernel's BTF has no bpf_lsm_file_ioctl_compat. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(file_ioctl_compat_lsm, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	if (ret)
		return ret;
	return on_ioctl(file, cmd);
}

/*
 * An exec, once the last binary format has chosen the image (for a script: its interpreter,
 * the executable opens are decided by) and before the point of no return, so a refusal makes
 * execve() fail with EPERM in the old image. bprm_check_security would run for the script
 * too, which its interpreter's application list does not name.
 */
SEC("lsm/bprm_creds_from_file")
int BPF_PROG(file_exec_lsm, struct linux_binprm *bprm, const struct file *file, int ret)
{
	struct fg_inode exe;

	if (ret)
		return ret;
	exe = inode_id(bprm->file->f_inode);
	return decide_exec(bpf_get_current_task_btf(), &exe, true, false) ? -EPERM : 0;
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

/* Run by the agent (bpf_prog_test_run): the generation of the file of one of its fds. */
SEC("syscall")
int file_generation(struct fg_fd_generation *ask)
{
	struct file *f = fd_file(bpf_get_current_task_btf(), ask->fd);

	if (!f)
		return -EBADF;
	ask->generation = inode_gen(kread(f, f_inode));
	return 0;
}

/*
 * Run by the agent for a workload of `pepctl run` (struct fg_ask): decided as the hooks
 * decide an open by the workload itself, with the same maps, and reported as the workload's.
 * A file created under a bound directory was bound by the hook when the agent created it.
 * The generation comes from the agent's fd of the file; a removal, for which the agent has
 * none, is decided by the number alone (a binding of a deleted file refuses it: fail-closed).
 */
SEC("syscall")
int file_decide(struct fg_ask *ask)
{
	struct opener o = {.ask = ask, .exe = ask->exe, .tgid = ask->tgid};
	struct opened d = {.obj = ask->object, .fmode = ask->fmode, .fd = -1};
	struct file *f = ask->fd >= 0 ? fd_file(bpf_get_current_task_btf(), ask->fd) : NULL;
	__u32 reason = FG_R_NONE, slot, flags = ask->flags;
	struct fg_binding *b;

	d.regular = flags & FG_ASK_REGULAR;
	if (f) {
		d.gen = inode_gen(kread(f, f_inode));
		b = binding_of(&file_bound, &d.obj, d.gen);
	} else {
		b = bpf_map_lookup_elem(&file_bound, &d.obj);
	}
	if (b) {
		slot = b->slot;
		reason = decide_bound(&o, &d, slot, flags & FG_ASK_DESTROY, flags & FG_ASK_OPEN);
	} else if (flags & FG_ASK_OPEN && d.fmode & FG_FMODE_WRITE) {
		track_copy(&o, &d);
	}
	ask->reason = reason;
	return reason == FG_R_NONE ? FG_ALLOW : FG_DENY;
}

/*
 * Every syscall of every task exits through here (an empty program alone costs ~1.1x on
 * open+close): filter on the number and the result before touching anything else.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(file_open_check, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;

	if (!maybe_decided(regs, nr) || ret < 0)
		return 0;
	return on_call(regs, nr, ret);
}
