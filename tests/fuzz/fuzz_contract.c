// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer over the whole contract path: parse + validate + canonicalise + verify + plan.
 * FUZZ_TRUST names the trust store (tests/fuzz/run.sh makes one); without it verify still
 * runs and reports the unreadable store.
 */
#include <stdint.h>
#include <stdlib.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct node_caps caps = { .backend = "portable" };
	struct verify_opts vopts = { .trust_path = getenv("FUZZ_TRUST"), .now = 1767225600 };
	struct pol_errors errs = { 0 };
	struct contract *c;
	char hash[65];

	if (!vopts.trust_path)
		vopts.trust_path = "/nonexistent";
	c = policy__parse((const char *)data, size, NULL, &errs);
	if (c) {
		(void)contract__hash(c, hash);
		(void)policy__verify(c, &vopts, &errs);
		plan__free(policy__plan(c, &caps));
	}
	contract__free(c);
	pol_errors__clear(&errs);
	return 0;
}
