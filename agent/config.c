// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"

static const struct {
	const char *key;
	size_t offset;
	const char *fallback;
} keys[] = {
	{ "state_dir", offsetof(struct agent_config, state_dir), "/var/lib/pep" },
	{ "bpffs_dir", offsetof(struct agent_config, bpffs_dir), "/sys/fs/bpf/pep" },
	{ "admin_socket", offsetof(struct agent_config, admin_socket), "/run/pep/admin.sock" },
	{ "trust", offsetof(struct agent_config, trust), "/etc/pep/trust" },
	{ "backend", offsetof(struct agent_config, backend), "auto" },
	{ "cgroup", offsetof(struct agent_config, cgroup), "" },
	{ "listen", offsetof(struct agent_config, listen), "" },
	{ "tls_cert", offsetof(struct agent_config, tls_cert), "/etc/pep/agent.crt" },
	{ "tls_key", offsetof(struct agent_config, tls_key), "/etc/pep/agent.key" },
	{ "platform_ca", offsetof(struct agent_config, platform_ca), "/etc/pep/platform-ca.crt" },
	{ "platform_ids", offsetof(struct agent_config, platform_ids), "" },
	{ "platform_url", offsetof(struct agent_config, platform_url), "" },
	{ "report_interval_ms", offsetof(struct agent_config, report_interval_ms), "5000" },
	{ "report_batch", offsetof(struct agent_config, report_batch), "1000" },
	{ "max_body_bytes", offsetof(struct agent_config, max_body_bytes), "4194304" },
	{ "journal_max_bytes", offsetof(struct agent_config, journal_max_bytes), "1073741824" },
	{ "events_ring_bytes", offsetof(struct agent_config, events_ring_bytes), "2097152" },
	{ "confine", offsetof(struct agent_config, confine), "yes" },
	{ "kafka_brokers", offsetof(struct agent_config, kafka_brokers), "" },
	{ "kafka_topic", offsetof(struct agent_config, kafka_topic), "pep-records" },
};

static char **field(struct agent_config *cfg, size_t i)
{
	return (char **)((char *)cfg + keys[i].offset);
}

/* Appends a copy of value to a list of lines (bind, kafka.NAME). */
static int add_line(char ***lines, size_t *n, const char *value)
{
	char **grown = realloc(*lines, (*n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	*lines = grown;
	grown[*n] = strdup(value);
	if (!grown[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* kafka.NAME = VALUE: handed to librdkafka as NAME=VALUE, which checks it at start. */
static int add_kafka_property(struct agent_config *cfg, const char *name, const char *value)
{
	char *property;
	int r;

	if (!*name || asprintf(&property, "%s=%s", name, value) < 0)
		return -EINVAL;
	r = add_line(&cfg->kafka_properties, &cfg->n_kafka_properties, property);
	free(property);
	return r;
}

/* A BPF ring buffer is a power of 2 pages; 1 GiB is far more than any load needs. */
static bool ring_size_ok(unsigned long long bytes)
{
	return bytes >= 4096 && bytes <= 1ull << 30 && !(bytes & (bytes - 1));
}

int config__set(struct agent_config *cfg, const char *key, const char *value)
{
	if (!strcmp(key, "bind"))
		return add_line(&cfg->binds, &cfg->n_binds, value);
	if (!strncmp(key, "kafka.", 6))
		return add_kafka_property(cfg, key + 6, value);
	if (!strcmp(key, "backend") && strcmp(value, "auto") && strcmp(value, "lsm") &&
	    strcmp(value, "portable"))
		return -EINVAL;
	if (!strcmp(key, "confine") && strcmp(value, "yes") && strcmp(value, "no"))
		return -EINVAL;
	if ((!strcmp(key, "max_body_bytes") || !strcmp(key, "journal_max_bytes") ||
	     !strcmp(key, "report_interval_ms") || !strcmp(key, "report_batch") ||
	     !strcmp(key, "events_ring_bytes")) &&
	    (!*value || value[strspn(value, "0123456789")] || strtoull(value, NULL, 10) == 0))
		return -EINVAL;
	if (!strcmp(key, "events_ring_bytes") && !ring_size_ok(strtoull(value, NULL, 10)))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *copy;

		if (strcmp(key, keys[i].key))
			continue;
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
		free(*field(cfg, i));
		*field(cfg, i) = copy;
		return 0;
	}
	return -EINVAL;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_line(struct agent_config *cfg, char *line)
{
	char *eq, *key;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return -EINVAL;
	*eq = '\0';
	key = trim(line);
	return config__set(cfg, key, trim(eq + 1));
}

static int read_file(struct agent_config *cfg, FILE *f, char *err, size_t errlen)
{
	char line[4096];
	int lineno = 0, r;

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		r = parse_line(cfg, line);
		if (r < 0) {
			snprintf(err, errlen, "line %d: %s", lineno,
				 r == -EINVAL ? "expected `key = value` with a known key "
						"(state_dir, bpffs_dir, admin_socket, trust, "
						"backend auto|lsm|portable, cgroup, bind, listen, "
						"tls_cert, tls_key, platform_ca, platform_ids, "
						"platform_url, report_interval_ms N, "
						"report_batch N, "
						"max_body_bytes N, journal_max_bytes N, "
						"events_ring_bytes 2^N, "
						"confine yes|no, kafka_brokers, "
						"kafka_topic, kafka.PROPERTY)" :
						strerror(-r));
			return r;
		}
	}
	return 0;
}

int config__load(struct agent_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int r;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		r = config__set(cfg, keys[i].key, keys[i].fallback);
		if (r < 0)
			return r;
	}
	if (!path)
		return 0;
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	r = read_file(cfg, f, err, errlen);
	fclose(f);
	return r;
}

void config__free(struct agent_config *cfg)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		free(*field(cfg, i));
	for (size_t i = 0; i < cfg->n_binds; i++)
		free(cfg->binds[i]);
	free(cfg->binds);
	for (size_t i = 0; i < cfg->n_kafka_properties; i++)
		free(cfg->kafka_properties[i]);
	free(cfg->kafka_properties);
}
