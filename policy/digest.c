// SPDX-License-Identifier: Apache-2.0
/*
 * The bytes every party signs and the contract digest reported upstream (contract profile,
 * "Digest and signatures"): the document without the signatures themselves, in RFC 8785 form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/policy.h"
#include "policy/crypto.h"
#include "policy/internal.h"
#include "policy/signed.h"

const char *const signatory_lists[N_SIGNATORY_LISTS] = { "signatories", "signatoryEntities",
							 "signatureList" };

/* Removes `signature` from the entries of the signatory lists, and nothing else: a member of
 * that name anywhere else is contract content and stays signed. */
static void drop_signatures(cJSON *doc)
{
	for (size_t i = 0; i < N_SIGNATORY_LISTS; i++) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, signatory_lists[i]);
		cJSON *entry;

		if (!cJSON_IsArray(list))
			continue;
		cJSON_ArrayForEach(entry, list)
			if (cJSON_IsObject(entry))
				cJSON_DeleteItemFromObjectCaseSensitive(entry, "signature");
	}
}

char *contract_doc__canonical(const cJSON *doc, size_t *ret_len)
{
	cJSON *copy = cJSON_Duplicate(doc, true);
	char *out;
	int err;

	if (!copy) {
		errno = ENOMEM;
		return NULL;
	}
	drop_signatures(copy);
	out = jcs__serialize(copy, ret_len);
	err = errno;
	cJSON_Delete(copy);
	errno = err;
	return out;
}

char *contract__canonical(const struct contract *c, size_t *ret_len)
{
	if (!c || !c->doc) {
		errno = EINVAL;
		return NULL;
	}
	return contract_doc__canonical(c->doc, ret_len);
}

enum digest_alg contract__digest_alg(const struct contract *c)
{
	enum digest_alg alg = DIGEST_SHA256;

	for (size_t i = 0; i < c->n_signatories && alg != DIGEST_SM3; i++) {
		const char *pem = c->signatories[i].certificate_pem;
		X509 *x = pem ? x509_from_pem(pem) : NULL;

		if (x && key_kind_of(X509_get0_pubkey(x)) == KEY_SM2)
			alg = DIGEST_SM3;
		X509_free(x);
	}
	ERR_clear_error(); /* certificates that do not load are policy__verify()'s to report */
	return alg;
}

int contract__hash(const struct contract *c, char ret_hex[65])
{
	const char *name = contract__digest_alg(c) == DIGEST_SM3 ? "SM3" : "SHA256";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t len, md_len = 0;
	char *data = contract__canonical(c, &len);
	int err = 0;

	if (!data)
		return -errno;
	if (EVP_Q_digest(NULL, name, NULL, data, len, md, &md_len) != 1 || md_len != 32) {
		ERR_clear_error();
		err = -ENOTSUP; /* a libcrypto built without SM3 */
		goto cleanup;
	}
	for (size_t i = 0; i < md_len; i++)
		snprintf(ret_hex + 2 * i, 3, "%02x", md[i]);
cleanup:
	free(data);
	return err;
}
