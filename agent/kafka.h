/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A second sink for the journal, for fleets that already run Kafka (docs/journal.md,
 * "Kafka"): every journal entry becomes one message on a topic, the line exactly as stored
 * (seq, prev, and for checkpoints the signature) as value, the node key's public half (base64
 * of its DER) as key. One key per node puts a node's entries on one partition, in order, and
 * tells a consumer which key verifies the checkpoints. Off unless kafka_brokers is set.
 *
 * At least once, like the platform reports: a batch of entries from the delivered position
 * on is handed to librdkafka (an idempotent producer: its own retries neither reorder nor
 * duplicate), and counts as delivered once the broker acknowledged every message of it; the
 * position (state_dir/kafka.pos) is then saved. A batch that fails is sent again from the
 * position after a back-off; consumers drop what they hold by seq.
 */
#ifndef PEP_AGENT_KAFKA_H
#define PEP_AGENT_KAFKA_H

#include <stdint.h>

#include <openssl/types.h>

#define KAFKA_BACKOFF_MIN_MS 500
#define KAFKA_BACKOFF_MAX_MS 60000

struct event_base;
struct records;
struct kafka;

struct kafka_opts {
	struct event_base *base;
	struct records *records;
	const char *brokers;	/* kafka_brokers: bootstrap servers, HOST:PORT,... */
	const char *topic;	/* kafka_topic */
	char *const *properties; /* "name=value": the config's kafka.NAME lines, for librdkafka */
	size_t n_properties;
	const char *state_dir;	/* kafka.pos */
	EVP_PKEY *key;		/* the node key: its public half is every message's key */
	unsigned interval_ms;	/* report_interval_ms */
	unsigned batch;		/* report_batch: entries per batch */
};

/* Reads the delivered position, makes the producer and starts the timer. NULL and errno
 * (the reason logged). */
struct kafka *kafka__open(const struct kafka_opts *opts);
/* Waits a moment for the batch in flight, then stops; what is not acknowledged is sent
 * again by the next agent. Accepts NULL. */
void kafka__close(struct kafka *k);
/* After a round of records: sends now if a full batch waits. Accepts NULL. */
void kafka__kick(struct kafka *k);
/* The last seq the brokers acknowledged. */
uint64_t kafka__delivered(const struct kafka *k);

#endif /* PEP_AGENT_KAFKA_H */
