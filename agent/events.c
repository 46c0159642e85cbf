// SPDX-License-Identifier: Apache-2.0
/* Kernel decisions into behaviour records; derived copies into the store with their path. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

#include "bpf/file_guard.h"
#include "bpf/net_guard.h"
#include "agent/agent.h"
#include "agent/guards.h"
#include "agent/log.h"
#include "agent/records.h"
#include "agent/report.h"
#include "agent/rules.h"
#include "agent/store.h"

_Static_assert(AGENT_MAX_SLOTS == FG_MAX_SLOTS, "agent and file guard slots differ");

static const char *const file_kinds[] = {
	[FG_EV_ALLOWED] = "allowed", [FG_EV_COUNTED] = "counted", [FG_EV_DENIED] = "denied",
	[FG_EV_EXHAUSTED] = "exhausted", [FG_EV_DERIVED] = "derived", [FG_EV_ADDED] = "added",
};

static const char *const file_reasons[] = {
	[FG_R_NONE] = "",	      [FG_R_NO_RULE] = "no active rule",
	[FG_R_TERMINATED] = "terminated", [FG_R_NOT_YET] = "not yet in force",
	[FG_R_EXPIRED] = "expired",     [FG_R_APP] = "application not allowed",
	[FG_R_COUNT] = "count used up", [FG_R_FREQ] = "frequency limit",
	[FG_R_NO_DELETE] = "deletion prohibited",
	[FG_R_UNRECORDABLE] = "cannot be recorded (journal full)",
	[FG_R_GENERATION] = "generation change refused",
};

static const char *const net_reasons[] = {
	[NET_REASON_USE] = "",
	[NET_REASON_NOT_LISTED] = "destination not allowed",
	[NET_REASON_LISTED] = "destination refused",
	[NET_REASON_EXHAUSTED] = "count used up",
	[NET_REASON_TERMINATED] = "terminated",
	[NET_REASON_NO_ROOM] = "no room to track (fail closed)",
	[NET_REASON_NO_RULE] = "no active rule",
	[NET_REASON_NOT_YET] = "not yet in force",
	[NET_REASON_EXPIRED] = "expired",
	[NET_REASON_FREQ] = "frequency limit",
	[NET_REASON_APP] = "application list not checkable at a socket",
	[NET_REASON_UNRECORDABLE] = "cannot be recorded (journal full)",
};

/* The check behind a decision, by its reason (0, the use itself, for the others). */
static const unsigned char file_origins[] = {
	[FG_R_NOT_YET] = ORIGIN_TIME, [FG_R_EXPIRED] = ORIGIN_TIME,
	[FG_R_APP] = ORIGIN_APP,      [FG_R_COUNT] = ORIGIN_COUNT,
	[FG_R_FREQ] = ORIGIN_FREQ,    [FG_R_NO_DELETE] = ORIGIN_NO_DELETE,
};

static const unsigned char net_origins[] = {
	[NET_REASON_NOT_LISTED] = ORIGIN_EGRESS, [NET_REASON_LISTED] = ORIGIN_EGRESS,
	[NET_REASON_EXHAUSTED] = ORIGIN_COUNT,	 [NET_REASON_NO_ROOM] = ORIGIN_EGRESS,
	[NET_REASON_NOT_YET] = ORIGIN_TIME,	 [NET_REASON_EXPIRED] = ORIGIN_TIME,
	[NET_REASON_FREQ] = ORIGIN_FREQ,	 [NET_REASON_APP] = ORIGIN_APP,
};

/* A slot's policy and action per check, copied out of the plan (which does not stay). */
struct slot_origins {
	char policy[ORIGIN_N][sizeof(((struct record *)0)->policy)];
	char action[ORIGIN_N][sizeof(((struct record *)0)->action)];
};

void agent_name_slot(struct agent *a, int slot, const char *id, const struct plan *plan)
{
	struct origin o[ORIGIN_N];
	struct slot_origins *so = plan ? calloc(1, sizeof(*so)) : NULL;

	free(a->slot_contract[slot]);
	free(a->slot_origins[slot]);
	a->slot_contract[slot] = id ? strdup(id) : NULL;
	a->slot_origins[slot] = so;
	if (!so)
		return; /* records name the contract only */
	rule_origins(plan, o);
	for (int i = 0; i < ORIGIN_N; i++) {
		snprintf(so->policy[i], sizeof(so->policy[i]), "%s", o[i].policy ? o[i].policy : "");
		snprintf(so->action[i], sizeof(so->action[i]), "%s", o[i].action ? o[i].action : "");
	}
}

/* Wall time of a boot clock time. The offset between the clocks is read again only when the
 * events' time moves by more than a millisecond (a round of events is shorter): two clock reads
 * per event cost as much as the rest of making its record. A wall clock set meanwhile shows
 * at the next millisecond. The event loop is the only caller. */
static int64_t wall_ns(__u64 boot_ns)
{
	static __u64 read_at;
	static int64_t offset;
	struct timespec wall, boot;

	if (boot_ns - read_at > 1000000 || !read_at) { /* also when boot_ns is earlier */
		clock_gettime(CLOCK_REALTIME, &wall);
		clock_gettime(CLOCK_BOOTTIME, &boot);
		offset = (wall.tv_sec - boot.tv_sec) * 1000000000LL + (wall.tv_nsec - boot.tv_nsec);
		read_at = boot_ns;
	}
	return (int64_t)boot_ns + offset;
}

/* Decimal digits of v at p; returns their end. */
static char *put_dec(char *p, uint64_t v)
{
	char digits[20];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = digits[--n];
	return p;
}

/* "PREFIXdev:ino" without printf, which costs more than the rest of a record. */
static void put_inode(char *buf, const char *prefix, __u32 dev, __u64 ino)
{
	size_t n = strlen(prefix);
	char *p;

	memcpy(buf, prefix, n);
	p = put_dec(buf + n, dev);
	*p++ = ':';
	*put_dec(p, ino) = '\0';
}

static const char *name_of(const char *const *names, size_t n, unsigned i)
{
	return i < n && names[i] ? names[i] : "?";
}

static unsigned origin_of(const unsigned char *origins, size_t n, unsigned reason)
{
	return reason < n ? origins[reason] : ORIGIN_USE;
}

/* The contract in the slot, and the policy and action of the check that decided: `origin`,
 * or the use itself when no entry of the plan is that check (a contract's own validity). */
static void set_contract(const struct agent *a, unsigned slot, unsigned origin,
			 struct record *r)
{
	const struct slot_origins *so;

	if (slot >= AGENT_MAX_SLOTS || !a->slot_contract[slot])
		return;
	strncpy(r->contract, a->slot_contract[slot], sizeof(r->contract) - 1);
	so = a->slot_origins[slot];
	if (!so)
		return;
	if (!so->policy[origin][0])
		origin = ORIGIN_USE;
	memcpy(r->policy, so->policy[origin], sizeof(r->policy));
	memcpy(r->action, so->action[origin], sizeof(r->action));
}

/* Where a holder wrote a derived copy: the fd it still holds, else its path argument.
 * Whatever is found is checked against the inode the kernel saw before it is believed. */
static void note_copy(struct agent *a, const struct fg_event *e, const char *contract)
{
	char link[64], path[PATH_MAX + FG_PATH_LEN + 1], cwd[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/fd/%d", e->tgid, e->fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
	} else if (e->path[0] == '/') {
		snprintf(path, sizeof(path), "%s", e->path);
	} else {
		snprintf(link, sizeof(link), "/proc/%u/cwd", e->tgid);
		n = readlink(link, cwd, sizeof(cwd) - 1);
		cwd[n > 0 ? n : 0] = '\0';
		snprintf(path, sizeof(path), "%s/%s", cwd, e->path);
	}
	if (stat(path, &st) < 0 || st.st_ino != e->object.ino ||
	    st.st_dev != makedev(e->object.dev >> 20, e->object.dev & 0xfffff)) {
		log_warn("derived copy %u:%llu of %s: path not found (%s)", e->object.dev,
			 (unsigned long long)e->object.ino, contract, e->path);
		return;
	}
	if (store__add_copy(a->store, contract, st.st_dev, st.st_ino, path) < 0)
		log_error("derived copy %s of %s: cannot store its path", path, contract);
}

void agent_on_file_event(void *agent, const struct fg_event *e)
{
	struct agent *a = agent;
	struct record r = {
		.time_ns = wall_ns(e->ts),
		.kind = name_of(file_kinds, sizeof(file_kinds) / sizeof(*file_kinds), e->kind),
		.verdict = e->verdict == FG_DENY ? "deny" : "allow",
		.reason = name_of(file_reasons, sizeof(file_reasons) / sizeof(*file_reasons),
				  e->reason),
		.pid = e->tgid,
		.uid = e->uid,
		.cgroup = e->cgroup_id,
		.counter = e->counter,
	};

	set_contract(a, e->slot,
		     e->kind == FG_EV_DERIVED ? ORIGIN_COPIES :
		     e->kind == FG_EV_COUNTED ? ORIGIN_COUNT :
						origin_of(file_origins, sizeof(file_origins), e->reason),
		     &r);
	memcpy(r.comm, e->comm, sizeof(r.comm) - 1); /* NUL-terminated by the kernel */
	put_inode(r.exe, "", e->exe.dev, e->exe.ino);
	put_inode(r.object, "file ", e->object.dev, e->object.ino);
	if (e->kind == FG_EV_DERIVED && r.contract[0])
		note_copy(a, e, r.contract);
	records__add(a->records, &r);
	if (e->kind == FG_EV_DENIED || e->kind == FG_EV_EXHAUSTED)
		report__alert(a->report); /* abnormal use: the platform hears at once */
}

void agent_on_net_event(void *agent, const struct net_event *e)
{
	struct agent *a = agent;
	char addr[INET6_ADDRSTRLEN] = "?";
	struct record r = {
		.time_ns = wall_ns(e->ts),
		.kind = e->reason == NET_REASON_USE ? "connected" : "egress",
		.verdict = e->verdict == NET_ALLOWED ? "allow" : "deny",
		.reason = name_of(net_reasons, sizeof(net_reasons) / sizeof(*net_reasons),
				  e->reason),
		.pid = e->pid,
		.uid = e->uid,
		.cgroup = e->cgroup_id,
		.counter = e->counter,
	};

	set_contract(a, e->slot, origin_of(net_origins, sizeof(net_origins), e->reason), &r);
	snprintf(r.comm, sizeof(r.comm), "%.*s", NET_COMM_LEN, e->comm);
	inet_ntop(e->family, e->addr, addr, sizeof(addr));
	snprintf(r.object, sizeof(r.object), "%s %s:%u", e->protocol == 17 ? "udp" : "tcp", addr,
		 e->port);
	records__add(a->records, &r);
	if (e->verdict != NET_ALLOWED)
		report__alert(a->report);
}

uint64_t agent_kernel_lost(void *agent)
{
	struct agent *a = agent;

	return guards__lost(a->guards);
}
