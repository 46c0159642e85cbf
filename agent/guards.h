/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guards: a contract's rules into the kernel guards of the running backend. Callers
 * do not know which backend runs; the file guard hooks differ (syscall tracepoint + SIGKILL
 * or BPF-LSM file_open), the maps and the network guard do not.
 *
 * Slots: a contract is enforced in one slot (0..FG_MAX_SLOTS-1). Contracts whose rules need
 * holders (egress limits, copy tracking) take a slot below MAX_HOLDER_SLOTS, which is also
 * their holder bit; the others take slots above, so 64 such contracts at once is the limit.
 */
#ifndef PEP_AGENT_GUARDS_H
#define PEP_AGENT_GUARDS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/probe.h"

struct contract_rules;
struct pol_errors;
struct guards;
struct fg_event;
struct net_event;
struct workloads;
struct workload_access;

struct guards_opts {
	const char *pin_root; /* bpffs directory: /sys/fs/bpf/pep */
	const char *cgroup;   /* cgroup v2 directory whose processes' egress is guarded */
	enum backend backend;
	uint32_t events_bytes; /* the file guard's ring buffer (a new one; pinned keeps its size) */
	/* Called from the event loop for each kernel decision. */
	void (*on_file_event)(void *ctx, const struct fg_event *e);
	void (*on_net_event)(void *ctx, const struct net_event *e);
	void *ctx;
};

struct slot_status {
	uint64_t uses, freq_uses; /* in the current windows */
	uint64_t count_limit, freq_limit;
	bool terminated;
	uint32_t holders; /* processes holding the data */
};

/* Loads or adopts the pinned guards (no gap in enforcement). NULL and errno on failure. */
struct guards *guards__open(const struct guards_opts *opts);
/* Closes; pins stay and enforcement goes on. Accepts NULL. */
void guards__close(struct guards *e);
/* The ring buffer fds to watch; call guards__poll() when one is readable. */
int guards__fds(const struct guards *e, int ret_fds[2]);
int guards__poll(struct guards *e);

/* A slot with no rule, for rules that do (holders) or do not need holders; -ENOSPC when
 * none is left. The pinned rules are the record of which slots are taken. */
int guards__free_slot(struct guards *e, bool holders);
/* Applies a contract's rules in `slot`, or replaces those of the version in force there:
 * each guard's rule switches in one update. On error the error names the cause; in a fresh
 * slot nothing stays, a replacement may be partly done: apply the old rules again. */
int guards__apply(struct guards *e, int slot, const struct contract_rules *r,
		    struct pol_errors *errs);
/* Whether contracts in `slot` can have holders (egress rules, copies). */
bool guards__holder_slot(int slot);
/* From now on nothing may open the slot's files or connect to its endpoints. */
int guards__terminate(struct guards *e, int slot);
/* Forgets the slot (after termination and deletion). */
int guards__release(struct guards *e, int slot);
int guards__status(struct guards *e, int slot, struct slot_status *ret);
/* Calls fn for every derived copy of the slot (kernel device encoding converted back). */
int guards__for_each_copy(struct guards *e, int slot,
			    int (*fn)(void *ctx, uint64_t dev, uint64_t ino), void *ctx);
/* Forgets one file (st_dev, st_ino) after it was deleted. */
int guards__unbind(struct guards *e, uint64_t dev, uint64_t ino);
/* The inode generation the kernel keeps for a bound file (st_dev, st_ino); -ENOENT if none. */
int guards__bound_generation(struct guards *e, uint64_t dev, uint64_t ino, uint32_t *ret_gen);
/* The inode generation of the file of the caller's fd, as the programs compare it. */
int guards__generation(struct guards *e, int fd, uint32_t *ret_gen);
/* The journal takes no records (full): from now on, until cleared, every use is refused,
 * in the kernel. */
int guards__set_journal_full(struct guards *e, bool full);
/* Records lost by the kernel: ring buffers full, maps full. */
uint64_t guards__lost(struct guards *e);

/* ---- workloads (`pepctl run`, agent/workload.h) --------------------------------------- */

/* The supervisor the agent opened, with guards__decide as its decide callback and these
 * guards as its context. Without one, the two functions below do nothing. */
void guards__set_workloads(struct guards *e, struct workloads *w);
/* Lets `pepctl run --contract ID` start workloads of the contract applied in slot: its
 * workload cgroup, whose processes the net guard holds to the slot's egress rule. 0 if it
 * already can (a new version in the same slot). */
int guards__add_workload(struct guards *e, int slot, const char *contract);
/* Ends the contract's workloads: supervision stops, every process in its cgroup is killed
 * (cgroup.kill) and the cgroup removed. 0 if it had none. */
int guards__remove_workload(struct guards *e, const char *contract);
/* workload_decide_fn: what a workload asks the supervisor to open or remove is decided by
 * the kernel's own rule and counters (the file guard's file_decide program) and recorded as
 * the workload's; EACCES for a refused open, EPERM for a refused removal. */
int guards__decide(void *guards, const struct workload_access *a);

#endif /* PEP_AGENT_GUARDS_H */
