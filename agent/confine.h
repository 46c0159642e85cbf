/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Self-confinement, once start-up is done (BPF loaded, pins made, sockets bound, the platform
 * key read): the agent keeps only the capabilities it still uses and installs a seccomp
 * allow-list of the system calls it makes. Config `confine = yes|no` (yes by default).
 */
#ifndef PEP_AGENT_CONFINE_H
#define PEP_AGENT_CONFINE_H

struct agent;

/* Drops, then filters; 0 or -errno, logged. Call before any other thread exists: both
 * capabilities and the filter are taken by the threads made afterwards. */
int agent_confine(struct agent *a);

#endif /* PEP_AGENT_CONFINE_H */
