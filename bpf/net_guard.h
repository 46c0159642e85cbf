/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Net guard: the egress rules of holders (holders.h) and of processes in a contract's
 * workload cgroup, and the uses of network endpoints bound to a data product. Shared by
 * bpf/net_guard.bpf.c and agent/net_guard.c: every struct here is a map key, a map value or
 * an event. Include vmlinux.h (BPF) or <linux/types.h> (user space) first.
 *
 * A connection to an endpoint is decided by the contract's file guard rule (file_rules in
 * file_guard.h: active, not terminated, within validity) and is one use on the same
 * counters (file_uses) as an open of the product's files.
 *
 * Addresses are in network byte order, ports in host byte order. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is IPv4 traffic: it is stored and matched as AF_INET, so an
 * AF_INET6 socket cannot side-step the IPv4 rules.
 */
#ifndef PEP_NET_GUARD_H
#define PEP_NET_GUARD_H

/* How a slot's list restricts its holders' egress (net_guard__set_mode()). */
enum net_mode {
	NET_MODE_NONE = 0,  /* no networkAddress constraint: nothing refused */
	NET_MODE_ALLOW = 1, /* eq/isA/isAnyOf/isPartOf: only listed destinations; none listed: all refused */
	NET_MODE_DENY = 2,  /* neq/isNoneOf: listed destinations refused; none listed: none refused */
};

/*
 * net_lists: ARRAY_OF_MAPS, holder slot -> the slot's list, an LPM trie of these keys whose
 * __u8 value is the verdict on a destination whose longest listed prefix it is: 0 allowed,
 * else the net_reason. Allow-list: its prefixes 0, and {prefixlen 0} (every destination)
 * NET_REASON_NOT_LISTED; deny-list: its prefixes NET_REASON_LISTED. No list (mode none): the
 * slot refuses nothing. The mode is in the values, so a decision reads one list and nothing
 * else, and a new version replaces the whole rule in one update of the outer array (the
 * agent builds the new list aside; the old one is never changed, it goes when no program
 * uses it any more).
 *
 * The family is part of the prefix (prefixlen = 32 + CIDR length), so an IPv6 ::/0 does
 * not cover IPv4 destinations, and both families are in one list: one switch for both.
 */
struct net_cidr_key {
	__u32 prefixlen;
	__u32 family;  /* AF_INET or AF_INET6, matched whole */
	__u8 addr[16]; /* AF_INET: first 4 bytes */
};

/*
 * net_endpoints: HASH, a bound TCP endpoint (tcp://ADDR:PORT) -> __u32 slot, both the
 * contract's file_rules slot and its holder bit (the agent gives contracts with endpoints a
 * slot below MAX_HOLDER_SLOTS). Connecting to it is one use of the product and makes the
 * process a holder of the slot. The same struct is the destination the programs decide on.
 * 20 bytes, no padding.
 */
struct net_endpoint {
	__u16 family;  /* AF_INET or AF_INET6 */
	__u16 port;    /* host byte order */
	__u8 addr[16]; /* AF_INET: first 4 bytes, the rest zero */
};

/*
 * net_workloads: HASH, cgroup id -> the slots its processes are treated as holding.
 * net_nr_workloads: ARRAY[1] __u32, at least the number of entries in net_workloads: the
 * programs skip the cgroup lookup while it is 0. The agent raises it before adding an entry
 * and lowers it after removing one, so it is never 0 while an entry exists.
 */
struct net_workload {
	__u64 slots;
};

/* net_drops: PERCPU_ARRAY of counters for what the programs could not do; sum the CPUs. */
enum net_drop {
	NET_DROP_EVENT = 0, /* net_events full: an event was lost (the decision was still made) */
	NET_DROP_MAX,
};

enum net_verdict {
	NET_REFUSED = 0, /* the syscall failed with EPERM */
	NET_ALLOWED = 1,
};

/* Reasons 4, 5 and 7.. are the endpoint contract's file rule speaking (file_guard.h). */
enum net_reason {
	NET_REASON_USE = 1,	   /* connection to a bound endpoint: one use of the product */
	NET_REASON_NOT_LISTED = 2, /* allow-list slot: destination not listed */
	NET_REASON_LISTED = 3,	   /* deny-list slot: destination listed */
	NET_REASON_EXHAUSTED = 4,  /* count used up in this window */
	NET_REASON_TERMINATED = 5, /* the contract is terminated */
	NET_REASON_NO_ROOM = 6,	   /* holders full: the connector could not be marked */
	NET_REASON_NO_RULE = 7,	   /* no active (or no readable) rule for the endpoint's slot */
	NET_REASON_NOT_YET = 8,	   /* before the contract's validity */
	NET_REASON_EXPIRED = 9,	   /* after it */
	NET_REASON_FREQ = 10,	   /* frequency limit reached */
	NET_REASON_APP = 11,	   /* application list: not checkable at a socket, fail closed */
	NET_REASON_UNRECORDABLE = 12, /* the use could not be recorded (file_record_state) */
};

#define NET_COMM_LEN 16

/* net_events: RINGBUF of these, one per decision on a holder or an endpoint. */
struct net_event {
	__u64 ts;	 /* boot ns (CLOCK_BOOTTIME), as file guard events */
	__u64 counter;	 /* USE: the deciding use counter after this use (0: no limit) */
	__u64 cgroup_id; /* of the deciding process */
	__u32 pid;	 /* tgid */
	__u32 uid;
	__u32 slot;	 /* the endpoint's slot, or the slot whose rule refused */
	__u16 family;	 /* destination, as struct net_endpoint */
	__u16 port;
	__u8 addr[16];
	__u8 verdict;	 /* enum net_verdict */
	__u8 reason;	 /* enum net_reason */
	__u8 protocol;	 /* IPPROTO_TCP, IPPROTO_UDP */
	__u8 pad;
	char comm[NET_COMM_LEN];
};

#endif /* PEP_NET_GUARD_H */
