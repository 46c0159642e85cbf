// SPDX-License-Identifier: Apache-2.0
/*
 * Enforcement: contract rules into the file guard (who may open a product's files, how
 * often, until when; holders and copies) and the net guard (holders' egress, endpoints).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/file_guard.h"
#include "bpf/holders.h"
#include "bpf/net_guard.h"
#include "policy/policy.h"
#include "agent/guards.h"
#include "agent/file_guard.h"
#include "agent/log.h"
#include "agent/net_guard.h"
#include "agent/rules.h"
#include "agent/workload.h"

struct guards {
	char *pin_root;
	struct file_guard *fg;
	struct net_guard *ng;
	struct ring_buffer *net_events;
	struct workloads *workloads; /* NULL: no `pepctl run` */
	void (*on_file_event)(void *ctx, const struct fg_event *e);
	void (*on_net_event)(void *ctx, const struct net_event *e);
	void *ctx;
};

static int file_event(void *ctx, const struct fg_event *ev)
{
	struct guards *e = ctx;

	if (e->on_file_event)
		e->on_file_event(e->ctx, ev);
	return 0;
}

static int net_event(void *ctx, void *data, size_t size)
{
	struct guards *e = ctx;

	if (size >= sizeof(struct net_event) && e->on_net_event)
		e->on_net_event(e->ctx, data);
	return 0;
}

struct guards *guards__open(const struct guards_opts *opts)
{
	struct file_guard_opts fo = { .pin_root = opts->pin_root,
				      .lsm = opts->backend == BACKEND_LSM,
				      .events_bytes = opts->events_bytes,
				      .on_event = file_event };
	struct net_guard_opts no = { .pin_root = opts->pin_root, .cgroup = opts->cgroup };
	struct guards *e = calloc(1, sizeof(*e));
	int err = 0;

	if (!e)
		return NULL;
	e->pin_root = strdup(opts->pin_root);
	if (!e->pin_root) {
		free(e);
		return NULL;
	}
	e->on_file_event = opts->on_file_event;
	e->on_net_event = opts->on_net_event;
	e->ctx = opts->ctx;
	fo.ctx = e;
	e->fg = file_guard__open(&fo);
	if (!e->fg)
		err = -errno;
	/* The agent opens product files itself: for workloads (decided by guards__decide) and
	 * to delete them at termination. */
	if (!err)
		err = file_guard__trust_self(e->fg);
	if (!err) {
		e->ng = net_guard__open(&no);
		if (!e->ng)
			err = -errno;
	}
	if (!err) {
		e->net_events = ring_buffer__new(net_guard__events_fd(e->ng), net_event, e, NULL);
		if (!e->net_events)
			err = -errno;
	}
	if (err) {
		guards__close(e);
		errno = -err;
		return NULL;
	}
	return e;
}

void guards__close(struct guards *e)
{
	if (!e)
		return;
	ring_buffer__free(e->net_events);
	net_guard__destroy(e->ng);
	file_guard__destroy(e->fg);
	free(e->pin_root);
	free(e);
}

int guards__fds(const struct guards *e, int ret_fds[2])
{
	ret_fds[0] = file_guard__events_fd(e->fg);
	ret_fds[1] = ring_buffer__epoll_fd(e->net_events);
	return 0;
}

int guards__poll(struct guards *e)
{
	int a = file_guard__poll(e->fg, 0);
	int b = ring_buffer__poll(e->net_events, 0);

	return a < 0 ? a : b < 0 ? b : a + b;
}

int guards__free_slot(struct guards *e, bool holders)
{
	int first = holders ? 0 : MAX_HOLDER_SLOTS, end = holders ? MAX_HOLDER_SLOTS : FG_MAX_SLOTS;
	struct fg_rule rule;

	for (int slot = first; slot < end; slot++)
		if (file_guard__rule(e->fg, (__u32)slot, &rule) == -ENOENT)
			return slot;
	return -ENOSPC;
}

static __u64 boot_ns_or_zero(int64_t wall, bool open_end)
{
	/* Rules run on the boot clock: converted once, here, they do not move when the wall
	 * clock is set back or forward afterwards. */
	if (open_end ? wall >= INT64_MAX / 2 : wall <= 0)
		return 0;
	return file_guard__boot_ns(wall);
}

/* Every rule requires its uses to be recorded (issue 5: the default; no contract term
 * turns it off yet). */
static struct fg_rule file_rule(int slot, const struct contract_rules *r)
{
	struct fg_rule rule = { .flags = FG_ACTIVE | FG_RECORD_REQUIRED };

	if (r->app_rule)
		rule.flags |= r->app_deny_list ? FG_APP_DENY : FG_APP_ALLOW;
	if (r->count_limit || r->count_window)
		rule.flags |= FG_COUNT_LIMIT;
	if (r->freq_limit || r->freq_window)
		rule.flags |= FG_FREQ_LIMIT;
	if (r->holders)
		rule.flags |= FG_MARK_HOLDER, rule.holder_slot = (__u32)slot;
	if (r->track_copies)
		rule.flags |= FG_TRACK_COPIES;
	if (r->no_delete)
		rule.flags |= FG_NO_DELETE;
	rule.not_before = boot_ns_or_zero(r->not_before, false);
	rule.not_after = boot_ns_or_zero(r->not_after, true);
	rule.count_limit = r->count_limit;
	rule.count_window_ns = r->count_window * 1000000000ull;
	rule.freq_limit = r->freq_limit;
	rule.freq_window_ns = r->freq_window * 1000000000ull;
	return rule;
}

static int apply_files(struct guards *e, int slot, const struct contract_rules *r,
		       struct pol_errors *errs)
{
	struct fg_rule rule = file_rule(slot, r);
	struct fg_inode *apps = calloc(r->n_apps + 1, sizeof(*apps));
	int err = apps ? 0 : -ENOMEM;

	for (size_t i = 0; i < r->n_apps; i++) {
		apps[i].dev = file_guard__kdev((dev_t)r->apps[i].dev);
		apps[i].ino = r->apps[i].ino;
	}
	/* Files first: bound to a slot without an active rule they are refused to everyone
	 * (fail-closed); the rule then switches them on in one map update. */
	for (size_t i = 0; !err && i < r->n_paths; i++) {
		err = file_guard__bind(e->fg, (__u32)slot, r->paths[i]);
		if (err)
			pol_errors__add(errs, r->product, "binding %s in the kernel: %s", r->paths[i],
					strerror(-err));
	}
	if (!err) {
		err = file_guard__set_rule(e->fg, (__u32)slot, &rule, apps, r->n_apps);
		if (err)
			pol_errors__add(errs, r->product, "file rule: %s", strerror(-err));
	}
	free(apps);
	return err;
}

static int apply_net(struct guards *e, int slot, const struct contract_rules *r,
		     struct pol_errors *errs)
{
	static const __u32 modes[] = { [EGRESS_ANY] = NET_MODE_NONE,
				       [EGRESS_ALLOW_LIST] = NET_MODE_ALLOW,
				       [EGRESS_DENY_LIST] = NET_MODE_DENY };
	int err = 0;

	/* Order from net_guard.h: CIDRs, the slot, then what makes holders. */
	for (size_t i = 0; !err && i < r->n_egress; i++) {
		const struct net_prefix *p = &r->egress_prefixes[i];

		err = net_guard__add_cidr(e->ng, (__u32)slot, p->family, p->addr, p->prefixlen);
	}
	if (!err) /* counts and validity of endpoint connections: the file rule */
		err = net_guard__set_mode(e->ng, (__u32)slot, modes[r->egress]);
	for (size_t i = 0; !err && i < r->n_endpoints; i++) {
		const struct endpoint *ep = &r->endpoints[i];

		err = net_guard__add_endpoint(e->ng, (__u32)slot, ep->addr.family, ep->addr.addr,
					      ep->port);
	}
	if (err)
		pol_errors__add(errs, r->product, "network rule: %s", strerror(-err));
	return err;
}

bool guards__holder_slot(int slot)
{
	return slot >= 0 && slot < MAX_HOLDER_SLOTS;
}

int guards__apply(struct guards *e, int slot, const struct contract_rules *r,
		    struct pol_errors *errs)
{
	struct fg_rule running;
	bool fresh = file_guard__rule(e->fg, (__u32)slot, &running) == -ENOENT;
	int err = 0;

	if (r->holders && !guards__holder_slot(slot)) {
		pol_errors__add(errs, r->product, "slot %d cannot mark holders", slot);
		return -EINVAL;
	}
	/* A new version switches each guard's rule in one update: the net guard's list, then
	 * the file rule; every decision is taken by one version or the other. Without holder
	 * rules now, the slot's list goes (its holders are held to nothing). */
	if (r->holders || guards__holder_slot(slot))
		err = apply_net(e, slot, r, errs);
	if (!err)
		err = apply_files(e, slot, r, errs);
	if (err && fresh)
		(void)guards__release(e, slot); /* nothing of a half-applied contract stays */
	return err;
}

int guards__set_journal_full(struct guards *e, bool full)
{
	return file_guard__set_journal_full(e->fg, full);
}

int guards__terminate(struct guards *e, int slot)
{
	/* The net guard decides endpoint connections by this rule too. */
	return file_guard__terminate(e->fg, (__u32)slot);
}

int guards__release(struct guards *e, int slot)
{
	int err = file_guard__clear_slot(e->fg, (__u32)slot);
	int err2 = slot < MAX_HOLDER_SLOTS ? net_guard__clear_slot(e->ng, (__u32)slot) : 0;

	return err ? err : err2;
}

/* Holders of a slot: the pinned holders map is the record (holders.h). */
static uint32_t count_holders(const char *pin_root, int slot)
{
	char path[4096];
	__u32 key, next;
	struct holder h;
	uint32_t n = 0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/holders", pin_root);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	for (err = bpf_map_get_next_key(fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &h) && (h.slots >> slot & 1))
			n++;
	}
	close(fd);
	return n;
}

int guards__status(struct guards *e, int slot, struct slot_status *ret)
{
	struct slot_status s = { 0 };
	struct fg_rule rule;
	int err;

	__u64 uses, freq_uses;

	err = file_guard__rule(e->fg, (__u32)slot, &rule);
	if (!err)
		err = file_guard__uses(e->fg, (__u32)slot, &uses, &freq_uses);
	if (err)
		return err;
	s.uses = uses;
	s.freq_uses = freq_uses;
	s.count_limit = rule.flags & FG_COUNT_LIMIT ? rule.count_limit : 0;
	s.freq_limit = rule.flags & FG_FREQ_LIMIT ? rule.freq_limit : 0;
	s.terminated = rule.flags & FG_TERMINATED;
	if (rule.flags & FG_MARK_HOLDER)
		s.holders = count_holders(e->pin_root, (int)rule.holder_slot);
	*ret = s;
	return 0;
}

struct copy_filter {
	int slot;
	int (*fn)(void *ctx, uint64_t dev, uint64_t ino);
	void *ctx;
};

static int copy_of_slot(void *ctx, const struct fg_inode *id, const struct fg_derived *d)
{
	struct copy_filter *f = ctx;

	if ((int)d->slot != f->slot)
		return 0;
	/* kernel dev_t (major << 20 | minor) back to user space's */
	return f->fn(f->ctx, makedev(id->dev >> 20, id->dev & 0xfffff), id->ino);
}

int guards__for_each_copy(struct guards *e, int slot,
			    int (*fn)(void *ctx, uint64_t dev, uint64_t ino), void *ctx)
{
	struct copy_filter f = { slot, fn, ctx };

	return file_guard__for_each_derived(e->fg, copy_of_slot, &f);
}

uint64_t guards__lost(struct guards *e)
{
	uint64_t total = 0, net;
	__u64 file;

	/* The two guards spell 64-bit counters differently (__u64, uint64_t). */
	for (__u32 what = 0; what < FG_DROPS; what++)
		if (!file_guard__drops(e->fg, what, &file))
			total += file;
	for (__u32 what = 0; what < NET_DROP_MAX; what++)
		if (!net_guard__drops(e->ng, what, &net))
			total += net;
	return total;
}

int guards__unbind(struct guards *e, uint64_t dev, uint64_t ino)
{
	struct fg_inode id = { .dev = file_guard__kdev((dev_t)dev), .ino = ino };

	return file_guard__unbind(e->fg, &id);
}

int guards__bound_generation(struct guards *e, uint64_t dev, uint64_t ino, uint32_t *ret_gen)
{
	struct fg_inode id = { .dev = file_guard__kdev((dev_t)dev), .ino = ino };
	struct fg_binding b;
	int err = file_guard__binding(e->fg, &id, &b);

	if (!err)
		*ret_gen = b.generation;
	return err;
}

int guards__generation(struct guards *e, int fd, uint32_t *ret_gen)
{
	return file_guard__generation(e->fg, fd, ret_gen);
}

/* ---- workloads ------------------------------------------------------------------------ */

void guards__set_workloads(struct guards *e, struct workloads *w)
{
	e->workloads = w;
}

int guards__add_workload(struct guards *e, int slot, const char *contract)
{
	char path[PATH_MAX];
	int err;

	if (!e->workloads)
		return 0;
	err = workloads__add_contract(e->workloads, contract, (uint32_t)slot, path, sizeof(path));
	if (err == -EEXIST)
		return 0; /* a new version in the same slot: cgroup and registration stay */
	/* Its processes hold the slot's data: the slot's egress rule is theirs (net_guard.h). */
	if (!err && slot < MAX_HOLDER_SLOTS)
		err = net_guard__add_workload(e->ng, (__u32)slot, path);
	if (err)
		(void)guards__remove_workload(e, contract);
	return err;
}

/* cgroup.kill (Linux 5.14) kills every process of the cgroup at once, so none can fork
 * away; they exit asynchronously, and rmdir answers EBUSY until the last one has. */
static int kill_cgroup(const char *path)
{
	char kill_file[PATH_MAX + 16];
	int fd, err, i;

	(void)snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", path);
	fd = open(kill_file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = write(fd, "1", 1) == 1 ? 0 : -errno;
	close(fd);
	for (i = 0; !err && i < 100; i++) {
		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		usleep(10 * 1000);
	}
	return err ? err : -EBUSY;
}

int guards__remove_workload(struct guards *e, const char *contract)
{
	char path[PATH_MAX];
	int err;

	if (!e->workloads || workloads__cgroup(e->workloads, contract, path, sizeof(path)))
		return 0; /* no supervisor, or no workloads for this contract */
	(void)workloads__remove_contract(e->workloads, contract);
	err = kill_cgroup(path);
	if (err)
		log_errno(err, "contract %s: cannot end its workloads in %s", contract, path);
	return err;
}

/* The access, as the kernel's hooks would see it had the workload made the call itself. */
static void ask_of(const struct workload_access *a, struct fg_ask *ask)
{
	char fd_link[32];
	ssize_t n;

	ask->flags = S_ISREG(a->mode) ? FG_ASK_REGULAR : 0;
	if (a->op != WORKLOAD_OPEN) {
		ask->flags |= FG_ASK_DESTROY;
		return;
	}
	ask->flags |= FG_ASK_OPEN;
	/* O_RDONLY 0, O_WRONLY 1, O_RDWR 2 -> f_mode bits 1, 2, 3: OPEN_FMODE() in fs.h */
	ask->fmode = (__u32)((a->flags + 1) & O_ACCMODE);
	if ((a->flags & O_TRUNC) && S_ISREG(a->mode))
		ask->flags |= FG_ASK_DESTROY;
	if (!(ask->fmode & FG_FMODE_WRITE) || a->fd < 0)
		return;
	/* where a copy the workload writes is, for its record and its deletion */
	(void)snprintf(fd_link, sizeof(fd_link), "/proc/self/fd/%d", a->fd);
	n = readlink(fd_link, ask->path, sizeof(ask->path) - 1);
	ask->path[n > 0 ? n : 0] = '\0';
}

int guards__decide(void *guards, const struct workload_access *a)
{
	struct guards *e = guards;
	struct fg_ask ask = {
		.object = { .dev = file_guard__kdev(a->dev), .ino = a->ino },
		.exe = { .dev = file_guard__kdev(a->exe_dev), .ino = a->exe_ino },
		.cgroup_id = a->cgroup_id,
		.pid = (__u32)a->pid,
		.tgid = (__u32)a->tgid,
		.uid = (__u32)a->uid,
		.fd = a->fd,
	};
	int err;

	ask_of(a, &ask);
	(void)snprintf(ask.comm, sizeof(ask.comm), "%s", a->comm ? a->comm : "");
	err = file_guard__decide(e->fg, &ask);
	if (!err)
		return 0;
	if (err != -EACCES)
		log_errno(err, "workload %d: file_decide did not run: refused", a->pid);
	/* a refused open says EACCES, like a file mode; a refused removal EPERM, like an LSM */
	return a->op == WORKLOAD_OPEN ? -EACCES : -EPERM;
}
