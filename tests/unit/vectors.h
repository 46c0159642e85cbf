/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed contracts on disk for test_verify and test_samples: made at test time by
 * tests/vectors/ (the openssl CLI and python3, sharing no code with policy/), or the samples
 * in ../shared/contracts. Tests run from the repository root (prove does).
 */
#ifndef PEP_TEST_VECTORS_H
#define PEP_TEST_VECTORS_H

#include "tests/unit/fixture.h"

/* The whole output of a shell command (NUL-terminated), which must succeed. */
static inline char *vector_run(const char *cmd, size_t *ret_len)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, n;
	char *out = NULL;

	assert_non_null(p);
	do {
		out = realloc(out, len + 4096 + 1);
		assert_non_null(out);
		n = fread(out + len, 1, 4096, p);
		len += n;
	} while (n > 0);
	out[len] = '\0';
	assert_int_equal(pclose(p), 0);
	if (ret_len)
		*ret_len = len;
	return out;
}

/* Parses the contract in file `path`; the file must be a well-formed contract. */
static inline struct contract *vector_parse(const char *path)
{
	struct pol_errors errs = { 0 };
	struct contract *c;
	char cmd[512], *text;
	size_t len;

	snprintf(cmd, sizeof(cmd), "cat '%s'", path);
	text = vector_run(cmd, &len);
	c = policy__parse(text, len, NULL, &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_message("# parse error: %s: %s\n", errs.v[i].path, errs.v[i].msg);
	assert_non_null(c);
	pol_errors__clear(&errs);
	free(text);
	return c;
}

static inline int64_t vector_time(const char *s)
{
	int64_t t = 0;

	assert_int_equal(pol_time__parse(s, &t), 0);
	return t;
}

#endif /* PEP_TEST_VECTORS_H */
