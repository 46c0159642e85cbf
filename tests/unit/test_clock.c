// SPDX-License-Identifier: Apache-2.0
/*
 * The clock watch (agent/clock.c) with injected readings: this machine's clock cannot be set
 * back safely in a test, so the detection is tested on its own and the agent's reaction (an
 * alert, a journal record, applies refused) is read in agent/main.c and agent/contracts.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agent/clock.h"

#define S 1000000000LL
#define WALL0 (1790000000LL * S) /* a wall time in 2026 */

/* Ticks one second of boot time with the wall clock moved by wall_step ns in that second. */
static enum clock_change tick(struct clock_watch *w, int64_t *wall, int64_t *boot,
			      int64_t wall_step)
{
	*boot += S;
	*wall += wall_step;
	return clock_watch__feed(w, *wall, *boot);
}

static void test_steady_and_slewing(void **state)
{
	struct clock_watch w = { 0 };
	int64_t wall = WALL0, boot = 5 * S;

	assert_int_equal(clock_watch__feed(&w, wall, boot), CLOCK_SAME);
	for (int i = 0; i < 100; i++) /* NTP slews at most 0.5 ms/s, either way */
		assert_int_equal(tick(&w, &wall, &boot, S + (i % 2 ? 500000 : -500000)), CLOCK_SAME);
	assert_int_equal(tick(&w, &wall, &boot, S + 3600 * S), CLOCK_SAME); /* forward: not back */
	assert_int_equal(clock_watch__now(&w, wall), wall / S);
}

static void test_set_back_then_forward(void **state)
{
	struct clock_watch w = { 0 };
	int64_t wall = WALL0, boot = 5 * S;

	clock_watch__feed(&w, wall, boot);
	assert_int_equal(tick(&w, &wall, &boot, S - 3600 * S), CLOCK_SET_BACK);
	assert_int_equal(w.behind, 3600 * S);
	/* the time to go by is where the clock would be: nothing re-derived from the new wall */
	assert_int_equal(clock_watch__now(&w, wall), WALL0 / S + 1);
	assert_int_equal(tick(&w, &wall, &boot, S), CLOCK_SAME);
	assert_int_equal(tick(&w, &wall, &boot, S - 10 * S), CLOCK_SAME); /* further back */
	assert_int_equal(w.behind, 3610 * S);
	assert_int_equal(tick(&w, &wall, &boot, S + 3000 * S), CLOCK_SAME); /* not enough */
	assert_int_equal(w.behind, 610 * S);
	assert_int_equal(tick(&w, &wall, &boot, S + 700 * S), CLOCK_RESTORED);
	assert_int_equal(w.behind, 0);
	assert_int_equal(clock_watch__now(&w, wall), wall / S);
}

static void test_small_step_back_is_not_a_set_back(void **state)
{
	struct clock_watch w = { 0 };
	int64_t wall = WALL0, boot = 5 * S;

	clock_watch__feed(&w, wall, boot);
	assert_int_equal(tick(&w, &wall, &boot, S - CLOCK_STEP_NS), CLOCK_SAME);
	assert_int_equal(tick(&w, &wall, &boot, S - CLOCK_STEP_NS - 1), CLOCK_SET_BACK);
}

static void test_set_back_while_stopped(void **state)
{
	struct clock_watch w = { 0 };
	int64_t wall = WALL0, boot = 5 * S;

	/* the journal's latest entry is an hour after the clock at start */
	assert_int_equal(clock_watch__start(&w, WALL0 + 3600 * S, wall, boot), CLOCK_SET_BACK);
	assert_int_equal(w.behind, 3600 * S);
	assert_int_equal(clock_watch__now(&w, wall), WALL0 / S + 3600);
	assert_int_equal(tick(&w, &wall, &boot, S), CLOCK_SAME);
	assert_int_equal(tick(&w, &wall, &boot, S + 3600 * S), CLOCK_RESTORED);
}

static void test_start_after_the_journal(void **state)
{
	struct clock_watch w = { 0 };
	int64_t wall = WALL0, boot = 5 * S;

	/* a journal from the past, or at most one step ahead (its entries' times are rounded
	 * conversions of the boot clock): nothing set back */
	assert_int_equal(clock_watch__start(&w, WALL0 + CLOCK_STEP_NS, wall, boot), CLOCK_SAME);
	assert_int_equal(w.behind, 0);
	assert_int_equal(tick(&w, &wall, &boot, S), CLOCK_SAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_and_slewing),
		cmocka_unit_test(test_set_back_then_forward),
		cmocka_unit_test(test_small_step_back_is_not_a_set_back),
		cmocka_unit_test(test_set_back_while_stopped),
		cmocka_unit_test(test_start_after_the_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
