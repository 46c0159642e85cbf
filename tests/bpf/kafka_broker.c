// SPDX-License-Identifier: Apache-2.0
/*
 * A Kafka broker for tests/bpf/kafka.t: librdkafka's mock cluster (the Kafka protocol on a
 * loopback port, no Java broker: Debian has none), and a consumer that writes what reaches
 * the topic to files.
 *
 *   kafka_broker TOPIC OUT_DIR
 *
 * Prints the bootstrap address on stdout, then appends every message's value (one line) to
 * OUT_DIR/values and its key to OUT_DIR/keys, in partition order, until SIGTERM. SIGUSR1 takes
 * the broker down (connections refused and cut), SIGUSR2 brings it back.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define BROKER_ID 1

static volatile sig_atomic_t stop, down, up;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		down = 1;
	else if (sig == SIGUSR2)
		up = 1;
	else
		stop = 1;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstrap)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256];
	rd_kafka_t *rk;

	if ((bootstrap && rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err,
					    sizeof(err)) != RD_KAFKA_CONF_OK) ||
	    (type == RD_KAFKA_CONSUMER && rd_kafka_conf_set(conf, "group.id", "pep-test", err,
							    sizeof(err)) != RD_KAFKA_CONF_OK) ||
	    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_broker: %s\n", err);
		exit(1);
	}
	rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "kafka_broker: %s\n", err);
		exit(1);
	}
	return rk;
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "a");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

/* Reads partition 0 from its start; the files are flushed after every message. */
static void consume(rd_kafka_t *consumer, rd_kafka_mock_cluster_t *cluster, FILE *values,
		    FILE *keys)
{
	while (!stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 100);

		if (down)
			rd_kafka_mock_broker_set_down(cluster, BROKER_ID);
		if (up)
			rd_kafka_mock_broker_set_up(cluster, BROKER_ID);
		down = up = 0;
		if (!m)
			continue;
		if (!m->err) {
			fprintf(values, "%.*s\n", (int)m->len, (const char *)m->payload);
			fprintf(keys, "%.*s\n", (int)m->key_len, (const char *)m->key);
			fflush(values);
			fflush(keys);
		}
		rd_kafka_message_destroy(m);
	}
}

int main(int argc, char **argv)
{
	rd_kafka_t *owner, *consumer;
	rd_kafka_mock_cluster_t *cluster;
	rd_kafka_topic_partition_list_t *parts;
	FILE *values, *keys;

	if (argc != 3) {
		fprintf(stderr, "usage: kafka_broker TOPIC OUT_DIR\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	values = open_out(argv[2], "values");
	keys = open_out(argv[2], "keys");
	owner = new_client(RD_KAFKA_PRODUCER, NULL);
	cluster = rd_kafka_mock_cluster_new(owner, 1);
	if (!cluster || rd_kafka_mock_topic_create(cluster, argv[1], 1, 1)) {
		fprintf(stderr, "kafka_broker: no mock cluster\n");
		return 1;
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
	fflush(stdout);
	consumer = new_client(RD_KAFKA_CONSUMER, rd_kafka_mock_cluster_bootstraps(cluster));
	parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, argv[1], 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(consumer, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	consume(consumer, cluster, values, keys);
	rd_kafka_consumer_close(consumer);
	rd_kafka_destroy(consumer);
	rd_kafka_mock_cluster_destroy(cluster);
	rd_kafka_destroy(owner);
	fclose(values);
	fclose(keys);
	return 0;
}
