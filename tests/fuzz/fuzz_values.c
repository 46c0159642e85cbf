// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer over constraint_value__parse() alone: the first byte picks the constraint (0 and
 * 20 are out of range on purpose), the rest is the value, copied into a buffer of exactly its
 * size plus the NUL so ASan sees any read past it. The promise checked: 0 with no error, or
 * -EINVAL with at least one error and nothing to free; never a crash.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *	tests/fuzz/fuzz_values.c policy/values.c policy/timefmt.c policy/netaddr.c \
 *	policy/errors.c policy/dictionary.c -o .output/fuzz/fuzz_values
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_errors errs = { 0 };
	struct constraint_value v;
	char *text;
	int r;

	if (size == 0)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	r = constraint_value__parse((enum constraint_name)(data[0] % (CN_EXPANSION + 2)), text,
				    "constraintValue", &v, &errs);
	if ((r == 0) != (pol_errors__count(&errs) == 0) || (r != 0 && r != -EINVAL))
		abort();
	if (r != 0 && (v.strings || v.prefixes || v.n))
		abort();
	constraint_value__free(&v);
	pol_errors__clear(&errs);
	free(text);
	return 0;
}
