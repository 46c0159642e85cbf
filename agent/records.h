/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Behaviour records: every decision of the kernel, as the agent received it, numbered.
 * Kept in memory, the newest RECORDS_KEPT; `pepctl records` reads them.
 */
#ifndef PEP_AGENT_RECORDS_H
#define PEP_AGENT_RECORDS_H

#include <stdint.h>

#define RECORDS_KEPT 65536

struct record {
	uint64_t seq;
	int64_t time_ns;	  /* wall clock */
	char contract[48];	  /* "" when the slot is not (or no longer) known */
	const char *kind;	  /* allowed, counted, denied, exhausted, derived, added, ... */
	const char *verdict;	  /* allow or deny */
	const char *reason;	  /* why, for a refusal */
	uint32_t pid, uid;
	uint64_t cgroup;
	uint64_t counter;	  /* uses in the window, for counted and exhausted */
	char comm[16];
	char exe[48];		  /* "dev:ino" of the executable */
	char object[96];	  /* "file dev:ino" or "tcp ADDR:PORT" */
};

struct records;

struct records *records__new(void);
void records__free(struct records *r);
/* Numbers the record (seq) and keeps it, dropping the oldest when full. */
void records__add(struct records *r, struct record *rec);
/* Calls fn for each kept record of `contract` (all when NULL), oldest first. */
int records__for_each(const struct records *r, const char *contract,
		      int (*fn)(const struct record *rec, void *ctx), void *ctx);

#endif /* PEP_AGENT_RECORDS_H */
