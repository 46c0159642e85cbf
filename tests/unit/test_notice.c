// SPDX-License-Identifier: Apache-2.0
/*
 * Signed documents (policy/signed.h): the /contractTerminate notice, parsed, signed and
 * verified with the test PKI of tests/vectors/mkpki.sh (openssl CLI); destruction proofs.
 */
#include <errno.h>

#include <openssl/pem.h>

#include "policy/signed.h"
#include "tests/unit/vectors.h"

static char dir[] = "/tmp/pep-test-notice.XXXXXX";

#define PROVIDER "91110000100000000X" /* SM2 */
#define CONSUMER "91310000MA1K00001B" /* EC P-256 */
#define SERVICE	 "91440300MA5G00002C" /* Ed25519 */
#define ID	 "C391310000MA1K00001B11002026010100000000000006S"

static char *pki_file(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cat '%s/%s'", dir, name);
	return vector_run(cmd, NULL);
}

static EVP_PKEY *pki_key(const char *id)
{
	char *pem, path[256];
	BIO *bio;
	EVP_PKEY *key;

	snprintf(path, sizeof(path), "%s.key", id);
	pem = pki_file(path);
	bio = BIO_new_mem_buf(pem, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(key);
	BIO_free(bio);
	free(pem);
	return key;
}

/* A notice from `issuer`, signed with its key and certificate `cert` (a file of the PKI). */
static char *signed_notice(const char *issuer, const char *cert, const char *type)
{
	struct terminate_notice n = {
		.contract_id = ID, .contract_name = "Research dataset", .type = type,
		.issuer_id = "tds-platform-01", .issuer_entity_id = issuer,
		.issue_time = vector_time("2027-01-01T00:00:00+08:00"),
		.activation_time = vector_time("2026-01-01T00:00:00+08:00"),
		.scheduled_end_time = vector_time("2030-12-31T23:59:59+08:00"),
		.agreed_end_time = strcmp(type, "01") ? 0 : vector_time("20270101000000"),
	};
	char path[64], *pem, *text;
	EVP_PKEY *key = pki_key(issuer);
	cJSON *doc = terminate_notice__build(&n);

	snprintf(path, sizeof(path), "%s", cert);
	pem = pki_file(path);
	assert_non_null(doc);
	assert_int_equal(signed_doc__sign(doc, key, pem), 0);
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	EVP_PKEY_free(key);
	free(pem);
	return text;
}

/* Parses and verifies text against the root CA; the return code, errors in errs. */
static int check(const char *text, struct pol_errors *errs)
{
	char trust[256];
	struct terminate_notice *n = terminate_notice__parse(text, strlen(text), errs);
	int rc;

	if (!n)
		return -EINVAL;
	snprintf(trust, sizeof(trust), "%s/root-ca.crt", dir);
	rc = terminate_notice__verify(n, trust, errs);
	terminate_notice__free(n);
	return rc;
}

static void expect_error(const char *text, const char *path, const char *needle)
{
	struct pol_errors errs = { 0 };

	assert_int_equal(check(text, &errs), -EINVAL);
	assert_true(has_error(&errs, path, needle));
	pol_errors__clear(&errs);
}

/* text with `from` replaced by `to` (once). */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) > 0);
	return out;
}

static void test_every_key_type_signs_and_verifies(void **state)
{
	const char *ids[] = { PROVIDER, CONSUMER, SERVICE };

	for (int i = 0; i < 3; i++) {
		char cert[64], *text;
		struct pol_errors errs = { 0 };

		snprintf(cert, sizeof(cert), "%s.crt", ids[i]);
		text = signed_notice(ids[i], cert, i ? "02" : "01");
		assert_int_equal(check(text, &errs), 0);
		assert_int_equal(errs.n, 0);
		free(text);
	}
}

static void test_standard_and_corrected_spelling(void **state)
{
	char *text = signed_notice(CONSUMER, CONSUMER ".crt", "02");
	char *both = edit(text, "\"erminateType\"", "\"terminateType\":\t\"02\",\n\"erminateType\"");
	struct pol_errors errs = { 0 };
	struct terminate_notice *n;

	assert_non_null(strstr(text, "\"erminateType\"")); /* the standard's spelling is sent */
	n = terminate_notice__parse(text, strlen(text), &errs);
	assert_non_null(n);
	assert_string_equal(n->type, "02");
	terminate_notice__free(n);
	expect_error(both, "terminateType", "same member");
	free(both);
	free(text);
}

static void test_changed_after_signing_fails(void **state)
{
	char *text = signed_notice(CONSUMER, CONSUMER ".crt", "01");
	char *changed = edit(text, "Research dataset", "Research dataset 2");

	expect_error(changed, "signature", "does not verify");
	free(changed);
	free(text);
}

static void test_certificate_of_another_ca_fails(void **state)
{
	char *text = signed_notice(PROVIDER, "provider-other-ca.crt", "01");

	expect_error(text, "certificate", "does not chain");
	free(text);
}

static void test_certificate_must_name_the_issuer(void **state)
{
	char *text = signed_notice(CONSUMER, CONSUMER ".crt", "01");
	char *other = edit(text, "\"issuerEntityId\":\t\"" CONSUMER,
			   "\"issuerEntityId\":\t\"" PROVIDER);

	expect_error(other, "certificate", "is not the issuer's");
	free(other);
	free(text);
}

/* The document of text changed by the caller, printed again (not signed again). */
static char *reprint(cJSON *doc)
{
	char *text = cJSON_Print(doc);

	assert_non_null(text);
	return text;
}

static void test_agreed_end_goes_with_early_termination(void **state)
{
	char *early = signed_notice(CONSUMER, CONSUMER ".crt", "01"), *text;
	cJSON *doc = cJSON_Parse(early);

	cJSON_DeleteItemFromObjectCaseSensitive(doc, "agreedEndTime");
	text = reprint(doc);
	expect_error(text, "agreedEndTime", "required for early termination (01)");
	free(text);
	cJSON_AddStringToObject(doc, "agreedEndTime", "20270101000000");
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "erminateType", cJSON_CreateString("02"));
	text = reprint(doc);
	expect_error(text, "agreedEndTime", "only for early termination (01)");
	free(text);
	cJSON_AddNumberToObject(doc, "reason", 1);
	text = reprint(doc);
	expect_error(text, "reason", "unknown member");
	free(text);
	cJSON_Delete(doc);
	free(early);
}

static void test_missing_members_are_named(void **state)
{
	struct pol_errors errs = { 0 };

	assert_int_equal(check("{\"contractId\": \"" ID "\"}", &errs), -EINVAL);
	assert_true(has_error(&errs, "issueTime", "required member missing"));
	assert_true(has_error(&errs, "erminateType", "also accepted as terminateType"));
	assert_true(has_error(&errs, "signature", "required member missing"));
	pol_errors__clear(&errs);
	expect_error("{\"a\": 1, \"a\": 2}", "a", "duplicate");
}

static void test_destruction_proof_verifies_with_its_key(void **state)
{
	EVP_PKEY *key = pki_key(SERVICE);
	BIO *bio = BIO_new(BIO_s_mem());
	cJSON *proof = cJSON_CreateObject(), *signer;
	struct pol_errors errs = { 0 };
	char *mem, *pem, *data, *sig;
	size_t len;

	assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
	len = (size_t)BIO_get_mem_data(bio, &mem);
	pem = strndup(mem, len); /* the BIO's memory is not a C string */
	cJSON_AddStringToObject(proof, "contractId", ID);
	signer = cJSON_AddObjectToObject(proof, "signer");
	cJSON_AddStringToObject(signer, "algorithm", "Ed25519");
	cJSON_AddStringToObject(signer, "publicKey", pem);
	data = signed_doc__canonical(proof, &len);
	sig = pol_sign(key, data, len);
	cJSON_AddStringToObject(proof, "signature", sig);
	assert_int_equal(proof__verify(proof, &errs), 0);
	cJSON_ReplaceItemInObject(proof, "contractId", cJSON_CreateString("C3"));
	assert_int_equal(proof__verify(proof, &errs), -EINVAL);
	assert_true(has_error(&errs, "signature", "does not verify"));
	pol_errors__clear(&errs);
	free(sig);
	free(data);
	free(pem);
	cJSON_Delete(proof);
	BIO_free(bio);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_type_signs_and_verifies),
		cmocka_unit_test(test_standard_and_corrected_spelling),
		cmocka_unit_test(test_changed_after_signing_fails),
		cmocka_unit_test(test_certificate_of_another_ca_fails),
		cmocka_unit_test(test_certificate_must_name_the_issuer),
		cmocka_unit_test(test_agreed_end_goes_with_early_termination),
		cmocka_unit_test(test_missing_members_are_named),
		cmocka_unit_test(test_destruction_proof_verifies_with_its_key),
	};
	char cmd[256];
	int rc;

	if (system("command -v openssl >/dev/null") != 0) {
		printf("1..0 # SKIP the test PKI needs the openssl CLI\n");
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "tests/vectors/mkpki.sh %s >&2", mkdtemp(dir));
	if (system(cmd) != 0) {
		printf("Bail out! tests/vectors/mkpki.sh failed (tests run from the repository root)\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? rc : 1;
}
