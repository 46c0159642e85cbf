/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin socket: a unix stream socket, mode 0600, that serves only root (checked with
 * SO_PEERCRED). One JSON object per line each way: {"cmd": "status", ...} ->
 * {"ok": true, ...} or {"ok": false, "error": "...", "errors": [...]}.
 */
#ifndef PEP_AGENT_ADMIN_H
#define PEP_AGENT_ADMIN_H

struct event_base;
struct cJSON;
struct admin;

/* Answers one request; returns the reply (owned by the caller) or NULL on allocation failure. */
typedef struct cJSON *(*admin_handler)(const struct cJSON *request, void *ctx);

struct admin *admin__open(struct event_base *base, const char *path, admin_handler handler,
			  void *ctx);
/* Stops listening and removes the socket file. Accepts NULL. */
void admin__close(struct admin *a);

/* Helpers for handlers: a failure reply, and a success reply to add members to. */
struct cJSON *admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct cJSON *admin_ok(void);

#endif /* PEP_AGENT_ADMIN_H */
