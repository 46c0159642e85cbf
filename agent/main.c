// SPDX-License-Identifier: Apache-2.0
/* pep-agent: the enforcement daemon. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "pep-agent: not yet: the daemon arrives with the kernel enforcement work\n");
	return 0;
}
