/* SPDX-License-Identifier: Apache-2.0 */
/* pepctl's commands: one file per group, dispatched by tools/pepctl.c. */
#ifndef PEP_PEPCTL_H
#define PEP_PEPCTL_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* Exit codes every command keeps: 0 done/valid, 1 refused/invalid, 2 usage or I/O error. */
enum { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

extern const char *pepctl_socket; /* --socket */
extern bool pepctl_json;	  /* --json */

int cmd_verify(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_bind(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_terminate(int argc, char **argv);
int cmd_records(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);

/* Prints the usage of one command to stderr; returns EXIT_USAGE. */
int pepctl_usage(const char *command);
/* Reads a whole file (or stdin for "-") into a NUL-terminated buffer; returns 0 or -errno. */
int read_file(const char *path, char **ret_buf, size_t *ret_len);

/* The admin socket: a request {"cmd": cmd}, the call (consumes the request; NULL when the
 * agent cannot be reached, said on stderr), and the exit code with the reply printed as
 * JSON (--json), by `print` (ok) or as errors. */
struct cJSON *pepctl_request(const char *cmd);
struct cJSON *pepctl_call(struct cJSON *request);
int pepctl_finish(struct cJSON *reply, void (*print)(const struct cJSON *reply));

#endif /* PEP_PEPCTL_H */
