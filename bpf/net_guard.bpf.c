// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Net guard: refuses the egress of holders that their contracts' networkAddress rules
 * forbid, and counts connections to bound endpoints as uses of the product. Attached to one
 * cgroup (the cgroup v2 root in production) with cgroup/connect{4,6} and
 * cgroup/sendmsg{4,6}; returning 0 makes connect()/sendto() fail with EPERM.
 *
 * Shared with the file guard, pinned by name: holders (holders.h; the file guard keeps it
 * right across fork and exit), and the contract's rule and use counters (file_rules,
 * file_uses: file_guard.h), so a connection to an endpoint and an open of a bound file
 * draw on one count, and termination or expiry stops both at once.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "bpf/holders.h"
#include "bpf/file_guard.h"
#include "bpf/file_guard.bpf.h"
#include "bpf/net_guard.h"

/* #defines, so not in vmlinux.h */
#define AF_INET	 2
#define AF_INET6 10

#define REFUSE 0
#define ALLOW  1

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "bpf/shared_maps.bpf.h"

/*
 * The slots' lists (net_guard.h). The agent makes each one the size it needs; this
 * definition is the shape every one must have. The key is given by size only: a __type()
 * here makes clang 14 emit struct net_cidr_key as a bare forward declaration, and the lists
 * would have no BTF for bpftool to print their keys with. net_list below carries it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAX_HOLDER_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);
		__uint(max_entries, 1);
		__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
		__uint(key_size, sizeof(struct net_cidr_key));
		__uint(value_size, sizeof(__u8));
	});
} net_lists SEC(".maps");

/* Never created (the loader turns it off): the BTF of the lists' keys and values. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct net_cidr_key);
	__type(value, __u8);
} net_list SEC(".maps");

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

/* How many entries net_workloads has (bpf/net_guard.h), so that while there are none nobody
 * pays for that lookup. An array: the verifier inlines its lookup, no call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_nr_workloads SEC(".maps");


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

/*
 * The slots the current process answers for: its holder bits and its workload cgroup's.
 * Everyone passes here on every connect and send: one hash lookup, and the cgroup's only
 * while workload cgroups exist (each costs ~40 ns on this machine).
 */
static __always_inline __u64 subject_slots(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0, *nr;
	struct holder *h = bpf_map_lookup_elem(&holders, &tgid);
	__u64 slots = h ? h->slots : 0, cgid;
	struct net_workload *w;

	nr = bpf_map_lookup_elem(&net_nr_workloads, &zero);
	if (!nr || !*nr)
		return slots;
	cgid = bpf_get_current_cgroup_id();
	w = bpf_map_lookup_elem(&net_workloads, &cgid);
	return w ? slots | w->slots : slots;
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

/* 0, or why slot's rule refuses d: the verdict of d's longest prefix in the slot's list. */
static __always_inline __u8 slot_refuses(__u32 slot, const struct net_endpoint *d)
{
	struct net_cidr_key k = { .family = d->family };
	void *list = bpf_map_lookup_elem(&net_lists, &slot);
	__u8 *why;

	if (!list)
		return 0; /* no networkAddress constraint */
	k.prefixlen = 32 + (d->family == AF_INET ? 32 : 128);
	__builtin_memcpy(k.addr, d->addr, 16);
	why = bpf_map_lookup_elem(list, &k);
	return why ? *why : 0;
}

/* State of one walk over a holder's slots (bpf_loop context). */
struct slot_walk {
	__u64 slots;
	const struct net_endpoint *d;
	int refuser; /* -1: none refuses */
	__u8 reason;
};

/* bpf_loop callback: does slot i refuse? 1 stops the walk (refused, or no bit left). */
static long check_slot(__u32 i, struct slot_walk *w)
{
	if (i >= MAX_HOLDER_SLOTS || !(w->slots >> i))
		return 1;
	if (!((w->slots >> i) & 1))
		return 0;
	w->reason = slot_refuses(i, w->d);
	if (!w->reason)
		return 0;
	w->refuser = i;
	return 1;
}

/* Index of the one bit set in x, without a loop. */
static __always_inline __u32 bit_index(__u64 x)
{
	return !!(x & 0xffffffff00000000ULL) << 5 | !!(x & 0xffff0000ffff0000ULL) << 4 |
	       !!(x & 0xff00ff00ff00ff00ULL) << 3 | !!(x & 0xf0f0f0f0f0f0f0f0ULL) << 2 |
	       !!(x & 0xccccccccccccccccULL) << 1 | !!(x & 0xaaaaaaaaaaaaaaaaULL);
}

/*
 * The first slot in `slots` whose rule refuses d, or -1. A holder of several slots must
 * satisfy each of them. Those are walked with bpf_loop, not a loop: the verifier checks the
 * body once instead of once per slot (an open-coded loop made each load take 0.3 s). One
 * slot, the usual case, is checked directly (the walk costs ~15 ns more here).
 */
static __always_inline int refusing_slot(__u64 slots, const struct net_endpoint *d,
					 __u8 *ret_reason)
{
	struct slot_walk w = { .slots = slots, .d = d, .refuser = -1 };
	__u32 slot;

	if (!slots)
		return -1;
	if (!(slots & (slots - 1))) {
		slot = bit_index(slots);
		*ret_reason = slot_refuses(slot, d);
		return *ret_reason ? (int)slot : -1;
	}
	(void)bpf_loop(MAX_HOLDER_SLOTS, check_slot, &w, 0);
	*ret_reason = w.reason;
	return w.refuser;
}

static __always_inline int verdict_of(__u8 reason)
{
	return reason == NET_REASON_USE ? ALLOW : REFUSE;
}

/* The decision on d, reason (NET_REASON_USE: allowed), into event e (reserved by the
 * caller), submitted; returns the verdict. */
static __always_inline int report(const struct bpf_sock_addr *ctx, struct net_event *e,
				  const struct net_endpoint *d, __u32 slot, __u8 reason,
				  __u64 counter)
{
	e->ts = bpf_ktime_get_boot_ns();
	e->counter = counter;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->slot = slot;
	e->family = d->family;
	e->port = d->port;
	__builtin_memcpy(e->addr, d->addr, 16);
	e->verdict = reason == NET_REASON_USE ? NET_ALLOWED : NET_REFUSED;
	e->reason = reason;
	e->protocol = ctx->protocol;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return verdict_of(reason);
}

static __always_inline int refuse(const struct bpf_sock_addr *ctx, const struct net_endpoint *d,
				  __u32 slot, __u8 reason)
{
	struct net_event *e = bpf_ringbuf_reserve(&net_events, sizeof(*e), 0);

	if (!e) {
		count_drop(NET_DROP_EVENT);
		return REFUSE;
	}
	return report(ctx, e, d, slot, reason, 0);
}

/* The file guard's reasons, as net_event reasons. */
static __always_inline __u8 net_reason_of(__u32 fg_reason)
{
	switch (fg_reason) {
	case FG_R_TERMINATED: return NET_REASON_TERMINATED;
	case FG_R_NOT_YET: return NET_REASON_NOT_YET;
	case FG_R_EXPIRED: return NET_REASON_EXPIRED;
	case FG_R_COUNT: return NET_REASON_EXHAUSTED;
	case FG_R_FREQ: return NET_REASON_FREQ;
	default: return NET_REASON_NO_RULE;
	}
}

/*
 * Whether the contract's rule lets a connection to its endpoint happen at boot time now,
 * its record made or not (recordable): 0 or a net_reason. A socket program cannot see the
 * caller's executable (no task helpers for cgroup programs), so a rule with an application
 * list refuses: fail closed.
 */
static __always_inline __u8 endpoint_rule(const struct fg_rule *r, bool recordable, __u64 now)
{
	__u32 why;

	if (fg_wants_app(r))
		return NET_REASON_APP;
	why = fg_check(r, false, now);
	if (why == FG_R_NONE && fg_unrecordable(r, recordable))
		return NET_REASON_UNRECORDABLE;
	return why == FG_R_NONE ? 0 : net_reason_of(why);
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

/*
 * A connection to the endpoint of `slot` by a process holding `slots`: allowed iff the
 * contract's rule is in force, every other held slot allows the destination, a use is left
 * (taken from the counters opens draw on too) and, if the rule requires it, the use can be
 * recorded: its event is reserved first. Then the process holds the slot.
 */
static __always_inline __u8 endpoint_use(const struct net_endpoint *d, __u32 slot, __u64 slots,
					 bool recordable, __u32 *ret_slot, __u64 *ret_counter)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct fg_rule r;
	__u8 reason = 0;
	int refuser;
	__u32 why;

	if (!fg_rule_get(&file_rules, slot, &r))
		return NET_REASON_NO_RULE;
	reason = endpoint_rule(&r, recordable, now);
	if (reason)
		return reason;
	/* The product's own endpoint is exempt from its own egress rule: it is where the data
	 * comes from. Every other held slot's rule applies, checked before a use is taken. */
	refuser = refusing_slot(slots & ~(1ULL << slot), d, &reason);
	if (refuser >= 0) {
		*ret_slot = refuser;
		return reason;
	}
	why = fg_take_use(&file_uses, &r, now, ret_counter);
	if (why != FG_R_NONE)
		return net_reason_of(why);
	/* Refused, not allowed unmarked: a holder we cannot mark must not get the data (the
	 * use stays taken; holders full is the agent's alarm, not a normal state). */
	return mark_holder(slot) ? NET_REASON_NO_ROOM : NET_REASON_USE;
}

static __always_inline int use_endpoint(const struct bpf_sock_addr *ctx,
					const struct net_endpoint *d, __u32 slot, __u64 slots)
{
	struct net_event *e = bpf_ringbuf_reserve(&net_events, sizeof(*e), 0);
	__u64 counter = 0;
	__u8 reason;

	slot &= MAX_HOLDER_SLOTS - 1; /* bounds the shift; the agent gives endpoints holder slots */
	/* Two calls, not one with `e != NULL`: 6.1's verifier, testing e a second time, would
	 * follow a NULL branch holding the reservation. */
	if (!e) {
		count_drop(NET_DROP_EVENT);
		return verdict_of(endpoint_use(d, slot, slots, false, &slot, &counter));
	}
	reason = endpoint_use(d, slot, slots, fg_journal_ok(&file_record_state), &slot, &counter);
	return report(ctx, e, d, slot, reason, reason == NET_REASON_USE ? counter : 0);
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

SEC("cgroup/connect4")
int egress_connect4(struct bpf_sock_addr *ctx)
{
	struct net_endpoint d = {};

	dest_from4(&d, ctx);
	return check_connect(ctx, &d);
}

SEC("cgroup/connect6")
int egress_connect6(struct bpf_sock_addr *ctx)
{
	struct net_endpoint d = {};

	dest_from6(&d, ctx);
	return check_connect(ctx, &d);
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
	return check_egress(ctx, &d, slots);
}

SEC("cgroup/sendmsg6")
int egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct net_endpoint d = {};
	__u64 slots = subject_slots();

	if (!slots)
		return ALLOW;
	dest_from6(&d, ctx);
	return check_egress(ctx, &d, slots);
}
