// SPDX-License-Identifier: Apache-2.0
/*
 * policy__verify(), contract__canonical() and contract__hash() against contracts signed by an
 * independent signer: tests/vectors/mkvectors.sh (openssl CLI, python3) runs first, into a
 * temporary directory; each test reads one of its files.
 */
#include <errno.h>

#include "tests/unit/vectors.h"

static char dir[] = "/tmp/pep-test-verify.XXXXXX";

#define PROVIDER "signatories[0]"
#define CONSUMER "signatories[1]"
#define SERVICE	 "signatories[2]"

/* A moment inside every vector's validity and every certificate's. */
#define NOW "2027-01-01T00:00:00+08:00"

struct result {
	struct contract *c;
	struct pol_errors errs;
	int rc;
};

/* Verifies vector `name` against trust store `trust` (relative to the vectors) at `now`. */
static struct result verify_at(const char *name, const char *trust, int64_t now)
{
	struct result r = { 0 };
	char path[256], trust_path[256];
	struct verify_opts opts = { .trust_path = trust_path, .now = now };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(trust_path, sizeof(trust_path), "%s/%s", dir, trust);
	r.c = vector_parse(path);
	r.rc = policy__verify(r.c, &opts, &r.errs);
	return r;
}

static struct result verify(const char *name)
{
	return verify_at(name, "pki/root-ca.crt", vector_time(NOW));
}

static void result_free(struct result *r)
{
	contract__free(r->c);
	pol_errors__clear(&r->errs);
}

/* Invalid, and among the errors one at `path` that says `needle`. */
static void expect_invalid(const char *name, const char *path, const char *needle)
{
	struct result r = verify(name);

	assert_int_equal(r.rc, -EINVAL);
	assert_true(has_error(&r.errs, path, needle));
	result_free(&r);
}

static void expect_valid(struct result r)
{
	for (size_t i = 0; i < r.errs.n; i++)
		print_message("# unexpected: %s: %s\n", r.errs.v[i].path, r.errs.v[i].msg);
	assert_int_equal(r.rc, 0);
	assert_int_equal(pol_errors__count(&r.errs), 0);
	result_free(&r);
}

/* SM2 + EC P-256 + Ed25519, all DER or pure, each chaining to the SM2 root. */
static void test_three_parties_verify(void **state)
{
	expect_valid(verify("good.json"));
}

/* SM2 and ECDSA signatures written as 64-byte r||s (88 base64 characters) verify too. */
static void test_raw_signatures_verify(void **state)
{
	struct result r = verify("raw.json");

	assert_int_equal(strlen(r.c->signatories[0].signature_b64), 88);
	assert_int_equal(strlen(r.c->signatories[1].signature_b64), 88);
	expect_valid(r);
}

/* One constraintValue changed after signing: every party's signature fails, by key type. */
static void test_tampered_value_fails(void **state)
{
	struct result r = verify("tampered.json");

	assert_int_equal(r.rc, -EINVAL);
	assert_true(has_error(&r.errs, PROVIDER ".signature",
			      "signature does not verify with the certificate's SM2 key"));
	assert_true(has_error(&r.errs, CONSUMER ".signature",
			      "signature does not verify with the certificate's EC P-256 key"));
	assert_true(has_error(&r.errs, SERVICE ".signature",
			      "signature does not verify with the certificate's Ed25519 key"));
	result_free(&r);
}

/* Every remaining signature is good, yet the contract lacks its consumer. */
static void test_removed_consumer_fails(void **state)
{
	struct result r = verify("no-consumer.json");

	assert_int_equal(r.rc, -EINVAL);
	assert_true(has_error(&r.errs, "signatories", "no consumer (signatorytype 02) signature"));
	assert_int_equal(pol_errors__count(&r.errs), 1);
	result_free(&r);
}

/* The provider's entry carries the consumer's certificate, and a signature it verifies. */
static void test_certificate_of_another_party_fails(void **state)
{
	expect_invalid("cn-mismatch.json", PROVIDER ".certificate",
		       "certificate CN \"91310000MA1K00001B\" is not signatoryEntityId "
		       "\"91110000100000000X\"");
}

static void test_certificate_from_other_ca_fails(void **state)
{
	expect_invalid("other-ca.json", PROVIDER ".certificate",
		       "certificate does not chain to the trust store at signTime "
		       "2026-01-01T00:00:00+08:00: unable to get local issuer certificate");
}

/* The certificate was valid in 2020 only; it signed in 2026. */
static void test_certificate_expired_at_signing_fails(void **state)
{
	expect_invalid("expired.json", PROVIDER ".certificate", "certificate has expired");
}

static void test_malformed_base64_fails(void **state)
{
	expect_invalid("bad-base64.json", CONSUMER ".signature", "signature is not base64");
}

/* [activationTime, endTime] includes both ends. */
static void test_validity_period_is_inclusive(void **state)
{
	expect_valid(verify_at("good.json", "pki/root-ca.crt",
			       vector_time("2026-01-01T00:00:00+08:00")));
	expect_valid(verify_at("good.json", "pki/root-ca.crt",
			       vector_time("2030-12-31T23:59:59+08:00")));
}

static void test_not_yet_active_fails(void **state)
{
	struct result r = verify_at("good.json", "pki/root-ca.crt",
				    vector_time("2025-12-31T23:59:59+08:00"));

	assert_int_equal(r.rc, -EINVAL);
	assert_true(has_error(&r.errs, "activationTime",
			      "contract not yet active: activationTime 2026-01-01T00:00:00+08:00 "
			      "is after now 2025-12-31T23:59:59+08:00"));
	result_free(&r);
}

static void test_ended_fails(void **state)
{
	struct result r = verify_at("good.json", "pki/root-ca.crt",
				    vector_time("2031-01-01T00:00:00+08:00"));

	assert_int_equal(r.rc, -EINVAL);
	assert_true(has_error(&r.errs, "endTime",
			      "contract has ended: endTime 2030-12-31T23:59:59+08:00 is before now "
			      "2031-01-01T00:00:00+08:00"));
	result_free(&r);
}

/* A directory of PEM files (keys among them, which are skipped) is a trust store too. */
static void test_trust_store_directory(void **state)
{
	expect_valid(verify_at("good.json", "pki", vector_time(NOW)));
}

static void test_trust_store_missing_is_an_io_error(void **state)
{
	struct result r = verify_at("good.json", "no-such-ca.crt", vector_time(NOW));

	assert_int_equal(r.rc, -ENOENT);
	assert_true(has_error(&r.errs, "", "no-such-ca.crt: No such file or directory"));
	result_free(&r);
}

/* contractHash is SM3 (a party uses SM2) of the canonical bytes, as python3 and openssl
 * compute them. */
static void test_hash_is_sm3_of_canonical_bytes(void **state)
{
	char path[256], cmd[512], hex[65], *want;
	struct contract *c;

	snprintf(path, sizeof(path), "%s/good.json", dir);
	snprintf(cmd, sizeof(cmd), "tests/vectors/canonical.py %s | openssl dgst -sm3 -r", path);
	want = vector_run(cmd, NULL);
	c = vector_parse(path);
	assert_int_equal(contract__digest_alg(c), DIGEST_SM3);
	assert_int_equal(contract__hash(c, hex), 0);
	assert_memory_equal(hex, want, 64);
	contract__free(c);
	free(want);
}

/* cn-mismatch.json has no SM2 certificate (P-256, P-256, Ed25519): SHA-256. */
static void test_hash_is_sha256_without_sm2(void **state)
{
	char path[256], cmd[512], hex[65], *want;
	struct contract *c;

	snprintf(path, sizeof(path), "%s/cn-mismatch.json", dir);
	snprintf(cmd, sizeof(cmd), "tests/vectors/canonical.py %s | openssl dgst -sha256 -r",
		 path);
	want = vector_run(cmd, NULL);
	c = vector_parse(path);
	assert_int_equal(contract__digest_alg(c), DIGEST_SHA256);
	assert_int_equal(contract__hash(c, hex), 0);
	assert_memory_equal(hex, want, 64);
	contract__free(c);
	free(want);
}

/* Only `signature` members of signatory list entries go; one elsewhere is content. */
/* A store kept across verifications remembers verified chains: the verdicts stay the same —
 * good verifies again, a tampered contract still fails, and a time outside a remembered
 * chain's validity (the expired certificate at its signing time) is still refused. */
static void test_kept_trust_store_gives_the_same_verdicts(void **state)
{
	char trust_path[256], path[256];
	struct pol_errors errs = { 0 };
	struct trust_store *ts;
	struct verify_opts opts = { .now = vector_time(NOW) };
	static const struct {
		const char *name;
		int rc;
	} runs[] = { { "good.json", 0 },      { "good.json", 0 },    { "tampered.json", -EINVAL },
		     { "expired.json", -EINVAL }, { "raw.json", 0 }, { "good.json", 0 } };

	snprintf(trust_path, sizeof(trust_path), "%s/pki/root-ca.crt", dir);
	ts = trust_store__open(trust_path, &errs);
	assert_non_null(ts);
	opts.trust = ts;
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct contract *c;

		snprintf(path, sizeof(path), "%s/%s", dir, runs[i].name);
		c = vector_parse(path);
		if (policy__verify(c, &opts, &errs) != runs[i].rc)
			fail_msg("%s (run %zu): verdict differs with a kept store", runs[i].name, i);
		contract__free(c);
		pol_errors__clear(&errs);
	}
	trust_store__free(ts);
}

static void test_canonical_removes_only_signatory_signatures(void **state)
{
	struct contract c = {
		.doc = cJSON_Parse("{\"signatories\":[{\"signature\":\"x\",\"b\":1}],"
				   "\"signatureList\":[{\"signature\":\"y\"}],"
				   "\"expansionItem\":{\"signature\":\"kept\"},\"signature\":2}"),
	};
	size_t len;
	char *out;

	assert_non_null(c.doc);
	out = contract__canonical(&c, &len);
	assert_string_equal(out, "{\"expansionItem\":{\"signature\":\"kept\"},"
				 "\"signatories\":[{\"b\":1}],\"signature\":2,"
				 "\"signatureList\":[{}]}");
	free(out);
	cJSON_Delete(c.doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_parties_verify),
		cmocka_unit_test(test_raw_signatures_verify),
		cmocka_unit_test(test_tampered_value_fails),
		cmocka_unit_test(test_removed_consumer_fails),
		cmocka_unit_test(test_certificate_of_another_party_fails),
		cmocka_unit_test(test_certificate_from_other_ca_fails),
		cmocka_unit_test(test_certificate_expired_at_signing_fails),
		cmocka_unit_test(test_malformed_base64_fails),
		cmocka_unit_test(test_validity_period_is_inclusive),
		cmocka_unit_test(test_not_yet_active_fails),
		cmocka_unit_test(test_ended_fails),
		cmocka_unit_test(test_trust_store_directory),
		cmocka_unit_test(test_trust_store_missing_is_an_io_error),
		cmocka_unit_test(test_hash_is_sm3_of_canonical_bytes),
		cmocka_unit_test(test_hash_is_sha256_without_sm2),
		cmocka_unit_test(test_kept_trust_store_gives_the_same_verdicts),
		cmocka_unit_test(test_canonical_removes_only_signatory_signatures),
	};
	char cmd[256];
	int rc;

	if (system("command -v openssl >/dev/null && command -v python3 >/dev/null") != 0) {
		printf("1..0 # SKIP the test vectors need the openssl CLI and python3\n");
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "tests/vectors/mkvectors.sh %s >&2", mkdtemp(dir));
	if (system(cmd) != 0) {
		printf("Bail out! tests/vectors/mkvectors.sh failed "
		       "(tests run from the repository root)\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? rc : 1;
}
