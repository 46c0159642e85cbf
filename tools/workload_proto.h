/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workload socket: how `pepctl run` hands a workload's seccomp notification fd to the
 * agent (agent/workload.c). Shared by both sides; it lives in tools/ because pepctl may
 * include nothing of agent/. The admin socket cannot carry the fd (its JSON lines go through
 * a libevent bufferevent, which drops ancillary data), hence a second socket.
 *
 * Path: the admin socket's path + WORKLOAD_SOCKET_SUFFIX ("/run/pep/admin.sock.workload").
 * A unix stream socket, mode 0600, root only (SO_PEERCRED), one request per connection:
 *
 *   request  one sendmsg(): the JSON line {"contract": "ID", "pid": N} and, as SCM_RIGHTS,
 *            exactly one fd: the notification fd of the filter process N has loaded.
 *            N must be the sender (SO_PEERCRED's pid).
 *   reply    one JSON line: {"ok": true, "cgroup": "PATH"}, N is in that cgroup and supervised,
 *            or {"ok": false, "error": "why"}. Then the agent closes the connection.
 *
 * The sender must not make a supervised call (open...) before the reply: nobody would answer
 * it yet. After the reply it closes its copy of the notification fd and execs.
 */
#ifndef PEP_WORKLOAD_PROTO_H
#define PEP_WORKLOAD_PROTO_H

#define WORKLOAD_SOCKET_SUFFIX ".workload"
#define WORKLOAD_MSG_MAX       4096 /* a request or reply line, newline included */

#endif /* PEP_WORKLOAD_PROTO_H */
