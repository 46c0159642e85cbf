// SPDX-License-Identifier: Apache-2.0
#include "agent/clock.h"

enum clock_change clock_watch__feed(struct clock_watch *w, int64_t wall_ns, int64_t boot_ns)
{
	int64_t step = (wall_ns - w->wall) - (boot_ns - w->boot);
	bool was_behind = w->behind > 0;

	if (!w->started) {
		w->started = true;
		step = 0;
	}
	w->wall = wall_ns;
	w->boot = boot_ns;
	if (step < -CLOCK_STEP_NS)
		w->behind -= step;
	else if (step > 0 && w->behind > 0) /* forward again: what was set back is made good */
		w->behind = step >= w->behind ? 0 : w->behind - step;
	if (!was_behind && w->behind > 0)
		return CLOCK_SET_BACK;
	return was_behind && !w->behind ? CLOCK_RESTORED : CLOCK_SAME;
}

int64_t clock_watch__now(const struct clock_watch *w, int64_t wall_ns)
{
	return (wall_ns + w->behind) / 1000000000LL;
}

enum clock_change clock_watch__start(struct clock_watch *w, int64_t latest_ns, int64_t wall_ns,
				     int64_t boot_ns)
{
	clock_watch__feed(w, wall_ns, boot_ns);
	if (latest_ns - wall_ns <= CLOCK_STEP_NS)
		return CLOCK_SAME;
	w->behind = latest_ns - wall_ns;
	return CLOCK_SET_BACK;
}
