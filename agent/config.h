/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's configuration: a file of `key = value` lines (docs/agent.conf.example), then
 * command-line flags over it. Safe defaults work out of the box.
 */
#ifndef PEP_AGENT_CONFIG_H
#define PEP_AGENT_CONFIG_H

#include <stddef.h>

struct agent_config {
	char *state_dir;    /* /var/lib/pep: contract store, node key, journal */
	char *bpffs_dir;    /* /sys/fs/bpf/pep: pinned programs, links and maps */
	char *admin_socket; /* /run/pep/admin.sock, root only */
	char *trust;	    /* /etc/pep/trust: CA file or directory for contract signatures */
	char *backend;	    /* auto, lsm or portable */
	char *cgroup;	    /* cgroup v2 directory guarded; "" = the cgroup2 mount (all) */
	char *listen;	    /* platform API (HTTPS, mutual TLS) ADDR:PORT; "" = off */
	char *tls_cert;	    /* the API's certificate chain (PEM) */
	char *tls_key;	    /* its private key */
	char *platform_ca;  /* CA file that platforms' client certificates must chain to */
	char *platform_ids; /* comma list: client certificate CNs served */
	char *platform_url; /* https://HOST:PORT of the platform this node reports to; "" = none */
	char *report_interval_ms; /* journal to the platform at least this often, decimal */
	char *report_batch; /* and whenever this many entries wait, decimal */
	char *max_body_bytes; /* largest request body, decimal */
	char *journal_max_bytes; /* bound of the behaviour records' journal, decimal */
	char *events_ring_bytes; /* the file guard's ring buffer of decisions, decimal */
	char *confine;	    /* yes: after start-up, drop capabilities and filter system calls */
	char *kafka_brokers; /* bootstrap servers of the Kafka sink; "" = off */
	char *kafka_topic;  /* its topic */
	char **binds;	    /* "PRODUCT TARGET..." lines, applied at start */
	size_t n_binds;
	char **kafka_properties; /* "NAME=VALUE" from kafka.NAME lines, for librdkafka */
	size_t n_kafka_properties;
};

/* Fills defaults, then reads `path` if given (a missing file is an error only when the path
 * was given explicitly). Returns 0 or -errno with the line and reason in err (size errlen). */
int config__load(struct agent_config *cfg, const char *path, char *err, size_t errlen);
/* Sets one key as a flag would ("state_dir", "/tmp/x"); returns 0 or -EINVAL. */
int config__set(struct agent_config *cfg, const char *key, const char *value);
void config__free(struct agent_config *cfg);

#endif /* PEP_AGENT_CONFIG_H */
