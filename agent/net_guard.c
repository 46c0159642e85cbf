// SPDX-License-Identifier: Apache-2.0
/*
 * Loader of bpf/net_guard.bpf.c (API in net_guard.h). Lifecycle as in libbpf-bootstrap:
 * open (pin root set), size maps, load, attach; maps and links pinned by name so the kernel
 * keeps enforcing after we exit and a restarted agent adopts them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/holders.h"
#include "bpf/net_guard.h"
#include "bpf/net_guard.skel.h"
#include "agent/net_guard.h"
#include "agent/pins.h"

#define NET_GUARD_PROGS 6

/*
 * A slot's two lists (bpf/net_guard.h): the one in net_lists, empty while the slot has no
 * rule, and a spare that a replacing rule is written into. Both are made at open: the
 * agent gives up CAP_BPF after start-up (agent/confine.c), so it can fill maps but not make
 * them. The prefixes of the next rule are gathered here by net_guard__add_cidr() until
 * net_guard__set_mode().
 */
struct slot_lists {
	int fd[2];
	int active; /* index of the list in net_lists */
	bool ruled; /* the active list holds a rule */
	struct net_cidr_key *keys;
	size_t n;
};

struct net_guard {
	struct net_guard_bpf *skel;
	struct bpf_link *links[NET_GUARD_PROGS];
	char *pin_root;
	int cgroup_fd;
	__u64 cgroup_id;
	__u32 max_cidrs;
	struct slot_lists slots[MAX_HOLDER_SLOTS];
};

/* Logs once, here, where the failing step is known; returns err (a -errno). */
static int log_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int log_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "net_guard: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(-err));
	va_end(ap);
	return err;
}

static int check_fs(int fd, long magic)
{
	struct statfs fs;

	if (fstatfs(fd, &fs))
		return -errno;
	return fs.f_type == magic ? 0 : -ENOTSUP;
}

/* The cgroup as a directory fd and its id (on 64-bit the cgroup id is the inode number). */
static int open_cgroup(const char *path, int *ret_fd, __u64 *ret_id)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_err(-errno, "cgroup %s", path);
	err = check_fs(fd, CGROUP2_SUPER_MAGIC);
	if (!err && fstat(fd, &st))
		err = -errno;
	if (err) {
		close(fd);
		return log_err(err, "cgroup %s is not a cgroup v2 directory", path);
	}
	*ret_fd = fd;
	*ret_id = st.st_ino;
	return 0;
}

/* A pinned map is reused only if its parameters match (libbpf checks max_entries too),
 * so a map already pinned keeps its size, whatever the options ask. */
static int size_maps(struct net_guard_bpf *skel, const struct net_guard_opts *o)
{
	const struct pin_size want[] = {
		{ skel->maps.net_endpoints, o->max_endpoints },
		{ skel->maps.net_workloads, o->max_workloads },
		{ skel->maps.net_events, o->events_bytes },
	};
	int err = bpf_map__set_autocreate(skel->maps.net_list, false); /* only its BTF is used */

	if (err)
		return log_err(err, "net_list");
	return pins__size_maps("net guard", skel->obj, want, sizeof(want) / sizeof(want[0]));
}

/* Adopts the pinned cgroup link: the new program replaces the old one inside the link in
 * one step (BPF_LINK_UPDATE), so there is no moment with neither or both. */
static int adopt_cgroup_link(struct net_guard *ng, struct bpf_program *prog, struct bpf_link *link)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len);
	if (err)
		return err;
	if (info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id != ng->cgroup_id)
		return -EBUSY; /* pinned for another cgroup: the caller must unpin it first */
	return bpf_link__update_program(link, prog);
}

/* Cgroup programs: adopt the pinned link or attach and pin a new one. *ret_fresh says
 * whether the pin is new (undone if a later step fails). */
static int attach_cgroup(struct net_guard *ng, struct bpf_program *prog, const char *path,
			 struct bpf_link **ret_link, bool *ret_fresh)
{
	struct bpf_link *link;
	int err;

	if (access(path, F_OK) == 0) {
		link = bpf_link__open(path);
		if (!link)
			return -errno;
		err = adopt_cgroup_link(ng, prog, link);
		if (err) {
			bpf_link__destroy(link);
			return err;
		}
		*ret_link = link;
		*ret_fresh = false;
		return 0;
	}
	link = bpf_program__attach_cgroup(prog, ng->cgroup_fd);
	if (!link)
		return -errno;
	err = bpf_link__pin(link, path);
	if (err) {
		bpf_link__destroy(link);
		return err;
	}
	*ret_link = link;
	*ret_fresh = true;
	return 0;
}

/* Fork/exit tracking first: inheritance must be live before anything can make a holder. */
static int attach_all(struct net_guard *ng)
{
	bool fresh[NET_GUARD_PROGS] = {};
	char path[PATH_MAX];
	struct bpf_program *prog;
	int i = 0, err = 0;

	bpf_object__for_each_program(prog, ng->skel->obj) {
		if (i >= NET_GUARD_PROGS) {
			err = log_err(-E2BIG, "more programs than NET_GUARD_PROGS");
			break;
		}
		err = pins__link_path(ng->pin_root, prog, path);
		if (!err)
			err = attach_cgroup(ng, prog, path, &ng->links[i], &fresh[i]);
		if (err) {
			log_err(err, "attach %s (pin %s)", bpf_program__name(prog), path);
			break;
		}
		i++;
	}
	while (err && i-- > 0) { /* nothing half-applied: new pins go, adopted ones stay */
		if (fresh[i])
			(void)bpf_link__unpin(ng->links[i]);
	}
	return err;
}

/* An empty list: an LPM trie with the BTF of net_list, for bpftool. */
static int new_list(struct net_guard *ng)
{
	struct bpf_map *shape = ng->skel->maps.net_list;
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC,
		    .btf_fd = bpf_object__btf_fd(ng->skel->obj),
		    .btf_key_type_id = bpf_map__btf_key_type_id(shape),
		    .btf_value_type_id = bpf_map__btf_value_type_id(shape));

	/* one more than max_cidrs: an allow-list's entry for everything else */
	return bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "net_list", sizeof(struct net_cidr_key),
			      sizeof(__u8), ng->max_cidrs + 1, &o);
}

/*
 * Each slot's two lists; the one a previous agent left in net_lists is adopted, the others
 * go in with one batch: every update of a map of maps waits for an RCU grace period
 * (maybe_wait_bpf_programs(), kernel/bpf/syscall.c; ~15 ms here), a batch once.
 */
static int open_lists(struct net_guard *ng)
{
	int outer = bpf_map__fd(ng->skel->maps.net_lists), fds[MAX_HOLDER_SLOTS];
	__u32 slots[MAX_HOLDER_SLOTS], n = 0, id;
	struct net_cidr_key k;

	for (__u32 slot = 0; slot < MAX_HOLDER_SLOTS; slot++) {
		struct slot_lists *sl = &ng->slots[slot];
		bool adopted = !bpf_map_lookup_elem(outer, &slot, &id);

		if (adopted) {
			sl->fd[0] = bpf_map_get_fd_by_id(id);
			if (sl->fd[0] < 0)
				return log_err(sl->fd[0], "list of slot %u", slot);
			sl->ruled = !bpf_map_get_next_key(sl->fd[0], NULL, &k);
		}
		for (int i = 0; i < 2; i++)
			if (sl->fd[i] < 0 && (sl->fd[i] = new_list(ng)) < 0)
				return log_err(sl->fd[i], "list for slot %u", slot);
		if (!adopted) {
			slots[n] = slot;
			fds[n++] = sl->fd[0];
		}
	}
	return n ? bpf_map_update_batch(outer, slots, fds, &n, NULL) : 0;
}

struct net_guard *net_guard__open(const struct net_guard_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct net_guard *ng;
	int err;

	if (!opts || !opts->pin_root || !opts->cgroup) {
		errno = EINVAL;
		return NULL;
	}
	ng = calloc(1, sizeof(*ng));
	if (!ng)
		return NULL;
	ng->cgroup_fd = -1;
	ng->max_cidrs = opts->max_cidrs ? opts->max_cidrs : 65536;
	for (int i = 0; i < MAX_HOLDER_SLOTS; i++)
		ng->slots[i] = (struct slot_lists){ .fd = { -1, -1 } };
	ng->pin_root = strdup(opts->pin_root);
	err = ng->pin_root ? pins__prepare_root("net guard", ng->pin_root) : -ENOMEM;
	if (!err)
		err = open_cgroup(opts->cgroup, &ng->cgroup_fd, &ng->cgroup_id);
	if (err)
		goto cleanup;
	/* 1. open with the pin root: maps pinned by name are reused, the others created */
	oo.pin_root_path = ng->pin_root;
	ng->skel = net_guard_bpf__open_opts(&oo);
	if (!ng->skel) {
		err = log_err(-errno, "open BPF object");
		goto cleanup;
	}
	/* 2. size, 3. load (creates and pins missing maps), 4. the slots' lists, 5. attach or
	 * adopt */
	err = size_maps(ng->skel, opts);
	if (err)
		goto cleanup;
	err = net_guard_bpf__load(ng->skel);
	if (err) {
		log_err(err, "load BPF object (pins under %s)", ng->pin_root);
		goto cleanup;
	}
	err = open_lists(ng);
	if (!err)
		err = attach_all(ng);
	if (err)
		goto cleanup;
	return ng;
cleanup:
	net_guard__destroy(ng);
	errno = -err;
	return NULL;
}

void net_guard__destroy(struct net_guard *ng)
{
	int i;

	if (!ng)
		return;
	for (i = 0; i < MAX_HOLDER_SLOTS; i++) {
		struct slot_lists *sl = &ng->slots[i];

		free(sl->keys);
		if (sl->fd[0] >= 0)
			close(sl->fd[0]);
		if (sl->fd[1] >= 0)
			close(sl->fd[1]);
	}
	for (i = 0; i < NET_GUARD_PROGS; i++)
		bpf_link__destroy(ng->links[i]); /* closes; a pinned link stays attached */
	net_guard_bpf__destroy(ng->skel);
	if (ng->cgroup_fd >= 0)
		close(ng->cgroup_fd);
	free(ng->pin_root);
	free(ng);
}

int net_guard__unpin(struct net_guard *ng)
{
	char path[PATH_MAX];
	struct bpf_program *prog;
	struct bpf_map *map;
	int err = 0, r;

	bpf_object__for_each_program(prog, ng->skel->obj) {
		if (pins__link_path(ng->pin_root, prog, path))
			continue; /* too long: cannot have been pinned */
		if (unlink(path) && errno != ENOENT)
			err = log_err(-errno, "unpin %s", path);
	}
	bpf_object__for_each_map(map, ng->skel->obj) {
		/* holders, file_rules, file_uses are the file guard's too */
		if (strncmp(bpf_map__name(map), "net_", 4) || !bpf_map__is_pinned(map))
			continue;
		r = bpf_map__unpin(map, NULL);
		if (r)
			err = log_err(r, "unpin map %s", bpf_map__name(map));
	}
	return err;
}

/* ---- rules ---------------------------------------------------------------------------- */

/*
 * Copies a destination to `out` (16 bytes, zero padded). An IPv4-mapped IPv6 address or
 * prefix (::ffff:0:0/96 and longer) becomes IPv4, as the programs fold mapped destinations.
 */
static int normalise(int *family, const void *addr, unsigned int *len, __u8 *out)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(out, 0, 16);
	if (*family == AF_INET && *len <= 32) {
		memcpy(out, addr, 4);
		return 0;
	}
	if (*family != AF_INET6 || *len > 128)
		return -EINVAL;
	if (*len >= 96 && !memcmp(addr, mapped, sizeof(mapped))) {
		*family = AF_INET;
		*len -= 96;
		memcpy(out, (const __u8 *)addr + 12, 4);
		return 0;
	}
	memcpy(out, addr, 16);
	return 0;
}

/* Zeroes the host bits, so bpftool shows the prefix as written in the contract. */
static void mask_host_bits(__u8 *addr, unsigned int len, unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < bits / 8; i++) {
		if (len <= 8 * i)
			addr[i] = 0;
		else if (len < 8 * (i + 1))
			addr[i] &= (__u8)(0xff << (8 * (i + 1) - len));
	}
}

int net_guard__add_cidr(struct net_guard *ng, uint32_t slot, int family, const void *addr,
			unsigned int prefixlen)
{
	struct net_cidr_key k = {};
	struct slot_lists *sl;
	unsigned int len = prefixlen;
	void *grown;

	if (slot >= MAX_HOLDER_SLOTS || normalise(&family, addr, &len, k.addr))
		return -EINVAL;
	sl = &ng->slots[slot];
	if (sl->n >= ng->max_cidrs)
		return -E2BIG;
	grown = realloc(sl->keys, (sl->n + 1) * sizeof(k));
	if (!grown)
		return -ENOMEM;
	sl->keys = grown;
	mask_host_bits(k.addr, len, family == AF_INET ? 32 : 128);
	k.prefixlen = 32 + len;
	k.family = family;
	sl->keys[sl->n++] = k;
	return 0;
}

int net_guard__add_endpoint(struct net_guard *ng, uint32_t slot, int family, const void *addr,
			    uint16_t port)
{
	struct net_endpoint ep = { .port = port };
	unsigned int len = family == AF_INET ? 32 : 128;

	if (slot >= MAX_HOLDER_SLOTS || normalise(&family, addr, &len, ep.addr))
		return -EINVAL;
	ep.family = family;
	return bpf_map__update_elem(ng->skel->maps.net_endpoints, &ep, sizeof(ep), &slot,
				    sizeof(slot), BPF_ANY);
}

/* Empties a list: an allow-list's entry for everything else first, so that while the list
 * is in use what remains never refuses more than it did. */
static int empty_list(int fd)
{
	struct net_cidr_key k, rest = {};
	int err = bpf_map_delete_elem(fd, &rest);

	if (err && err != -ENOENT)
		return err;
	while (!(err = bpf_map_get_next_key(fd, NULL, &k)))
		if ((err = bpf_map_delete_elem(fd, &k)))
			return err;
	return err == -ENOENT ? 0 : err;
}

/* Fills an empty list with the slot's staged prefixes under mode and, for an allow-list,
 * last, the entry that refuses everything else (bpf/net_guard.h). */
static int fill_list(int fd, const struct slot_lists *sl, __u32 mode)
{
	struct net_cidr_key rest = {};
	__u8 listed = mode == NET_MODE_ALLOW ? 0 : NET_REASON_LISTED;
	__u8 unlisted = NET_REASON_NOT_LISTED;
	int err = 0;

	for (size_t i = 0; !err && mode != NET_MODE_NONE && i < sl->n; i++)
		err = bpf_map_update_elem(fd, &sl->keys[i], &listed, BPF_ANY);
	if (!err && mode == NET_MODE_ALLOW)
		err = bpf_map_update_elem(fd, &rest, &unlisted, BPF_ANY);
	return err;
}

/*
 * The staged prefixes under `mode` become the slot's rule. Replacing a rule: the spare list
 * is emptied, filled, and put in net_lists in one update: a decision reads the old list or
 * the new one, never a mix. That update returns only once no program runs with the old
 * list any more (maybe_wait_bpf_programs(), kernel/bpf/syscall.c, since 4.20), so the old
 * one is the spare next time. A rule where there was none is written into the empty active
 * list, no wait (a grace period, ~15 ms here, is more than an apply may take): allow-list
 * prefixes before the entry that refuses the rest, a deny-list one prefix after the other.
 */
int net_guard__set_mode(struct net_guard *ng, uint32_t slot, uint32_t mode)
{
	int outer = bpf_map__fd(ng->skel->maps.net_lists), next, err;
	struct slot_lists *sl;

	if (slot >= MAX_HOLDER_SLOTS || mode > NET_MODE_DENY)
		return -EINVAL;
	sl = &ng->slots[slot];
	next = sl->ruled ? !sl->active : sl->active;
	err = sl->ruled ? empty_list(sl->fd[next]) : 0;
	if (!err)
		err = fill_list(sl->fd[next], sl, mode);
	if (!err && next != sl->active)
		err = bpf_map_update_elem(outer, &slot, &sl->fd[next], BPF_ANY);
	if (!err) {
		sl->active = next;
		sl->ruled = mode != NET_MODE_NONE;
	}
	free(sl->keys);
	sl->keys = NULL;
	sl->n = 0;
	return err;
}

/* The slot's rule goes, in place: it is being given up (its contract ended). */
static int drop_rule(struct net_guard *ng, uint32_t slot)
{
	struct slot_lists *sl = &ng->slots[slot];
	int err = empty_list(sl->fd[sl->active]);

	if (!err)
		sl->ruled = false;
	free(sl->keys);
	sl->keys = NULL;
	sl->n = 0;
	return err;
}

/* net_nr_workloads = entries in net_workloads + extra (bpf/net_guard.h). */
static int count_workloads(struct net_guard *ng, __u32 extra)
{
	struct bpf_map *map = ng->skel->maps.net_workloads;
	__u32 zero = 0, n = extra;
	__u64 key, next;
	int err;

	for (err = bpf_map__get_next_key(map, NULL, &next, sizeof(next)); !err;
	     err = bpf_map__get_next_key(map, &key, &next, sizeof(next))) {
		key = next;
		n++;
	}
	if (err != -ENOENT)
		return err;
	return bpf_map__update_elem(ng->skel->maps.net_nr_workloads, &zero, sizeof(zero), &n,
				    sizeof(n), BPF_ANY);
}

int net_guard__add_workload(struct net_guard *ng, uint32_t slot, const char *cgroup_path)
{
	struct bpf_map *map = ng->skel->maps.net_workloads;
	struct net_workload w = {};
	__u64 id;
	int fd, err;

	if (slot >= MAX_HOLDER_SLOTS)
		return -EINVAL;
	err = open_cgroup(cgroup_path, &fd, &id);
	if (err)
		return err;
	close(fd);
	/* the count first: the programs look at the entry only when the count says so */
	err = count_workloads(ng, 1);
	if (err)
		return err;
	(void)bpf_map__lookup_elem(map, &id, sizeof(id), &w, sizeof(w), 0); /* none yet: zero */
	w.slots |= 1ULL << slot;
	err = bpf_map__update_elem(map, &id, sizeof(id), &w, sizeof(w), BPF_ANY);
	return err ? err : count_workloads(ng, 0);
}

/* Read-modify-write, not atomic against the programs' fetch-and-or: meant for a process
 * that cannot mark itself yet (pepctl run marks the workload before exec). */
int net_guard__mark_holder(struct net_guard *ng, pid_t pid, uint32_t slot)
{
	struct bpf_map *map = ng->skel->maps.holders;
	struct holder h = {};
	__u32 tgid = pid;

	if (slot >= MAX_HOLDER_SLOTS || pid <= 0)
		return -EINVAL;
	(void)bpf_map__lookup_elem(map, &tgid, sizeof(tgid), &h, sizeof(h), 0);
	h.slots |= 1ULL << slot;
	return bpf_map__update_elem(map, &tgid, sizeof(tgid), &h, sizeof(h), BPF_ANY);
}

/* ---- clearing and reading ------------------------------------------------------------- */

typedef bool (*key_match_fn)(struct bpf_map *map, const void *key, __u32 slot);

static bool endpoint_of(struct bpf_map *map, const void *key, __u32 slot)
{
	__u32 v;

	return !bpf_map__lookup_elem(map, key, sizeof(struct net_endpoint), &v, sizeof(v), 0) &&
	       v == slot;
}

static bool workload_of(struct bpf_map *map, const void *key, __u32 slot)
{
	struct net_workload w;

	return !bpf_map__lookup_elem(map, key, sizeof(__u64), &w, sizeof(w), 0) &&
	       (w.slots >> slot & 1);
}

/* The keys `match` accepts, collected before any change: deleting while walking a hash map
 * makes the walk start over. *ret_keys is n * key_size bytes, to free. */
static int collect_keys(struct bpf_map *map, key_match_fn match, __u32 slot, char **ret_keys,
			size_t *ret_n)
{
	__u32 ks = bpf_map__key_size(map);
	char cur[64], prev[64], *keys = NULL, *grown;
	size_t n = 0, cap = 0;
	int err;

	if (ks > sizeof(cur))
		return -E2BIG;
	for (err = bpf_map__get_next_key(map, NULL, cur, ks); !err;
	     err = bpf_map__get_next_key(map, prev, cur, ks)) {
		memcpy(prev, cur, ks);
		if (!match(map, cur, slot))
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
	if (err != -ENOENT) {
		free(keys);
		return err;
	}
	*ret_keys = keys;
	*ret_n = n;
	return 0;
}

/* Deletes the slot's keys; a workload of several slots loses only this slot's bit. */
static int clear_map(struct bpf_map *map, key_match_fn match, __u32 slot)
{
	__u32 ks = bpf_map__key_size(map);
	char *keys = NULL;
	size_t n = 0, i;
	int err, r;

	err = collect_keys(map, match, slot, &keys, &n);
	for (i = 0; !err && i < n; i++) {
		struct net_workload w;
		char *key = keys + i * ks;

		if (match == workload_of &&
		    !bpf_map__lookup_elem(map, key, ks, &w, sizeof(w), 0) &&
		    (w.slots &= ~(1ULL << slot))) {
			r = bpf_map__update_elem(map, key, ks, &w, sizeof(w), BPF_EXIST);
		} else {
			r = bpf_map__delete_elem(map, key, ks, 0);
		}
		if (r && r != -ENOENT)
			err = r;
	}
	free(keys);
	return err;
}

/* Endpoints first (no new holders or uses), then the list. */
int net_guard__clear_slot(struct net_guard *ng, uint32_t slot)
{
	struct net_guard_bpf *s = ng->skel;
	int err;

	if (slot >= MAX_HOLDER_SLOTS)
		return -EINVAL;
	err = clear_map(s->maps.net_endpoints, endpoint_of, slot);
	if (!err)
		err = clear_map(s->maps.net_workloads, workload_of, slot);
	if (!err)
		err = count_workloads(ng, 0);
	if (!err)
		err = drop_rule(ng, slot);
	return err;
}

int net_guard__events_fd(const struct net_guard *ng)
{
	return bpf_map__fd(ng->skel->maps.net_events);
}

int net_guard__drops(struct net_guard *ng, uint32_t what, uint64_t *ret_count)
{
	unsigned long long sum;
	int err = pins__percpu_sum(ng->skel->maps.net_drops, what, &sum);

	if (!err)
		*ret_count = sum;
	return err;
}
