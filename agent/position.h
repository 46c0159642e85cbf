/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sink's delivered position in the journal (report.pos, kafka.pos): the last seq the far
 * side confirmed, one decimal line. Kept so that a crash leaves the old or the new value,
 * never a torn one: a restarted agent sends again from there (at least once).
 */
#ifndef PEP_AGENT_POSITION_H
#define PEP_AGENT_POSITION_H

#include <stdint.h>

/* The seq in path; 0 when the file is missing or unreadable (everything is sent again). */
uint64_t position__load(const char *path);
/* Written aside, synced, renamed, the directory synced. 0 or -errno. */
int position__save(const char *path, uint64_t seq);

#endif /* PEP_AGENT_POSITION_H */
