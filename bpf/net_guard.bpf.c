// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Net guard: refuses the egress of holders that their contracts' networkAddress rules
 * forbid, and counts connections to bound endpoints as uses of the product. Attached to one
 * cgroup (the cgroup v2 root in production) with cgroup/connect{4,6} and
 * cgroup/sendmsg{4,6}; returning 0 makes connect()/sendto() fail with EPERM.
 *
 * Also keeps the shared holders map right across fork and exit, so a holder's children are
 * held too; the file guard may carry the same two programs: both are idempotent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "bpf/holders.h"
#include "bpf/net_guard.h"

/* #defines, so not in vmlinux.h */
#define AF_INET	 2
#define AF_INET6 10

#define REFUSE 0
#define ALLOW  1

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The shared map of holders.h: declared exactly as every other guard declares it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_HOLDERS);
	__type(key, __u32);
	__type(value, struct holder);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_HOLDER_SLOTS);
	__type(key, __u32);
	__type(value, struct net_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_slots SEC(".maps");

/* Sizes below are defaults; the loader sets them before load. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__type(key, struct net_cidr4_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_cidr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct net_cidr6_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_cidr6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct net_endpoint);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct net_workload);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_workloads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct net_use_key);
	__type(value, struct net_use);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_uses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NET_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_drops SEC(".maps");

static __always_inline void count_drop(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&net_drops, &what);

	if (n)
		(*n)++; /* per CPU: no atomic needed */
}

/* The slots the current process answers for: its holder bits and its workload cgroup's. */
static __always_inline __u64 subject_slots(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 cgid = bpf_get_current_cgroup_id();
	struct holder *h = bpf_map_lookup_elem(&holders, &tgid);
	struct net_workload *w = bpf_map_lookup_elem(&net_workloads, &cgid);

	return (h ? h->slots : 0) | (w ? w->slots : 0);
}

static __always_inline void dest_from4(struct net_endpoint *d, const struct bpf_sock_addr *ctx)
{
	__u32 ip = ctx->user_ip4;

	d->family = AF_INET;
	d->port = bpf_ntohs((__u16)ctx->user_port);
	__builtin_memcpy(d->addr, &ip, 4);
}

static __always_inline void dest_from6(struct net_endpoint *d, const struct bpf_sock_addr *ctx)
{
	__u32 ip[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };

	d->port = bpf_ntohs((__u16)ctx->user_port);
	if (ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff)) {
		d->family = AF_INET; /* ::ffff:a.b.c.d reaches a.b.c.d: IPv4 rules apply */
		__builtin_memcpy(d->addr, &ip[3], 4);
		return;
	}
	d->family = AF_INET6;
	__builtin_memcpy(d->addr, ip, 16);
}

static __always_inline bool cidr_listed(__u32 slot, const struct net_endpoint *d)
{
	struct net_cidr4_key k4 = { .prefixlen = 32 + 32, .slot = slot };
	struct net_cidr6_key k6 = { .prefixlen = 32 + 128, .slot = slot };

	if (d->family == AF_INET) {
		__builtin_memcpy(k4.addr, d->addr, 4);
		return bpf_map_lookup_elem(&net_cidr4, &k4) != NULL;
	}
	__builtin_memcpy(k6.addr, d->addr, 16);
	return bpf_map_lookup_elem(&net_cidr6, &k6) != NULL;
}

/*
 * The first slot in `slots` whose rule refuses d, or -1. A holder of several slots must
 * satisfy each of them. Stops after the highest set bit.
 */
static __always_inline int refusing_slot(__u64 slots, const struct net_endpoint *d,
					 __u8 *ret_reason)
{
	__u64 i; /* 64-bit: the verifier tracks a spilled counter only at full width */

	for (i = 0; i < MAX_HOLDER_SLOTS; i++) {
		__u32 slot = i;
		struct net_slot *s;
		bool listed;

		if (!(slots >> i))
			break;
		if (!((slots >> i) & 1))
			continue;
		s = bpf_map_lookup_elem(&net_slots, &slot);
		if (!s || s->mode == NET_MODE_NONE)
			continue;
		listed = cidr_listed(slot, d);
		if (s->mode == NET_MODE_ALLOW && !listed) {
			*ret_reason = NET_REASON_NOT_LISTED;
			return slot;
		}
		if (s->mode == NET_MODE_DENY && listed) {
			*ret_reason = NET_REASON_LISTED;
			return slot;
		}
	}
	return -1;
}

static __always_inline void emit(const struct bpf_sock_addr *ctx, const struct net_endpoint *d,
				 __u32 slot, __u8 verdict, __u8 reason)
{
	struct net_event *e = bpf_ringbuf_reserve(&net_events, sizeof(*e), 0);

	if (!e) {
		count_drop(NET_DROP_EVENT);
		return;
	}
	e->ts = bpf_ktime_get_tai_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->slot = slot;
	e->family = d->family;
	e->port = d->port;
	__builtin_memcpy(e->addr, d->addr, 16);
	e->verdict = verdict;
	e->reason = reason;
	e->protocol = ctx->protocol;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int refuse(const struct bpf_sock_addr *ctx, const struct net_endpoint *d,
				  __u32 slot, __u8 reason)
{
	emit(ctx, d, slot, NET_REFUSED, reason);
	return REFUSE;
}

/* One use of `slot`: 0 if admitted, else the reason it is not. */
static __always_inline __u8 admit_use(__u32 slot, const struct net_slot *s)
{
	struct net_use_key k = { .slot = slot };
	struct net_use zero = {}, *u;

	if (s->window_sec)
		k.window = bpf_ktime_get_tai_ns() / 1000000000ULL / s->window_sec;
	u = bpf_map_lookup_elem(&net_uses, &k);
	if (!u) {
		/* First use in this window. BPF_NOEXIST keeps a racing CPU's entry and count. */
		(void)bpf_map_update_elem(&net_uses, &k, &zero, BPF_NOEXIST);
		u = bpf_map_lookup_elem(&net_uses, &k);
		if (!u)
			return NET_REASON_NO_ROOM;
	}
	/* Racing connections each get a distinct old value: exactly `limit` see one below it. */
	if (__sync_fetch_and_add(&u->count, 1) >= s->limit)
		return NET_REASON_EXHAUSTED;
	return 0;
}

/* Sets the slot's bit in the current process's holders entry; 0 or -1 when full. */
static __always_inline int mark_holder(__u32 slot)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct holder fresh = { .slots = 1ULL << slot }, *h;

	h = bpf_map_lookup_elem(&holders, &tgid);
	if (!h) {
		if (!bpf_map_update_elem(&holders, &tgid, &fresh, BPF_NOEXIST))
			return 0;
		h = bpf_map_lookup_elem(&holders, &tgid); /* another thread was first */
		if (!h)
			return -1;
	}
	__sync_fetch_and_or(&h->slots, fresh.slots); /* other threads may set other bits */
	return 0;
}

/* A connection to the endpoint of `slot`, by a process holding `slots`. */
static __always_inline int use_endpoint(const struct bpf_sock_addr *ctx,
					const struct net_endpoint *d, __u32 slot, __u64 slots)
{
	struct net_slot *s;
	__u8 reason = 0;
	int refuser;

	slot &= MAX_HOLDER_SLOTS - 1; /* bounds the shift and the array index */
	s = bpf_map_lookup_elem(&net_slots, &slot);
	if (!s || s->terminated)
		return refuse(ctx, d, slot, NET_REASON_TERMINATED);
	/* The product's own endpoint is exempt from its own rule: it is where the data comes
	 * from. The rules of every other slot held still apply, checked before a use is spent. */
	refuser = refusing_slot(slots & ~(1ULL << slot), d, &reason);
	if (refuser >= 0)
		return refuse(ctx, d, refuser, reason);
	reason = admit_use(slot, s);
	if (reason)
		return refuse(ctx, d, slot, reason);
	/* Refused, not allowed unmarked: a holder we cannot mark must not get the data. */
	if (mark_holder(slot))
		return refuse(ctx, d, slot, NET_REASON_NO_ROOM);
	emit(ctx, d, slot, NET_ALLOWED, NET_REASON_USE);
	return ALLOW;
}

static __always_inline int check_egress(const struct bpf_sock_addr *ctx,
					const struct net_endpoint *d, __u64 slots)
{
	__u8 reason = 0;
	int refuser = refusing_slot(slots, d, &reason);

	if (refuser < 0)
		return ALLOW; /* not an event: only refusals and uses are decisions on the product */
	return refuse(ctx, d, refuser, reason);
}

static __always_inline int check_connect(const struct bpf_sock_addr *ctx,
					 const struct net_endpoint *d)
{
	__u64 slots = subject_slots();
	__u32 *ep = NULL;

	if (ctx->protocol == IPPROTO_TCP) /* endpoints are tcp:// */
		ep = bpf_map_lookup_elem(&net_endpoints, d);
	if (ep)
		return use_endpoint(ctx, d, *ep, slots);
	if (!slots)
		return ALLOW;
	return check_egress(ctx, d, slots);
}

/*
 * The programs' exit. clang may park the verdict in half of a stack slot whose other half
 * holds a 32-bit map key; the verifier then forgets the verdict is 0 or 1 and refuses the
 * program. Masking behind a barrier (so clang cannot drop it) restates that; the value is
 * already 0 or 1, so nothing changes.
 */
static __always_inline int verdict(int v)
{
	barrier_var(v);
	return v & 1;
}

SEC("cgroup/connect4")
int egress_connect4(struct bpf_sock_addr *ctx)
{
	struct net_endpoint d = {};

	dest_from4(&d, ctx);
	return verdict(check_connect(ctx, &d));
}

SEC("cgroup/connect6")
int egress_connect6(struct bpf_sock_addr *ctx)
{
	struct net_endpoint d = {};

	dest_from6(&d, ctx);
	return verdict(check_connect(ctx, &d));
}

/* sendmsg: UDP sends that name their destination (sendto, sendmsg with msg_name). */
SEC("cgroup/sendmsg4")
int egress_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct net_endpoint d = {};
	__u64 slots = subject_slots();

	if (!slots)
		return ALLOW;
	dest_from4(&d, ctx);
	return verdict(check_egress(ctx, &d, slots));
}

SEC("cgroup/sendmsg6")
int egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct net_endpoint d = {};
	__u64 slots = subject_slots();

	if (!slots)
		return ALLOW;
	dest_from6(&d, ctx);
	return verdict(check_egress(ctx, &d, slots));
}

/*
 * A new process inherits its parent's holder bits. This tracepoint fires in kernel_clone()
 * before wake_up_new_task(), so the child runs no instruction unmarked.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(holders_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct holder *h, copy;

	if (ctgid == ptgid)
		return 0; /* a thread: the process's entry already covers it */
	h = bpf_map_lookup_elem(&holders, &ptgid);
	if (!h)
		return 0;
	copy = *h;
	if (bpf_map_update_elem(&holders, &ctgid, &copy, BPF_ANY))
		count_drop(NET_DROP_HOLDER);
	return 0;
}

/*
 * The entry goes when the last thread exits, so a recycled pid starts clean.
 * signal->live reaches 0 before this tracepoint (kernel/exit.c do_exit(), every version we
 * support), so exactly the last thread sees 0.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(holders_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter)
		return 0;
	(void)bpf_map_delete_elem(&holders, &tgid);
	return 0;
}
