/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's log: one line per event on stderr, with a level. Log once, where it is decided. */
#ifndef PEP_AGENT_LOG_H
#define PEP_AGENT_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs "message: strerror(-err)" and returns err (a negative errno), for `return log_errno(..)`. */
int log_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Routes libbpf's messages into this log (warnings as warnings, the rest at debug level). */
void log_route_libbpf(void);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* PEP_AGENT_LOG_H */
