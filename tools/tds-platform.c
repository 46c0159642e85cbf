// SPDX-License-Identifier: Apache-2.0
/* tds-platform: a reference data-space platform for demos and tests. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "tds-platform: not yet: the reference platform arrives with the agent service\n");
	return 0;
}
