// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "agent/backoff.h"
#include "agent/log.h"
#include "agent/nodekey.h"
#include "agent/position.h"
#include "agent/records.h"
#include "agent/report.h"

struct report {
	struct event_base *base;
	struct records *records;
	SSL_CTX *ssl;
	char *url, *pos_path, *node_key; /* node_key: base64 of the public key's DER */
	unsigned interval_ms, batch;
	char *const *contracts;
	size_t n_contracts;
	struct event *timer;
	uint64_t delivered; /* the last seq the platform confirmed */
	uint64_t saved;	    /* the last seq written to report.pos */
	time_t saved_at;
	uint64_t sending;   /* the last seq of the batch in flight */
	unsigned in_flight; /* reports of that batch not answered yet */
	bool failed;	    /* one of them was not confirmed */
	bool alert;	    /* an alert came in while a batch was in flight */
	unsigned backoff_ms;
	char *checkpoint;   /* the latest checkpoint line read */
	enum journal_state state;
	struct journal_pos pos; /* where the last batch read ended */
};

struct item {
	uint64_t seq;
	char *line;
	char contract[48]; /* "" for entries of no contract */
};

struct batch {
	struct report *r;
	struct item *v;
	size_t n;
};

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* ---- bodies ------------------------------------------------------------------------------ */

/* Room for n more bytes and a NUL; false when out of memory. */
static bool reserve(struct buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = b->oom ? NULL : realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	return true;
}

static void put(struct buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A JSON string. Journal lines hold printable ASCII only: '"' and '\' need escaping. */
static void put_string(struct buf *b, const char *s)
{
	char *p;

	if (!reserve(b, 2 * strlen(s) + 2))
		return;
	p = b->p + b->len;
	*p++ = '"';
	for (; *s; *p++ = *s++)
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
	*p++ = '"';
	*p = '\0';
	b->len = (size_t)(p - b->p);
}

/* The hash of another contract's record instead of its line: hashed here, only for the
 * reports that need it (the reader does not hash). */
static void put_hash(struct buf *b, const char *line)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char h[JOURNAL_HASH_LEN];
	char hex[2 * JOURNAL_HASH_LEN + 2];

	if (journal__hash(line, strlen(line), h)) {
		b->oom = true;
		return;
	}
	hex[0] = '"';
	for (int i = 0; i < JOURNAL_HASH_LEN; i++) {
		hex[1 + 2 * i] = digits[h[i] >> 4];
		hex[2 + 2 * i] = digits[h[i] & 15];
	}
	hex[sizeof(hex) - 1] = '"';
	put(b, hex, sizeof(hex));
}

/* The Annex B.6 report of one contract over the batch (docs/journal.md, "Delivery"). */
static void build(struct buf *b, const struct report *r, const struct batch *bt, const char *id)
{
	char head[320], when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	puts_(b, "{\"contractName\":");
	put_string(b, id);
	puts_(b, ",\"contractId\":");
	put_string(b, id);
	snprintf(head, sizeof(head),
		 ",\"strategy\":\"behaviour records\",\"reportTime\":\"%s\",\"executedStrategy\":"
		 "{\"executedStrategyId\":\"records\",\"executedActions\":[\"record\"],"
		 "\"executionResult\":\"01\",\"executionDetails\":{\"from\":%" PRIu64
		 ",\"to\":%" PRIu64 ",\"nodeKey\":",
		 when, bt->v[0].seq, bt->v[bt->n - 1].seq);
	puts_(b, head);
	put_string(b, r->node_key);
	puts_(b, ",\"checkpoint\":");
	if (r->checkpoint)
		put_string(b, r->checkpoint);
	else
		puts_(b, "null");
	puts_(b, ",\"chain\":[");
	for (size_t i = 0; i < bt->n; i++) {
		const struct item *it = &bt->v[i];

		if (i)
			put(b, ",", 1);
		if (!*it->contract || !strcmp(it->contract, id))
			put_string(b, it->line);
		else
			put_hash(b, it->line);
	}
	puts_(b, "]}}}");
}

/* ---- sending ----------------------------------------------------------------------------- */

static void schedule(struct report *r, unsigned ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	evtimer_add(r->timer, &tv);
}

static void back_off(struct report *r)
{
	schedule(r, backoff_next(&r->backoff_ms, REPORT_BACKOFF_MIN_MS, REPORT_BACKOFF_MAX_MS));
}

static bool full_batch_waits(struct report *r)
{
	struct journal_status st;

	records__status(r->records, &st);
	return st.next_seq - 1 - r->delivered >= r->batch;
}

static bool confirmed(const struct report *r, const struct https_reply *reply)
{
	cJSON *doc = reply->status == 200 && reply->body ? cJSON_Parse(reply->body) : NULL;
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "status"));
	bool ok = status && !strcmp(status, "0");

	if (!ok)
		log_warn("report of seq %" PRIu64 "..%" PRIu64 " to %s not confirmed: %s",
			 r->delivered + 1, r->sending, r->url,
			 reply->error ? reply->error : reply->body ? reply->body : "no answer");
	cJSON_Delete(doc);
	return ok;
}

/* The position only spares a restarted agent sending again what the platform holds (and
 * drops): while batches follow each other, it is written once a second, not after each. */
static void save_delivered(struct report *r, bool now)
{
	int err;

	if (r->saved == r->delivered || (!now && time(NULL) - r->saved_at < 1))
		return;
	err = position__save(r->pos_path, r->delivered);
	if (err < 0)
		log_errno(err, "%s: the delivered position is not saved (sent again later)",
			  r->pos_path);
	else
		r->saved = r->delivered;
	r->saved_at = time(NULL);
}

static void on_done(const struct https_reply *reply, void *arg)
{
	struct report *r = arg;
	bool more;

	if (!confirmed(r, reply))
		r->failed = true;
	if (--r->in_flight)
		return;
	if (r->failed) {
		back_off(r);
		return;
	}
	r->delivered = r->sending;
	r->backoff_ms = 0;
	more = r->alert || full_batch_waits(r);
	save_delivered(r, !more);
	schedule(r, more ? 0 : r->interval_ms);
	r->alert = false;
}

static int collect(const struct journal_entry *e, void *ctx)
{
	struct batch *bt = ctx;
	struct item *it = &bt->v[bt->n];

	it->seq = e->seq;
	it->line = strndup(e->line, e->len);
	if (!it->line)
		return -ENOMEM;
	if (e->type == JOURNAL_RECORD)
		snprintf(it->contract, sizeof(it->contract), "%s", e->rec.contract);
	if (e->type == JOURNAL_CHECKPOINT) {
		free(bt->r->checkpoint);
		bt->r->checkpoint = strndup(e->line, e->len);
	}
	return ++bt->n == bt->r->batch;
}

static void free_batch(struct batch *bt)
{
	for (size_t i = 0; i < bt->n; i++)
		free(bt->v[i].line);
	free(bt->v);
}

/* Posts one report to the contract id unless it got one already (ids[0..n)). */
static void post_once(struct report *r, const struct batch *bt, const char **ids, size_t *n,
		      const char *id)
{
	struct buf b = { 0 };
	char url[2048];

	for (size_t i = 0; i < *n; i++)
		if (!strcmp(ids[i], id))
			return;
	ids[(*n)++] = id;
	build(&b, r, bt, id);
	snprintf(url, sizeof(url), "%s/contractExecution", r->url);
	if (!b.oom && !https_post(r->base, r->ssl, url, b.p, b.len, on_done, r))
		r->in_flight++;
	else
		r->failed = true;
	free(b.p);
}

static void send_batch(struct report *r)
{
	struct batch bt = { .r = r, .v = calloc(r->batch, sizeof(*bt.v)) };
	const char **ids = calloc(r->batch + r->n_contracts, sizeof(*ids));
	size_t n = 0;
	int err;

	r->failed = !bt.v || !ids;
	err = r->failed ? -ENOMEM : records__scan(r->records, r->delivered + 1, &r->pos, collect,
							   &bt);
	if (err < 0) {
		log_errno(err, "reading the journal for the platform");
		r->failed = true;
	}
	for (size_t i = 0; !r->failed && i < bt.n; i++)
		if (*bt.v[i].contract)
			post_once(r, &bt, ids, &n, bt.v[i].contract);
	for (size_t i = 0; !r->failed && !n && bt.n && i < r->n_contracts; i++)
		if (r->contracts[i])
			post_once(r, &bt, ids, &n, r->contracts[i]);
	if (bt.n)
		r->sending = bt.v[bt.n - 1].seq;
	if (r->failed && !r->in_flight)
		back_off(r);
	else if (!r->in_flight)
		schedule(r, r->interval_ms); /* nothing new, or no contract to report to yet */
	free(ids);
	free_batch(&bt);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct report *r = arg;

	if (!r->in_flight)
		send_batch(r);
}

/* ---- the agent's side -------------------------------------------------------------------- */

struct report *report__open(const struct report_opts *o)
{
	struct report *r = calloc(1, sizeof(*r));
	char err[512] = "out of memory";

	if (!r)
		return NULL;
	*r = (struct report){ .base = o->base, .records = o->records, .batch = o->batch,
			      .interval_ms = o->interval_ms, .contracts = o->contracts,
			      .n_contracts = o->n_contracts };
	r->url = strdup(o->url);
	if (asprintf(&r->pos_path, "%s/report.pos", o->state_dir) < 0)
		r->pos_path = NULL;
	r->node_key = node_key__public_b64(o->key);
	r->timer = evtimer_new(o->base, on_timer, r);
	if (!r->url || !r->pos_path || !r->node_key || !r->timer)
		goto fail;
	r->ssl = https_client_ctx(&o->tls, err, sizeof(err));
	if (!r->ssl)
		goto fail;
	r->delivered = r->saved = position__load(r->pos_path);
	log_info("reports to %s/contractExecution: delivered up to seq %" PRIu64
		 ", every %u ms or %u entries", r->url, r->delivered, r->interval_ms, r->batch);
	schedule(r, 0);
	return r;
fail:
	log_error("reports to %s: %s", o->url, err);
	report__close(r);
	errno = EINVAL;
	return NULL;
}

void report__close(struct report *r)
{
	if (!r)
		return;
	if (r->pos_path)
		save_delivered(r, true);
	if (r->timer)
		event_free(r->timer);
	SSL_CTX_free(r->ssl);
	free(r->url);
	free(r->pos_path);
	free(r->node_key);
	free(r->checkpoint);
	free(r);
}

void report__alert(struct report *r)
{
	if (!r || r->backoff_ms)
		return; /* the retry takes it */
	if (r->in_flight)
		r->alert = true; /* sent once this batch is confirmed */
	else
		schedule(r, 0);
}

void report__kick(struct report *r)
{
	struct journal_status st;

	if (!r)
		return;
	records__status(r->records, &st);
	if (st.state != r->state && (st.state == JOURNAL_NEAR_FULL || st.state == JOURNAL_FULL))
		report__alert(r);
	r->state = st.state;
	if (!r->in_flight && !r->backoff_ms && full_batch_waits(r))
		schedule(r, 0);
}

uint64_t report__delivered(const struct report *r)
{
	return r->delivered;
}
