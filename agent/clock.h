/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wall clock watched against the boot clock. The kernel's time rules run on the boot clock
 * (guards.c converts a contract's wall times once, at apply), so a wall clock set back changes
 * nothing there; what would change is anything derived from the wall clock afterwards (a
 * contract applied now would get extra time). Both clocks are read on a timer: a step where
 * the wall clock advanced less than the boot clock, by more than CLOCK_STEP_NS, is a set back;
 * it stays "set back" until the wall clock has been moved forward again by as much (slewing
 * by NTP is far below the step and is neither). Pure logic: the readings are fed in, so it is
 * tested without touching the machine's clock (tests/unit/test_clock.c).
 */
#ifndef PEP_AGENT_CLOCK_H
#define PEP_AGENT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_STEP_NS 100000000LL /* 100 ms in one tick: a step, not slewing (<= 0.5 ms/s) */

struct clock_watch {
	int64_t wall, boot; /* the previous readings, ns */
	int64_t behind;	    /* how far the wall clock is behind where it was, ns; 0 = not */
	bool started;
};

enum clock_change { CLOCK_SAME, CLOCK_SET_BACK, CLOCK_RESTORED };

/* The first reading, at start: a wall clock more than CLOCK_STEP_NS behind `latest_ns`, the
 * latest time the journal holds, was set back while no agent watched (or the node rebooted
 * with a clock behind): it is behind by that much, as if seen set back. CLOCK_SET_BACK then. */
enum clock_change clock_watch__start(struct clock_watch *w, int64_t latest_ns, int64_t wall_ns,
				     int64_t boot_ns);
/* One reading of CLOCK_REALTIME and CLOCK_BOOTTIME (ns); says when the state changed. */
enum clock_change clock_watch__feed(struct clock_watch *w, int64_t wall_ns, int64_t boot_ns);
/* The wall time to go by, in seconds: the wall clock plus what it was set back. */
int64_t clock_watch__now(const struct clock_watch *w, int64_t wall_ns);

#endif /* PEP_AGENT_CLOCK_H */
