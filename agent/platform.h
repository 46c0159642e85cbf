/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform this node reports to (config platform_url): a mutual-TLS client with the node's
 * TLS certificate and key (tls_cert, tls_key; the platform's certificate must chain to
 * platform_ca), and documents signed with that key, whose certificate's CN is the node's id.
 * Loaded at start, before the agent confines itself: the key is not read again.
 */
#ifndef PEP_AGENT_PLATFORM_H
#define PEP_AGENT_PLATFORM_H

struct agent;

/* Loads the client when platform_url is set; 0 (also when it is not), or -errno, logged. */
int platform__open(struct agent *a);
void platform__close(struct agent *a);
/* The node's id (its TLS certificate's CN), or NULL without a platform. */
const char *platform__node_id(const struct agent *a);
/* Expiry notices (POST /contractTerminate, Annex B.7) are durable: expiry.c queues the
 * contract in the store (store__queue_outgoing) before it terminates it, then kicks; the
 * notice is built (agent_expiry_notice) and signed with the node's TLS key once, kept in the
 * store, and sent one at a time until the platform answers status "0"; failures back off,
 * 0.5 s doubling to 60 s, with jitter. A restart continues with what the store holds. */
#define PLATFORM_BACKOFF_MIN_MS 500
#define PLATFORM_BACKOFF_MAX_MS 60000
void platform__kick(struct agent *a);

#endif /* PEP_AGENT_PLATFORM_H */
