// SPDX-License-Identifier: Apache-2.0
/*
 * verify + plan, in process: a typical contract (file-app-count-delete, SM2 + P-256) and the
 * same contract with 5000 CIDRs in its networkAddress constraint. Prints medians of parse,
 * verify and plan together, and the ratio of the large to the typical one (same run).
 * The inputs are signed at start by tests/bench/make-inputs.sh (openssl CLI), in a temp dir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"
#include "tests/bench/bench.h"

#define ROUNDS 201

/* Median microseconds of parse + verify + plan; -1 when the contract does not verify. With
 * `kept`, one trust store serves every round (as the agent keeps it), else each loads it. */
static double median_us(const char *text, size_t len, const char *trust, struct trust_store *kept)
{
	static const struct node_caps caps = { .backend = "portable" };
	struct verify_opts vo = { .trust = kept, .trust_path = trust };
	double t[ROUNDS];

	for (int i = 0; i < ROUNDS; i++) {
		struct pol_errors errs = { 0 };
		double start = now_us();
		struct contract *c = policy__parse(text, len, NULL, &errs);
		int err = c ? policy__verify(c, &vo, &errs) : -1;
		struct plan *p = err ? NULL : policy__plan(c, &caps);

		t[i] = now_us() - start;
		plan__free(p);
		contract__free(c);
		pol_errors__clear(&errs);
		if (err)
			return -1;
	}
	qsort(t, ROUNDS, sizeof(*t), cmp_double);
	return t[ROUNDS / 2];
}

static int make_inputs(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "tests/bench/make-inputs.sh %s", dir);
	return system(cmd);
}

int main(void)
{
	char dir[] = "/tmp/pep-policy-bench.XXXXXX", path[256], trust[256], cmd[300];
	const char *names[] = { "typical", "cidrs" };
	struct pol_errors errs = { 0 };
	struct trust_store *kept;
	double median[2], warm[2];

	if (!mkdtemp(dir) || make_inputs(dir)) {
		fprintf(stderr, "policy_bench: cannot make the signed inputs\n");
		return 1;
	}
	snprintf(trust, sizeof(trust), "%s/pki/root-ca.crt", dir);
	kept = trust_store__open(trust, &errs);
	for (int i = 0; i < 2; i++) {
		size_t len = 0;
		char *text;

		snprintf(path, sizeof(path), "%s/%s.json", dir, names[i]);
		text = slurp(path, &len);
		median[i] = text ? median_us(text, len, trust, NULL) : -1;
		warm[i] = text && kept ? median_us(text, len, trust, kept) : -1;
		free(text);
	}
	trust_store__free(kept);
	pol_errors__clear(&errs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
	if (median[0] < 0 || median[1] < 0 || warm[0] < 0 || warm[1] < 0) {
		fprintf(stderr, "policy_bench: an input did not verify\n");
		return 1;
	}
	printf("verify+plan, median of %d (target: typical <= 1000 us, 5000 CIDRs <= 50000 us):\n",
	       ROUNDS);
	printf("  trust store kept (the agent):  typical %.0f us, 5000 CIDRs %.0f us\n", warm[0],
	       warm[1]);
	printf("  trust store loaded each time:  typical %.0f us, 5000 CIDRs %.0f us\n", median[0],
	       median[1]);
	printf("  ratios: kept/loaded typical %.2fx; 5000 CIDRs/typical (kept) %.1fx\n",
	       warm[0] / median[0], warm[1] / warm[0]);
	return 0;
}
