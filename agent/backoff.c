// SPDX-License-Identifier: Apache-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "agent/backoff.h"

unsigned backoff_next(unsigned *ms, unsigned min, unsigned max)
{
	static bool seeded;

	if (!seeded) { /* two nodes started together jitter apart */
		srandom((unsigned)time(NULL) ^ (unsigned)getpid());
		seeded = true;
	}
	*ms = *ms ? *ms * 2 : min;
	if (*ms > max)
		*ms = max;
	return *ms / 2 + (unsigned)random() % (*ms / 2 + 1);
}
