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
struct cJSON;

/* Loads the client when platform_url is set; 0 (also when it is not), or -errno, logged. */
int platform__open(struct agent *a);
void platform__close(struct agent *a);
/* The node's id (its TLS certificate's CN), or NULL without a platform. */
const char *platform__node_id(const struct agent *a);
/* Signs doc with the node's TLS key (signed_doc__sign) and POSTs it to platform_url + path;
 * the outcome is logged when the platform answers (`what` names the document). 0 when it
 * was sent, -ENOTCONN without a platform, or -errno, logged. */
int platform__send(struct agent *a, const char *path, struct cJSON *doc, const char *what);

#endif /* PEP_AGENT_PLATFORM_H */
