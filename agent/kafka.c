// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "agent/backoff.h"
#include "agent/kafka.h"
#include "agent/log.h"
#include "agent/nodekey.h"
#include "agent/position.h"
#include "agent/records.h"

#define KAFKA_CLOSE_WAIT_MS 2000 /* at kafka__close, for the batch in flight */
#define KAFKA_POLL_MS	    20	 /* while a batch is in flight: its delivery reports */

struct kafka {
	struct event_base *base;
	struct records *records;
	rd_kafka_t *rk;
	char *topic, *key, *pos_path;
	unsigned interval_ms, batch;
	struct event *timer;
	struct journal_pos pos;	 /* where the last batch read ended */
	uint64_t delivered;	 /* the last seq the brokers acknowledged (kafka.pos) */
	uint64_t sending;	 /* the last seq of the batch in flight */
	unsigned in_flight;	 /* messages of that batch not acknowledged yet */
	bool failed;		 /* one of them was not acknowledged */
	unsigned backoff_ms;
};

static void schedule(struct kafka *k, unsigned ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	evtimer_add(k->timer, &tv);
}

static bool full_batch_waits(struct kafka *k)
{
	struct journal_status st;

	records__status(k->records, &st);
	return st.next_seq - 1 - k->delivered >= k->batch;
}

/* The whole batch was answered: move the position on, or go back to it after a wait. */
static void batch_done(struct kafka *k)
{
	int err;

	if (k->failed) {
		k->failed = false;
		schedule(k, backoff_next(&k->backoff_ms, KAFKA_BACKOFF_MIN_MS,
					 KAFKA_BACKOFF_MAX_MS));
		return;
	}
	err = position__save(k->pos_path, k->sending);
	if (err < 0)
		log_errno(err, "%s: the delivered position is not saved (sent again later)",
			  k->pos_path);
	k->delivered = k->sending;
	k->backoff_ms = 0;
	schedule(k, full_batch_waits(k) ? 0 : k->interval_ms);
}

/* librdkafka's delivery report, one per message, called from rd_kafka_poll() below. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka *k = opaque;

	if (m->err && !k->failed) {
		log_warn("kafka: entry %" PRIu64 " not acknowledged: %s (the batch from %" PRIu64
			 " is sent again)", (uint64_t)(uintptr_t)m->_private, rd_kafka_err2str(m->err),
			 k->delivered + 1);
		k->failed = true;
	}
	if (--k->in_flight == 0)
		batch_done(k);
}

static int produce(const struct journal_entry *e, void *ctx)
{
	struct kafka *k = ctx;
	rd_kafka_resp_err_t err;

	err = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(k->topic),
				RD_KAFKA_V_KEY(k->key, strlen(k->key)),
				RD_KAFKA_V_VALUE((void *)e->line, e->len),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_OPAQUE((void *)(uintptr_t)e->seq), RD_KAFKA_V_END);
	if (err) {
		log_warn("kafka: entry %" PRIu64 " not queued: %s", e->seq, rd_kafka_err2str(err));
		k->failed = true;
		return 1;
	}
	k->in_flight++;
	k->sending = e->seq;
	return k->in_flight == k->batch;
}

/*
 * Polls for the batch in flight, else reads the next one. Polling on a timer, not on
 * librdkafka's queue wake-up fd: that fd is written once per period between two polls, and
 * a report queued while a poll runs could wait for the next report, which may never come.
 */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct kafka *k = arg;
	int err;

	if (k->in_flight) {
		rd_kafka_poll(k->rk, 0); /* on_delivery(); the batch's last one schedules */
		if (k->in_flight)
			schedule(k, KAFKA_POLL_MS);
		return;
	}
	k->sending = k->delivered;
	err = records__scan(k->records, k->delivered + 1, &k->pos, produce, k); /* unparsed */
	if (err < 0) {
		log_errno(err, "kafka: reading the journal");
		k->failed = true;
	}
	if (k->in_flight)
		schedule(k, KAFKA_POLL_MS);
	else if (k->failed)
		batch_done(k); /* nothing queued to wait for: back off now */
	else
		schedule(k, k->interval_ms);
}

/* ---- the producer ------------------------------------------------------------------------ */

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	if (level <= 3)
		log_error("kafka: %s: %s", fac, buf);
	else if (level <= 5)
		log_warn("kafka: %s: %s", fac, buf);
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
	       size_t errlen)
{
	return rd_kafka_conf_set(conf, name, value, err, errlen) == RD_KAFKA_CONF_OK ? 0 : -EINVAL;
}

/* "name=value", as config.c keeps a kafka.NAME line. */
static int set_property(rd_kafka_conf_t *conf, const char *property, char *err, size_t errlen)
{
	const char *eq = strchr(property, '=');
	char name[256];

	if (!eq || eq - property >= (long)sizeof(name)) {
		snprintf(err, errlen, "property %s: expected NAME=VALUE", property);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - property), property);
	return set(conf, name, eq + 1, err, errlen);
}

/* The fixed part first, then the site's kafka.* properties (TLS, SASL, ...) over it. */
static rd_kafka_conf_t *make_conf(struct kafka *k, const struct kafka_opts *o, char *err,
				  size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int r = set(conf, "bootstrap.servers", o->brokers, err, errlen);

	if (!r)
		r = set(conf, "enable.idempotence", "true", err, errlen);
	for (size_t i = 0; !r && i < o->n_properties; i++)
		r = set_property(conf, o->properties[i], err, errlen);
	if (r) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_log_cb(conf, on_log);
	return conf;
}

static int open_producer(struct kafka *k, const struct kafka_opts *o, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = make_conf(k, o, err, errlen);

	if (!conf)
		return -EINVAL;
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
	if (!k->rk) {
		rd_kafka_conf_destroy(conf);
		return -EINVAL;
	}
	return 0;
}

struct kafka *kafka__open(const struct kafka_opts *o)
{
	struct kafka *k = calloc(1, sizeof(*k));
	char err[512] = "out of memory";

	if (!k)
		return NULL;
	*k = (struct kafka){ .base = o->base, .records = o->records, .batch = o->batch,
			     .interval_ms = o->interval_ms };
	k->topic = strdup(o->topic);
	if (asprintf(&k->pos_path, "%s/kafka.pos", o->state_dir) < 0)
		k->pos_path = NULL;
	k->key = node_key__public_b64(o->key);
	k->timer = evtimer_new(o->base, on_timer, k);
	if (!k->topic || !k->pos_path || !k->key || !k->timer)
		goto fail;
	if (open_producer(k, o, err, sizeof(err)) < 0)
		goto fail;
	k->delivered = position__load(k->pos_path);
	log_info("kafka: journal entries to topic %s at %s: delivered up to seq %" PRIu64
		 ", every %u ms or %u entries", k->topic, o->brokers, k->delivered, k->interval_ms,
		 k->batch);
	schedule(k, 0);
	return k;
fail:
	log_error("kafka sink (%s): %s", o->brokers, err);
	kafka__close(k);
	errno = EINVAL;
	return NULL;
}

void kafka__close(struct kafka *k)
{
	if (!k)
		return;
	if (k->rk) {
		/* Acknowledgements served here move the position on; the rest is sent again. */
		rd_kafka_flush(k->rk, KAFKA_CLOSE_WAIT_MS);
		rd_kafka_destroy(k->rk);
	}
	if (k->timer)
		event_free(k->timer);
	free(k->topic);
	free(k->key);
	free(k->pos_path);
	free(k);
}

void kafka__kick(struct kafka *k)
{
	if (k && !k->in_flight && !k->backoff_ms && full_batch_waits(k))
		schedule(k, 0);
}

uint64_t kafka__delivered(const struct kafka *k)
{
	return k->delivered;
}
