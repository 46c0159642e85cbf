/* SPDX-License-Identifier: Apache-2.0 */
/* pepctl's commands: one file each, dispatched by tools/pepctl.c. */
#ifndef PEP_PEPCTL_H
#define PEP_PEPCTL_H

/* Exit codes every command keeps: 0 done/valid, 1 refused/invalid, 2 usage or I/O error. */
enum { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

int cmd_verify(int argc, char **argv);

/* Reads a whole file (or stdin for "-") into a NUL-terminated buffer; returns 0 or -errno. */
int read_file(const char *path, char **ret_buf, size_t *ret_len);

#endif /* PEP_PEPCTL_H */
