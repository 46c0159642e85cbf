/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery of the journal to the platform (docs/journal.md, "Delivery"): POST
 * /contractExecution with Annex B.6 bodies, at least once, in order.
 *
 * The journal is read in batches of contiguous entries from the delivered position on. A
 * batch goes out as one report per contract with records in it; each carries, for every seq
 * of the batch, the stored line (its contract's records and the entries of no contract:
 * lost, journal, checkpoint) or the hash of the line (another contract's record), so that
 * the platform checks the whole chain from any one report. The batch counts as delivered
 * once every report of it was answered status "0". The position (state_dir/report.pos) is
 * then written and fsync'd, at most once a second while batches follow each other (a
 * restarted agent sends the rest again; the platform drops it). Failures back off, 0.5 s
 * doubling to 60 s, with jitter.
 */
#ifndef PEP_AGENT_REPORT_H
#define PEP_AGENT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "https/https.h"

#define REPORT_BACKOFF_MIN_MS 500
#define REPORT_BACKOFF_MAX_MS 60000

struct event_base;
struct records;
struct report;

struct report_opts {
	struct event_base *base;
	struct records *records;
	const char *url;	/* the platform's base URL, https://HOST:PORT */
	struct tls_files tls;	/* our certificate and key; the CA of the platform's */
	const char *state_dir;	/* report.pos */
	EVP_PKEY *key;		/* the node key: its public half goes with every report */
	unsigned interval_ms;	/* report_interval_ms */
	unsigned batch;		/* report_batch: entries per batch */
	/* The contracts enforced now (NULL holes allowed): a batch without records of any
	 * contract goes to them; with none enforced, it waits in the journal. */
	char *const *contracts;
	size_t n_contracts;
};

/* Reads the delivered position and starts the timer. NULL and errno (the reason logged). */
struct report *report__open(const struct report_opts *opts);
/* Stops; a batch in flight is sent again by the next agent. Accepts NULL. */
void report__close(struct report *r);
/* After a round of records: sends now if a full batch waits. */
void report__kick(struct report *r);
/* An alert obligation (a refusal, an exhausted count, the clock set back, the journal near
 * its bound): sends now, or as soon as the batch in flight is confirmed; while the platform
 * is being waited for, with the next retry. */
void report__alert(struct report *r);

/* The last seq the platform confirmed. */
uint64_t report__delivered(const struct report *r);

#endif /* PEP_AGENT_REPORT_H */
