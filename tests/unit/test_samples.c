// SPDX-License-Identifier: Apache-2.0
/*
 * The signed sample contracts of ../shared/contracts (outside this repository; skipped when
 * absent): canonical bytes as Python writes them, stable contractHash, signatures and chains.
 */
#include <unistd.h>

#include "tests/unit/vectors.h"

#define SAMPLES "../shared/contracts"

struct sample {
	const char *file;
	const char *hash; /* SM3 of canonical.py's bytes, by `openssl dgst -sm3` */
};

static const struct sample samples[] = {
	{ "file-app-count-delete.json",
	  "c1ba491381fcb761244b9e8f94b77fec97f4ecae39d718e4b852301193e48d0e" },
	{ "scenario1-api-quota.json",
	  "23395de390badb14d80d0c9150668654000648383b18e440c31ba04167031d96" },
	{ "scenario2-joint-compute.json",
	  "2f3071633bdea2713b801429c9762ef3d7e9b8ddc2688c97f5da7ba851668c5a" },
	{ "scenario3-sharing.json",
	  "b371008a6705c2a720d88138e7ed0eb8049d9f199be4b890c421d60ba773c41d" },
	{ "scenario4-purchase.json",
	  "0e6f9594edeaf5c61b12ce35d31eb5c88bca74124a073c29e32af0f4f530ae63" },
	{ "scenario5-ciphertext.json",
	  "5d3c24c3f243d5786c5f52cc43c63afa951d945364cb81bc343c4cc7bd7890df" },
	{ "three-party-network.json",
	  "a1a1ce1a3014bcbabc0ee80cb43cc477aaa8c351024f737038244a26b603e67c" },
};

#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static struct contract *load(const struct sample *s)
{
	char path[256];

	print_message("# %s\n", s->file);
	snprintf(path, sizeof(path), SAMPLES "/%s", s->file);
	return vector_parse(path);
}

/* The C canonical form is byte for byte what the samples' signer signed. */
static void test_canonical_bytes_match_python(void **state)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		struct contract *c = load(&samples[i]);
		char cmd[256], *want, *got;
		size_t want_len, got_len;

		snprintf(cmd, sizeof(cmd), "tests/vectors/canonical.py " SAMPLES "/%s",
			 samples[i].file);
		want = vector_run(cmd, &want_len);
		got = contract__canonical(c, &got_len);
		assert_non_null(got);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		free(got);
		free(want);
		contract__free(c);
	}
}

static void test_contract_hash_is_stable(void **state)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		struct contract *c = load(&samples[i]);
		char hex[65];

		assert_int_equal(contract__hash(c, hex), 0);
		assert_string_equal(hex, samples[i].hash);
		contract__free(c);
	}
}

/*
 * Every signature verifies and every certificate chains to the samples' root and names its
 * signatory. The certificates are judged at 2027-01-01, not at the samples' signTime
 * (2026-01-01): the sample PKI was issued on 2026-11-23, after that signTime, so at signTime
 * policy__verify() rightly reports "certificate is not yet valid" for every party.
 */
static void test_signatures_and_chains_verify(void **state)
{
	int64_t at = vector_time("2027-01-01T00:00:00+08:00");
	struct verify_opts opts = { .trust_path = SAMPLES "/pki/test-root-ca.crt", .now = at };

	for (size_t i = 0; i < N_SAMPLES; i++) {
		struct contract *c = load(&samples[i]);
		struct pol_errors errs = { 0 };

		c->sign_time = at;
		for (size_t j = 0; j < c->n_signatories; j++)
			c->signatories[j].sign_time = at;
		assert_int_equal(policy__verify(c, &opts, &errs), 0);
		assert_int_equal(pol_errors__count(&errs), 0);
		contract__free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_bytes_match_python),
		cmocka_unit_test(test_contract_hash_is_stable),
		cmocka_unit_test(test_signatures_and_chains_verify),
	};

	if (access(SAMPLES "/pki/test-root-ca.crt", R_OK) != 0) {
		printf("1..0 # SKIP no " SAMPLES " beside the repository (not shipped)\n");
		return 0;
	}
	if (system("command -v python3 >/dev/null") != 0) {
		printf("1..0 # SKIP python3 is needed to write the samples' canonical bytes\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
