/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Net guard loader: loads bpf/net_guard.bpf.c, pins its maps and links under a bpffs
 * directory and attaches it to a cgroup v2 directory. Enforcement outlives the object:
 * net_guard__destroy() closes, it does not detach; a later net_guard__open() on the same
 * pin root adopts what is pinned with no gap (programs are swapped inside the pinned links).
 *
 * Rules (semantics in bpf/net_guard.h): a slot's mode and CIDRs restrict the egress of its
 * holders; its endpoints make their connectors holders. CIDRs are gathered in memory and
 * net_guard__set_mode() makes them, with the mode, the slot's rule in one step: a new
 * version of a contract replaces the old one's without a moment where the two mix. Whether a connection to an endpoint
 * may happen (terminated, validity, count, frequency) is the slot's file guard rule, and it
 * is counted there: file_guard__set_rule(), file_guard__terminate(), file_guard__uses().
 * Safe order to apply a contract: CIDRs, then net_guard__set_mode(), then endpoints and
 * workloads (no holder of the slot exists before those). Families are AF_INET/AF_INET6,
 * addresses in network byte order (4 or 16 bytes). Every function returns 0 or -errno;
 * constructors NULL and errno.
 */
#ifndef PEP_AGENT_NET_GUARD_H
#define PEP_AGENT_NET_GUARD_H

#include <stdint.h>
#include <sys/types.h>

struct net_guard;

struct net_guard_opts {
	const char *pin_root;	/* bpffs directory, made if missing: "/sys/fs/bpf/pep" */
	const char *cgroup;	/* cgroup v2 directory guarded, with its descendants */
	/* Map sizes; 0 takes the default. Ignored for maps already pinned (those are adopted
	 * as they are). */
	uint32_t max_cidrs;	/* in one slot's rule, both families (65536) */
	uint32_t max_endpoints; /* (1024) */
	uint32_t max_workloads; /* workload cgroups (1024) */
	uint32_t events_bytes;	/* ring buffer, a power of 2 multiple of the page size (256 KiB) */
};

/* Opens or adopts, loads, pins and attaches. */
struct net_guard *net_guard__open(const struct net_guard_opts *opts);
/* Closes; pins stay and enforcement goes on. Accepts NULL. */
void net_guard__destroy(struct net_guard *ng);
/* Detaches: removes the link pins and the net_* map pins (not the maps shared with the file
 * guard: holders, file_rules, file_uses); the programs stop when the object is destroyed. */
int net_guard__unpin(struct net_guard *ng);

/* The slot's rule from now on: the CIDRs added since its last set_mode (none: an empty
 * list), restricting its holders as mode (enum net_mode) says. A rule that replaces one
 * switches in one update, which waits for an RCU grace period; a first rule does not. */
int net_guard__set_mode(struct net_guard *ng, uint32_t slot, uint32_t mode);
/* Removes the slot's endpoints, workloads and rule (holder bits stay: holders.h);
 * for a slot being given to another contract. */
int net_guard__clear_slot(struct net_guard *ng, uint32_t slot);

/* A prefix for the slot's next rule (net_guard__set_mode()); -E2BIG beyond max_cidrs. */
int net_guard__add_cidr(struct net_guard *ng, uint32_t slot, int family, const void *addr,
			unsigned int prefixlen);
int net_guard__add_endpoint(struct net_guard *ng, uint32_t slot, int family, const void *addr,
			    uint16_t port);
/* Processes in this cgroup v2 directory (not its descendants) are treated as holders. */
int net_guard__add_workload(struct net_guard *ng, uint32_t slot, const char *cgroup_path);
/* Sets the slot's bit for process `pid` (as connecting to an endpoint does). */
int net_guard__mark_holder(struct net_guard *ng, pid_t pid, uint32_t slot);

/* The net_events ring buffer, struct net_event records: give it to ring_buffer__new(). */
int net_guard__events_fd(const struct net_guard *ng);
/* Sum over CPUs of net_drops[what] (enum net_drop). */
int net_guard__drops(struct net_guard *ng, uint32_t what, uint64_t *ret_count);

#endif /* PEP_AGENT_NET_GUARD_H */
