/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Behaviour records: the agent's side of the journal (journal/journal.h). Every decision of the
 * kernel goes in through records__add(); timers on the agent's event loop make them durable
 * (fdatasync at most RECORDS_SYNC_MS after they came in, or at once when a batch is full, on the
 * journal's own thread so that the event loop goes on draining the ring buffers),
 * write "lost" entries when the kernel's loss counter grows, and a signed checkpoint every
 * RECORDS_CHECKPOINT_MS. Changes of the journal's state (near full, full, failed) are logged
 * here, once each.
 */
#ifndef PEP_AGENT_RECORDS_H
#define PEP_AGENT_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/types.h>

#include "journal/journal.h"

#define RECORDS_SYNC_MS	      50
#define RECORDS_TICK_MS	      1000 /* loss counter polled */
#define RECORDS_CHECKPOINT_MS 5000

struct event_base;
struct records;

struct records_opts {
	struct event_base *base;
	const char *dir;     /* state_dir/journal */
	uint64_t max_bytes;  /* journal_max_bytes */
	EVP_PKEY *key;	     /* the node key: signs checkpoints; borrowed */
	uint64_t (*kernel_lost)(void *ctx); /* records the kernel could not hand over, so far */
	void (*on_full)(void *ctx, bool full); /* when journal__full() changes; may be NULL */
	void *ctx;
};

/* Opens the journal (continuing chain and sequence) and starts the timers. NULL and errno. */
struct records *records__open(const struct records_opts *opts);
/* A last checkpoint, synced; then closed. Accepts NULL. */
void records__close(struct records *r);
/* Journals one decision; a refusal (journal full or failed) is counted and logged, never
 * silent. */
void records__add(struct records *r, const struct record *rec);
/* After a round of kernel events: what came in is written (it survives the agent's death). */
void records__flush(struct records *r);
/* Syncs, then calls fn for each entry from seq `from` on (journal__read). */
int records__read(struct records *r, uint64_t from, journal_fn fn, void *ctx);
/* Syncs, then journal__scan(): lines unparsed, resuming at *pos. */
int records__scan(struct records *r, uint64_t from, struct journal_pos *pos, journal_fn fn,
		  void *ctx);
void records__status(const struct records *r, struct journal_status *ret);
/* journal__full(): records are refused (full, or failed). */
bool records__full(const struct records *r);

#endif /* PEP_AGENT_RECORDS_H */
