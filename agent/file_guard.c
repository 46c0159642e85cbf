// SPDX-License-Identifier: Apache-2.0
/*
 * Loader of bpf/file_guard.bpf.c (API in file_guard.h). Lifecycle as in libbpf-bootstrap:
 * open (pin root set), size maps, load, attach; maps and links pinned by name so the kernel
 * keeps enforcing after we exit and a restarted agent adopts them.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/holders.h"
#include "bpf/file_guard.h"
#include "bpf/file_guard.skel.h"
#include "agent/file_guard.h"
#include "agent/log.h"
#include "agent/pins.h"

#define FILE_GUARD_PROGS 10 /* attached at once: fork, exit and the lsm backend's eight hooks */

struct file_guard {
	struct file_guard_bpf *skel;
	struct bpf_link *links[FILE_GUARD_PROGS];
	struct ring_buffer *events;
	__u64 *ino_bits; /* file_ino_bits, mmapped */
	file_guard_event_fn on_event;
	void *ctx;
	char *pin_root;
	__u32 generation; /* last one given to a rule */
};

/* ---- open ----------------------------------------------------------------------------- */

/* A pinned map is reused only if its parameters match (libbpf checks max_entries too), so
 * a map already pinned keeps its size, whatever the options ask. */
static int size_maps(struct file_guard_bpf *skel, const struct file_guard_opts *o)
{
	const struct pin_size want[] = {
	    {skel->maps.file_bound, o->max_files},     {skel->maps.file_dirs, o->max_dirs},
	    {skel->maps.file_apps, o->max_apps},       {skel->maps.file_uses, o->max_windows},
	    {skel->maps.file_derived, o->max_derived}, {skel->maps.file_events, o->events_bytes},
	};

	return pins__size_maps("file guard", skel->obj, want, sizeof(want) / sizeof(want[0]));
}

static int prog_tag(int prog_fd, __u8 tag[BPF_TAG_SIZE])
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int err = bpf_obj_get_info_by_fd(prog_fd, &info, &len);

	if (!err)
		memcpy(tag, info.tag, BPF_TAG_SIZE);
	return err;
}

/* Whether the pinned link runs the same code as prog (the kernel's tag hashes the
 * instructions with map fds zeroed, so a reload of the same object has the same tag). */
static bool same_code(struct bpf_link *link, const struct bpf_program *prog)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	__u8 old[BPF_TAG_SIZE], new[BPF_TAG_SIZE];
	int fd, err;

	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return false;
	fd = bpf_prog_get_fd_by_id(info.prog_id);
	if (fd < 0)
		return false;
	err = prog_tag(fd, old);
	close(fd);
	return !err && !prog_tag(bpf_program__fd(prog), new) && !memcmp(old, new, sizeof(old));
}

/*
 * Adopts the pinned link if it runs the same code. Otherwise attaches the new program,
 * pins it beside the old pin and renames it over: tracing links cannot swap programs
 * (no BPF_LINK_UPDATE for them), so both run for a moment, where a use may be counted
 * twice and an open refused by one of them: fail-closed, never beyond a limit.
 * *ret_fresh: the pin is new (undone if a later step fails).
 */
static int attach_prog(struct bpf_program *prog, const char *path, struct bpf_link **ret_link,
		       bool *ret_fresh)
{
	char tmp[PATH_MAX + sizeof("_new")];
	bool existed = access(path, F_OK) == 0; /* so libbpf does not warn of a missing pin */
	struct bpf_link *link = existed ? bpf_link__open(path) : NULL;
	int err;

	if (link && same_code(link, prog)) {
		*ret_link = link;
		*ret_fresh = false;
		return 0;
	}
	bpf_link__destroy(link); /* closes our fd; the pin keeps it until the rename */
	snprintf(tmp, sizeof(tmp), "%s_new", path); /* bpffs refuses names with a '.' */
	(void)unlink(tmp);			    /* left by a crash between pin and rename */
	link = bpf_program__attach(prog);
	if (!link)
		return -errno;
	err = bpf_link__pin(link, tmp);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		(void)unlink(tmp);
		bpf_link__destroy(link);
		return err;
	}
	*ret_link = link;
	*ret_fresh = !existed;
	return 0;
}

/* Whether the running kernel's BTF has a function (a kfunc, or an LSM hook's bpf_lsm_*). */
static bool kernel_has(const struct btf *vmlinux, const char *func)
{
	return vmlinux && btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC) >= 0;
}

/*
 * The hooks of one backend (bpf/file_guard.bpf.c): the sys_exit tracepoint, or the LSM
 * programs, which the portable kernel refuses to load at all; of those, file_ftruncate and
 * file_ioctl_compat_lsm only where the kernel has their hooks (file_truncate 6.2 on: 6.1
 * calls path_truncate for ftruncate; file_ioctl_compat 6.8 and backports: before it,
 * file_ioctl sees 32-bit ioctls too). Fork and exit tracking and the agent's own programs run
 * in both. Says how fd tables are read (the weak bpf_rdonly_cast() in the object: plain loads
 * from 6.2 on, a helper on 6.1).
 */
static void choose_programs(struct file_guard_bpf *skel, bool lsm)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(); /* NULL: the load will say why */
	bool ftruncate_hook = kernel_has(vmlinux, "bpf_lsm_file_truncate");
	bool ioctl_compat_hook = kernel_has(vmlinux, "bpf_lsm_file_ioctl_compat");
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
	{
		if (bpf_program__type(prog) == BPF_PROG_TYPE_LSM)
			(void)bpf_program__set_autoload(prog, lsm);
	}
	(void)bpf_program__set_autoload(skel->progs.file_open_check, !lsm);
	(void)bpf_program__set_autoload(skel->progs.file_ftruncate, lsm && ftruncate_hook);
	(void)bpf_program__set_autoload(skel->progs.file_ioctl_compat_lsm,
					lsm && ioctl_compat_hook);
	log_info("file guard: %s backend; fd tables read %s%s", lsm ? "lsm" : "portable",
		 kernel_has(vmlinux, "bpf_rdonly_cast")
		     ? "with plain loads (bpf_rdonly_cast)"
		     : "with bpf_probe_read_kernel() (no bpf_rdonly_cast: kernel before 6.2)",
		 !lsm		  ? ""
		 : ftruncate_hook ? "; ftruncate refused at lsm/file_truncate"
				  : "; ftruncate refused at lsm/path_truncate (kernel before 6.2)");
	btf__free(vmlinux);
}

/* The link pins of the other backend's hooks go, once this backend's are attached: the
 * pin root may have been used with the other backend (--backend), and both must not run. */
static void unpin_other_backend(struct file_guard *fg)
{
	char path[PATH_MAX];
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, fg->skel->obj)
	{
		if (bpf_program__autoload(prog) || pins__link_path(fg->pin_root, prog, path))
			continue;
		if (unlink(path) == 0)
			log_info("file guard: %s detached (the other backend's hook)", path);
	}
}

/* In object order, which puts fork/exit tracking first: inheritance must be live before
 * anything can make a holder. */
static int attach_all(struct file_guard *fg)
{
	bool fresh[FILE_GUARD_PROGS] = {};
	char path[PATH_MAX];
	struct bpf_program *prog;
	int i = 0, err = 0;

	bpf_object__for_each_program(prog, fg->skel->obj)
	{
		if (!bpf_program__autoload(prog) ||
		    bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL)
			continue; /* the other backend's; or run by the agent, not attached */
		if (i >= FILE_GUARD_PROGS) {
			err = log_errno(-E2BIG, "file guard: more programs than FILE_GUARD_PROGS");
			break;
		}
		err = pins__link_path(fg->pin_root, prog, path);
		if (!err)
			err = attach_prog(prog, path, &fg->links[i], &fresh[i]);
		if (err) {
			log_errno(err, "file guard: attach %s (pin %s)", bpf_program__name(prog),
				  path);
			break;
		}
		i++;
	}
	while (err && i-- > 0) { /* nothing half-applied: new pins go, adopted ones stay */
		if (fresh[i])
			(void)bpf_link__unpin(fg->links[i]);
	}
	if (!err)
		unpin_other_backend(fg);
	return err;
}

/* Generations must stay unique across restarts (file_guard.h): continue after the largest
 * one in use, in rules or in application lists a crash may have left behind. */
static int find_generation(struct file_guard *fg)
{
	struct bpf_map *rules = fg->skel->maps.file_rules, *apps = fg->skel->maps.file_apps;
	struct fg_app_key ak, prev_ak;
	struct fg_rule r;
	__u32 slot, prev;
	int err;

	for (err = bpf_map__get_next_key(rules, NULL, &slot, sizeof(slot)); !err;
	     err = bpf_map__get_next_key(rules, &prev, &slot, sizeof(slot))) {
		prev = slot;
		if (!bpf_map__lookup_elem(rules, &slot, sizeof(slot), &r, sizeof(r), 0) &&
		    r.generation > fg->generation)
			fg->generation = r.generation;
	}
	if (err != -ENOENT)
		return err;
	for (err = bpf_map__get_next_key(apps, NULL, &ak, sizeof(ak)); !err;
	     err = bpf_map__get_next_key(apps, &prev_ak, &ak, sizeof(ak))) {
		prev_ak = ak;
		if (ak.generation > fg->generation)
			fg->generation = ak.generation;
	}
	return err == -ENOENT ? 0 : err;
}

/* Events without a path end before it in the ring (fg_event_size()): the callback gets them
 * whole, with an empty path. */
static int on_sample(void *ctx, void *data, size_t size)
{
	struct file_guard *fg = ctx;
	struct fg_event whole;

	if (size >= sizeof(whole))
		return fg->on_event(fg->ctx, data);
	if (size < FG_EVENT_SHORT)
		return 0; /* not ours: cannot happen with our own ring */
	memcpy(&whole, data, FG_EVENT_SHORT);
	whole.path[0] = '\0';
	return fg->on_event(fg->ctx, &whole);
}

static int open_events(struct file_guard *fg, const struct file_guard_opts *o)
{
	if (!o->on_event)
		return 0;
	fg->on_event = o->on_event;
	fg->ctx = o->ctx;
	fg->events = ring_buffer__new(bpf_map__fd(fg->skel->maps.file_events), on_sample, fg, NULL);
	return fg->events ? 0 : log_errno(-errno, "file guard: ring buffer");
}

static int map_ino_bits(struct file_guard *fg)
{
	void *p = mmap(NULL, FG_INO_WORDS * sizeof(__u64), PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(fg->skel->maps.file_ino_bits), 0);

	if (p == MAP_FAILED)
		return log_errno(-errno, "file guard: mmap file_ino_bits");
	fg->ino_bits = p;
	return 0;
}

struct file_guard *file_guard__open(const struct file_guard_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct file_guard *fg;
	int err;

	if (!opts || !opts->pin_root) {
		errno = EINVAL;
		return NULL;
	}
	fg = calloc(1, sizeof(*fg));
	if (!fg)
		return NULL;
	fg->pin_root = strdup(opts->pin_root);
	err = fg->pin_root ? pins__prepare_root("file guard", fg->pin_root) : -ENOMEM;
	if (err)
		goto cleanup;
	/* 1. open with the pin root: maps pinned by name are reused, the others created */
	oo.pin_root_path = fg->pin_root;
	fg->skel = file_guard_bpf__open_opts(&oo);
	if (!fg->skel) {
		err = log_errno(-errno, "file guard: open BPF object");
		goto cleanup;
	}
	/* 2. size and choose, 3. load (creates and pins missing maps), 4. attach or adopt,
	 * 5. state */
	choose_programs(fg->skel, opts->lsm);
	err = size_maps(fg->skel, opts);
	if (err)
		goto cleanup;
	err = file_guard_bpf__load(fg->skel);
	if (err) {
		log_errno(err, "file guard: load BPF object (pins under %s)", fg->pin_root);
		goto cleanup;
	}
	err = map_ino_bits(fg);
	if (!err)
		err = attach_all(fg);
	if (!err)
		err = find_generation(fg);
	if (!err)
		err = open_events(fg, opts);
	if (err)
		goto cleanup;
	return fg;
cleanup:
	file_guard__destroy(fg);
	errno = -err;
	return NULL;
}

void file_guard__destroy(struct file_guard *fg)
{
	int i;

	if (!fg)
		return;
	ring_buffer__free(fg->events);
	if (fg->ino_bits)
		(void)munmap(fg->ino_bits, FG_INO_WORDS * sizeof(__u64));
	for (i = 0; i < FILE_GUARD_PROGS; i++)
		bpf_link__destroy(fg->links[i]); /* closes; a pinned link stays attached */
	file_guard_bpf__destroy(fg->skel);
	free(fg->pin_root);
	free(fg);
}

int file_guard__unpin(struct file_guard *fg)
{
	char path[PATH_MAX];
	struct bpf_program *prog;
	struct bpf_map *map;
	int err = 0, r;

	bpf_object__for_each_program(prog, fg->skel->obj)
	{
		if (pins__link_path(fg->pin_root, prog, path))
			continue; /* too long: cannot have been pinned */
		if (unlink(path) && errno != ENOENT)
			err = log_errno(-errno, "file guard: unpin %s", path);
	}
	bpf_object__for_each_map(map, fg->skel->obj)
	{
		if (map == fg->skel->maps.holders || !bpf_map__is_pinned(map))
			continue; /* holders is shared with the other guards */
		r = bpf_map__unpin(map, NULL);
		if (r)
			err = log_errno(r, "file guard: unpin map %s", bpf_map__name(map));
	}
	return err;
}

/* ---- the agent ------------------------------------------------------------------------ */

/* A SEC("syscall") program runs in the calling thread, which is what file_trust_self needs.
 * The kernel copies ctx back after the run (ctx_out must stay unset: net/bpf/test_run.c,
 * bpf_prog_test_run_syscall()). Its return value goes to *ret_retval. */
static int run_syscall_prog(struct bpf_program *prog, void *ctx, size_t size, int *ret_retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = ctx, .ctx_size_in = size);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);

	if (!err)
		*ret_retval = (int)o.retval;
	return err;
}

int file_guard__trust_self(struct file_guard *fg)
{
	int err, ret = 0;

	err = run_syscall_prog(fg->skel->progs.file_trust_self, NULL, 0, &ret);
	return err ? err : ret;
}

int file_guard__decide(struct file_guard *fg, struct fg_ask *ask)
{
	int err, verdict = FG_DENY;

	err = run_syscall_prog(fg->skel->progs.file_decide, ask, sizeof(*ask), &verdict);
	if (err)
		return err;
	return verdict == FG_ALLOW ? 0 : -EACCES;
}

/* ---- rules ---------------------------------------------------------------------------- */

typedef bool (*key_match_fn)(struct bpf_map *map, const void *key, __u32 slot, __u32 arg);

/* Deletes the keys match accepts, collected first: deleting while walking a hash map makes
 * the walk start over. */
static int delete_matching(struct bpf_map *map, key_match_fn match, __u32 slot, __u32 arg)
{
	__u32 ks = bpf_map__key_size(map);
	char cur[64], prev[64], *keys = NULL, *grown;
	size_t n = 0, cap = 0, i;
	int err;

	if (ks > sizeof(cur))
		return -E2BIG;
	for (err = bpf_map__get_next_key(map, NULL, cur, ks); !err;
	     err = bpf_map__get_next_key(map, prev, cur, ks)) {
		memcpy(prev, cur, ks);
		if (!match(map, cur, slot, arg))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(keys, cap * ks);
			if (!grown) {
				free(keys);
				return -ENOMEM;
			}
			keys = grown;
		}
		memcpy(keys + n++ * ks, cur, ks);
	}
	err = err == -ENOENT ? 0 : err;
	for (i = 0; !err && i < n; i++) {
		err = bpf_map__delete_elem(map, keys + i * ks, ks, 0);
		err = err == -ENOENT ? 0 : err;
	}
	free(keys);
	return err;
}

/* file_apps keys of slot: of generation arg (app_in), of any other (app_not_in; arg 0: all,
 * as generations start at 1). */
static bool app_in(struct bpf_map *map, const void *key, __u32 slot, __u32 generation)
{
	const struct fg_app_key *k = key;

	return k->slot == slot && k->generation == generation;
}

static bool app_not_in(struct bpf_map *map, const void *key, __u32 slot, __u32 generation)
{
	const struct fg_app_key *k = key;

	return k->slot == slot && k->generation != generation;
}

static bool use_of(struct bpf_map *map, const void *key, __u32 slot, __u32 arg)
{
	return ((const struct fg_use_key *)key)->slot == slot;
}

/* file_bound/file_dirs (value fg_binding), file_derived (fg_derived: slot first too) and
 * file_hold_slots (__u32 slot) entries whose value's slot is slot. */
static bool value_of(struct bpf_map *map, const void *key, __u32 slot, __u32 arg)
{
	__u32 v[4];

	return bpf_map__value_size(map) <= sizeof(v) &&
	       !bpf_map__lookup_elem(map, key, bpf_map__key_size(map), v, bpf_map__value_size(map),
				     0) &&
	       v[0] == slot;
}

static int add_apps(struct file_guard *fg, __u32 slot, __u32 gen, const struct fg_inode *apps,
		    size_t n)
{
	struct fg_app_key k = {.slot = slot, .generation = gen};
	__u8 one = 1;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		k.exe = apps[i];
		k.exe.pad = 0;
		err = bpf_map__update_elem(fg->skel->maps.file_apps, &k, sizeof(k), &one,
					   sizeof(one), BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

int file_guard__set_rule(struct file_guard *fg, __u32 slot, const struct fg_rule *rule,
			 const struct fg_inode *apps, size_t n_apps)
{
	struct file_guard_bpf *s = fg->skel;
	struct fg_rule r = *rule;
	__u32 gen = fg->generation + 1;
	int err;

	if (slot >= FG_MAX_SLOTS || (r.flags & FG_MARK_HOLDER && r.holder_slot >= MAX_HOLDER_SLOTS))
		return -EINVAL;
	/* 1. the new list, under a generation no rule has yet */
	err = add_apps(fg, slot, gen, apps, n_apps);
	/* 2. which rule a holder bit belongs to, for its derived copies */
	if (!err && r.flags & FG_MARK_HOLDER)
		err = bpf_map__update_elem(s->maps.file_hold_slots, &r.holder_slot, sizeof(__u32),
					   &slot, sizeof(slot), BPF_ANY);
	/* 3. the switch: one hash update */
	r.generation = r.generation_end = gen;
	r.slot = slot;
	r.pad = 0;
	if (!err)
		err = bpf_map__update_elem(s->maps.file_rules, &slot, sizeof(slot), &r, sizeof(r),
					   BPF_ANY);
	if (err) {
		(void)delete_matching(s->maps.file_apps, app_in, slot, gen);
		return err;
	}
	fg->generation = gen;
	/* 4. the old list: no rule refers to it any more */
	return delete_matching(s->maps.file_apps, app_not_in, slot, gen);
}

int file_guard__rule(struct file_guard *fg, __u32 slot, struct fg_rule *ret_rule)
{
	return bpf_map__lookup_elem(fg->skel->maps.file_rules, &slot, sizeof(slot), ret_rule,
				    sizeof(*ret_rule), 0);
}

/* The generation and its list stay: one word changes, which no reader can see torn. */
int file_guard__terminate(struct file_guard *fg, __u32 slot)
{
	struct fg_rule r;
	int err = file_guard__rule(fg, slot, &r);

	if (err)
		return err;
	r.flags |= FG_TERMINATED;
	return bpf_map__update_elem(fg->skel->maps.file_rules, &slot, sizeof(slot), &r, sizeof(r),
				    BPF_EXIST);
}

int file_guard__set_journal_full(struct file_guard *fg, bool full)
{
	__u32 zero = 0, v = full;

	return bpf_map__update_elem(fg->skel->maps.file_record_state, &zero, sizeof(zero), &v,
				    sizeof(v), BPF_ANY);
}

int file_guard__clear_slot(struct file_guard *fg, __u32 slot)
{
	struct file_guard_bpf *s = fg->skel;
	int err;

	if (slot >= FG_MAX_SLOTS)
		return -EINVAL;
	err = bpf_map__delete_elem(s->maps.file_rules, &slot, sizeof(slot), 0);
	if (err == -ENOENT)
		err = 0;
	if (!err)
		err = delete_matching(s->maps.file_dirs, value_of, slot, 0);
	if (!err)
		err = delete_matching(s->maps.file_bound, value_of, slot, 0);
	if (!err)
		err = delete_matching(s->maps.file_derived, value_of, slot, 0);
	if (!err)
		err = delete_matching(s->maps.file_hold_slots, value_of, slot, 0);
	if (!err)
		err = delete_matching(s->maps.file_apps, app_not_in, slot, 0);
	if (!err)
		err = delete_matching(s->maps.file_uses, use_of, slot, 0);
	return err;
}

/* ---- objects -------------------------------------------------------------------------- */

/* include/linux/kdev_t.h: MINORBITS 20, so s_dev = major << 20 | minor, while glibc's
 * st_dev packs them another way (kernel-facts.md: 254:0 is 266338304 vs 65024). */
__u32 file_guard__kdev(dev_t st_dev)
{
	return major(st_dev) << 20 | minor(st_dev);
}

static struct fg_inode inode_of_stat(const struct stat *st)
{
	struct fg_inode id = {.dev = file_guard__kdev(st->st_dev), .ino = st->st_ino};

	return id;
}

int file_guard__inode_of(const char *path, struct fg_inode *ret_id)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*ret_id = inode_of_stat(&st);
	return 0;
}

int file_guard__generation(struct file_guard *fg, int fd, __u32 *ret_gen)
{
	struct fg_fd_generation ask = {.fd = fd};
	int err, ret = -EBADF;

	err = run_syscall_prog(fg->skel->progs.file_generation, &ask, sizeof(ask), &ret);
	if (!err && !ret)
		*ret_gen = ask.generation;
	return err ? err : ret;
}

/* Binds the file at path: dev, ino and generation all read from one fd of it, so they are
 * one file's even if the path is changed meanwhile. */
static int bind_one(struct file_guard *fg, __u32 slot, const char *path)
{
	struct fg_binding b = {.slot = slot, .origin = FG_ORIGIN_BOUND};
	int fd = open(path, O_PATH | O_CLOEXEC);
	struct bpf_map *map;
	struct fg_inode id;
	struct stat st;
	int err;

	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) ? -errno : file_guard__generation(fg, fd, &b.generation);
	(void)close(fd);
	if (err)
		return err;
	id = inode_of_stat(&st);
	if (S_ISDIR(st.st_mode)) {
		map = fg->skel->maps.file_dirs;
	} else if (S_ISREG(st.st_mode)) {
		/* the bit first: the programs look in file_bound only if it is set */
		__atomic_fetch_or(&fg->ino_bits[fg_ino_bit(id.ino) / 64],
				  1ULL << (fg_ino_bit(id.ino) % 64), __ATOMIC_SEQ_CST);
		map = fg->skel->maps.file_bound;
	} else {
		return 0; /* devices, fifos, sockets: not data files */
	}
	return bpf_map__update_elem(map, &id, sizeof(id), &b, sizeof(b), BPF_ANY);
}

/* nftw() has no context argument: the walk in progress (one at a time per process). */
static struct {
	struct file_guard *fg;
	__u32 slot;
	int err;
} walk;

static int bind_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_NS || type == FTW_DNR) {
		walk.err = -EACCES;
		return 1;
	}
	if (type == FTW_SL)
		return 0; /* not followed: its target is not the product */
	walk.err = bind_one(walk.fg, walk.slot, path);
	return walk.err ? 1 : 0;
}

/* Pre-order (no FTW_DEPTH): a directory is bound before its contents, so a file created
 * there during the walk is caught by the program. FTW_PHYS: symlinks inside are not
 * followed (their targets are not the product). */
int file_guard__bind(struct file_guard *fg, __u32 slot, const char *path)
{
	struct stat st;

	if (slot >= FG_MAX_SLOTS)
		return -EINVAL;
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? bind_one(fg, slot, path) : -EINVAL;
	walk.fg = fg;
	walk.slot = slot;
	walk.err = 0;
	if (nftw(path, bind_visit, 16, FTW_PHYS) < 0)
		return -errno;
	return walk.err;
}

int file_guard__binding(struct file_guard *fg, const struct fg_inode *id, struct fg_binding *ret)
{
	struct fg_inode k = *id;

	k.pad = 0;
	if (!bpf_map__lookup_elem(fg->skel->maps.file_bound, &k, sizeof(k), ret, sizeof(*ret), 0))
		return 0;
	return bpf_map__lookup_elem(fg->skel->maps.file_dirs, &k, sizeof(k), ret, sizeof(*ret), 0);
}

int file_guard__unbind(struct file_guard *fg, const struct fg_inode *id)
{
	struct bpf_map *maps[] = {fg->skel->maps.file_bound, fg->skel->maps.file_dirs,
				  fg->skel->maps.file_derived};
	struct fg_inode k = *id;
	size_t i;
	int err = -ENOENT, r;

	k.pad = 0;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		r = bpf_map__delete_elem(maps[i], &k, sizeof(k), 0);
		if (r != -ENOENT)
			err = err == -ENOENT || !err ? r : err;
	}
	return err;
}

int file_guard__for_each_derived(struct file_guard *fg,
				 int (*fn)(void *ctx, const struct fg_inode *id,
					   const struct fg_derived *d),
				 void *ctx)
{
	struct bpf_map *map = fg->skel->maps.file_derived;
	struct fg_inode k, prev;
	struct fg_derived d;
	int err, r;

	for (err = bpf_map__get_next_key(map, NULL, &k, sizeof(k)); !err;
	     err = bpf_map__get_next_key(map, &prev, &k, sizeof(k))) {
		prev = k;
		if (bpf_map__lookup_elem(map, &k, sizeof(k), &d, sizeof(d), 0))
			continue; /* deleted meanwhile */
		r = fn(ctx, &k, &d);
		if (r)
			return r;
	}
	return err == -ENOENT ? 0 : err;
}

/* ---- reading -------------------------------------------------------------------------- */

__u64 file_guard__now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Boot time of a wall time: wall - (realtime now - boottime now); 0 if before boot. */
__u64 file_guard__boot_ns(__s64 wall_sec)
{
	struct timespec rt;
	__s64 boot_at, ns;

	(void)clock_gettime(CLOCK_REALTIME, &rt);
	boot_at = (__s64)rt.tv_sec * 1000000000ll + rt.tv_nsec - (__s64)file_guard__now();
	ns = wall_sec * 1000000000ll - boot_at;
	return ns > 0 ? (__u64)ns : 0;
}

static __u64 use_count(struct file_guard *fg, __u32 slot, __u32 kind, __u64 window)
{
	struct fg_use_key k = {.slot = slot, .kind = kind, .window = window};
	__u64 v;

	if (bpf_map__lookup_elem(fg->skel->maps.file_uses, &k, sizeof(k), &v, sizeof(v), 0))
		return 0; /* no use yet in this window */
	return v;
}

/* The windows as the programs compute them (fg_window() in file_guard.bpf.h). */
int file_guard__uses(struct file_guard *fg, __u32 slot, __u64 *ret_count, __u64 *ret_freq)
{
	__u64 now = file_guard__now(), since;
	struct fg_rule r;
	int err = file_guard__rule(fg, slot, &r);

	if (err)
		return err;
	since = now > r.not_before ? now - r.not_before : 0;
	*ret_count = !(r.flags & FG_COUNT_LIMIT)
			 ? 0
			 : use_count(fg, slot, FG_USE_COUNT,
				     r.count_window_ns ? since / r.count_window_ns : 0);
	*ret_freq =
	    !(r.flags & FG_FREQ_LIMIT)
		? 0
		: use_count(fg, slot, FG_USE_FREQ, r.freq_window_ns ? since / r.freq_window_ns : 0);
	return 0;
}

int file_guard__holder(struct file_guard *fg, pid_t pid, __u64 *ret_slots)
{
	struct holder h;
	__u32 tgid = pid;
	int err =
	    bpf_map__lookup_elem(fg->skel->maps.holders, &tgid, sizeof(tgid), &h, sizeof(h), 0);

	if (!err)
		*ret_slots = h.slots;
	return err;
}

int file_guard__drops(struct file_guard *fg, __u32 what, __u64 *ret_count)
{
	unsigned long long sum;
	int err = pins__percpu_sum(fg->skel->maps.file_drops, what, &sum);

	if (!err)
		*ret_count = sum;
	return err;
}

int file_guard__poll(struct file_guard *fg, int timeout_ms)
{
	return fg->events ? ring_buffer__poll(fg->events, timeout_ms) : -EINVAL;
}

int file_guard__events_fd(const struct file_guard *fg)
{
	return bpf_map__fd(fg->skel->maps.file_events);
}
