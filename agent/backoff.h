/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retries to the platform (the journal's reports, expiry notices): the delay doubles after
 * each failure, from min to max; what is waited is half of it to all of it, at random, so
 * that nodes that lost the platform together do not all come back at the same instant.
 */
#ifndef PEP_AGENT_BACKOFF_H
#define PEP_AGENT_BACKOFF_H

/* *ms: the delay so far (0 after a success); doubled within [min, max]. Returns the ms to
 * wait, with the jitter. */
unsigned backoff_next(unsigned *ms, unsigned min, unsigned max);

#endif /* PEP_AGENT_BACKOFF_H */
