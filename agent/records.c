// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent/log.h"
#include "agent/records.h"

struct records {
	struct journal *journal;
	char *dir;
	struct event *sync, *tick;
	unsigned ticks;
	enum journal_state logged; /* the state last logged */
	uint64_t (*kernel_lost)(void *ctx);
	void (*on_full)(void *ctx, bool full);
	bool full; /* journal__full() as last told */
	void *ctx;
};

static const struct timeval sync_delay = { 0, RECORDS_SYNC_MS * 1000 };
static const struct timeval tick_interval = { RECORDS_TICK_MS / 1000, RECORDS_TICK_MS % 1000 * 1000 };

/* Logs a change of the journal's state, once; tells when journal__full() changes. */
static void note_state(struct records *r)
{
	struct journal_status st;

	if (journal__full(r->journal) != r->full) {
		r->full = !r->full;
		if (r->on_full)
			r->on_full(r->ctx, r->full);
	}
	journal__status(r->journal, &st);
	if (st.state == r->logged)
		return;
	r->logged = st.state;
	if (st.state == JOURNAL_NEAR_FULL)
		log_warn("journal %s: %llu of %llu bytes used (90%% of journal_max_bytes)", r->dir,
			 (unsigned long long)st.bytes, (unsigned long long)st.max_bytes);
	else if (st.state == JOURNAL_FULL)
		log_error("journal full: %s holds %llu of %llu bytes; records are no longer "
			  "written, only counted (%llu so far)",
			  r->dir, (unsigned long long)st.bytes, (unsigned long long)st.max_bytes,
			  (unsigned long long)st.unrecorded);
	else if (st.state == JOURNAL_FAILED)
		log_errno(st.error, "journal %s failed: records are no longer written", r->dir);
	else
		log_info("journal %s: records are written again", r->dir);
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct records *r = arg;

	(void)journal__sync_later(r->journal); /* a failure is the journal's state */
	note_state(r);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct records *r = arg;

	(void)journal__lost(r->journal, r->kernel_lost(r->ctx));
	if (++r->ticks % (RECORDS_CHECKPOINT_MS / RECORDS_TICK_MS) == 0)
		(void)journal__checkpoint(r->journal);
	on_sync(fd, what, arg);
}

struct records *records__open(const struct records_opts *opts)
{
	struct journal_opts jo = { .dir = opts->dir, .max_bytes = opts->max_bytes, .key = opts->key };
	struct records *r = calloc(1, sizeof(*r));
	struct journal_status st;

	if (!r)
		return NULL;
	r->kernel_lost = opts->kernel_lost;
	r->on_full = opts->on_full;
	r->ctx = opts->ctx;
	r->dir = strdup(opts->dir);
	r->journal = journal__open(&jo);
	if (!r->journal) {
		log_errno(-errno, "journal %s", opts->dir);
		goto fail;
	}
	r->sync = evtimer_new(opts->base, on_sync, r);
	r->tick = event_new(opts->base, -1, EV_PERSIST, on_tick, r);
	if (!r->dir || !r->sync || !r->tick || event_add(r->tick, &tick_interval) < 0)
		goto fail;
	journal__status(r->journal, &st);
	if (st.torn_bytes)
		log_warn("journal %s: %llu bytes of a torn tail cut off (kept in *.torn)", r->dir,
			 (unsigned long long)st.torn_bytes);
	log_info("journal %s: continues at seq %llu", r->dir, (unsigned long long)st.next_seq);
	r->full = journal__full(r->journal); /* the start is told by records__full() */
	note_state(r);
	return r;
fail:
	records__close(r);
	errno = errno ? errno : ENOMEM;
	return NULL;
}

void records__close(struct records *r)
{
	if (!r)
		return;
	if (r->journal && journal__checkpoint(r->journal) < 0)
		log_warn("journal %s: no checkpoint at shutdown", r->dir);
	journal__close(r->journal);
	if (r->sync)
		event_free(r->sync);
	if (r->tick)
		event_free(r->tick);
	free(r->dir);
	free(r);
}

void records__add(struct records *r, const struct record *rec)
{
	if (journal__append(r->journal, rec) < 0)
		note_state(r);
	else if (!evtimer_pending(r->sync, NULL))
		evtimer_add(r->sync, &sync_delay);
}

void records__flush(struct records *r)
{
	(void)journal__flush(r->journal); /* a failure is the journal's state */
	note_state(r);
}

int records__read(struct records *r, uint64_t from, journal_fn fn, void *ctx)
{
	(void)journal__sync(r->journal);
	return journal__read(r->dir, from, fn, ctx);
}

int records__scan(struct records *r, uint64_t from, struct journal_pos *pos, journal_fn fn,
		  void *ctx)
{
	(void)journal__sync(r->journal);
	return journal__scan(r->dir, from, pos, fn, ctx);
}

bool records__full(const struct records *r)
{
	return r->full;
}

void records__status(const struct records *r, struct journal_status *ret)
{
	journal__status(r->journal, ret);
}
