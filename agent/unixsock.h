/* SPDX-License-Identifier: Apache-2.0 */
/* Root-only unix stream sockets: the admin socket and the workload socket. */
#ifndef PEP_AGENT_UNIXSOCK_H
#define PEP_AGENT_UNIXSOCK_H

#include <stdbool.h>

/* Listens on `path` (a stale socket there is replaced), mode 0600, non-blocking; returns
 * the fd or -errno. Callers also check each peer with unix_peer_is_root(). */
int unix_listen_root(const char *path);
/* Whether the peer of a connected unix socket runs as uid 0 (SO_PEERCRED). */
bool unix_peer_is_root(int fd);

#endif /* PEP_AGENT_UNIXSOCK_H */
