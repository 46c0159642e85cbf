// SPDX-License-Identifier: Apache-2.0
/*
 * The signing side of the profile: a party's signature on a contract document (pepctl sign),
 * and signed documents (terminate notices made by a platform or a node).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/policy.h"
#include "policy/crypto.h"
#include "policy/internal.h"
#include "policy/signed.h"

/* ---- contracts being signed ------------------------------------------------------------ */

/* The entry of `id` in any signatory list, with its JSON path; NULL when there is none. */
static cJSON *find_signatory(cJSON *doc, const char *id, char path[64])
{
	for (size_t i = 0; i < N_SIGNATORY_LISTS; i++) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, signatory_lists[i]), *e;
		int index = 0;

		cJSON_ArrayForEach(e, list) {
			const char *eid = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(e, "signatoryEntityId"));

			if (!eid)
				eid = cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(e, "entityId"));
			if (eid && !strcmp(eid, id)) {
				snprintf(path, 64, "%s[%d]", signatory_lists[i], index);
				return e;
			}
			index++;
		}
	}
	return NULL;
}

/* The path of the first entry that carries a signature already; false when there is none. */
static bool first_signed(cJSON *doc, char path[64])
{
	for (size_t i = 0; i < N_SIGNATORY_LISTS; i++) {
		cJSON *e;
		int index = 0;

		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, signatory_lists[i])) {
			const char *sig = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(e, "signature"));

			if (sig && *sig) {
				snprintf(path, 64, "%s[%d]", signatory_lists[i], index);
				return true;
			}
			index++;
		}
	}
	return false;
}

static int set_string(cJSON *obj, const char *name, const char *value)
{
	cJSON *v = cJSON_CreateString(value);
	bool ok;

	if (!v)
		return -ENOMEM;
	ok = cJSON_GetObjectItemCaseSensitive(obj, name) ?
		     cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v) :
		     cJSON_AddItemToObject(obj, name, v);
	if (!ok)
		cJSON_Delete(v);
	return ok ? 0 : -ENOMEM;
}

/* The signatory entry the certificate is for, with the certificate in place. */
static cJSON *place_certificate(cJSON *doc, X509 *x, const char *cert_pem, char path[64],
				struct pol_errors *errs)
{
	char *cn = x509_common_name(x);
	cJSON *entry = cn ? find_signatory(doc, cn, path) : NULL;
	char signed_path[64];
	const char *old;

	if (!cn)
		pol_errors__add(errs, "", "the certificate's subject has no single CN");
	else if (!entry)
		pol_errors__add(errs, "", "no signatory \"%s\" (the certificate's CN) in the "
				"document", cn);
	if (!entry)
		goto cleanup;
	old = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "certificate"));
	if (old && !strcmp(old, cert_pem))
		goto cleanup; /* already there: the signatures made so far still hold */
	if (first_signed(doc, signed_path)) {
		pol_errors__add(errs, path, "cannot set the certificate: %s has signed already, "
				"and every signature covers every certificate (give all parties' "
				"certificates before the first signature)", signed_path);
		entry = NULL;
	} else if (set_string(entry, "certificate", cert_pem) < 0) {
		pol_errors__add(errs, path, "out of memory");
		entry = NULL;
	}
cleanup:
	free(cn);
	return entry;
}

int contract_doc__set_certificate(cJSON *doc, const char *cert_pem, struct pol_errors *errs)
{
	X509 *x = x509_from_pem(cert_pem);
	char path[64];
	int err = 0;

	if (!x) {
		pol_errors__add(errs, "", "not a PEM X.509 certificate: %s", openssl_reason());
		return -EINVAL;
	}
	if (!place_certificate(doc, x, cert_pem, path, errs))
		err = -EINVAL;
	X509_free(x);
	return err;
}

int contract_doc__sign(cJSON *doc, EVP_PKEY *key, const char *cert_pem, struct pol_errors *errs)
{
	X509 *x = x509_from_pem(cert_pem);
	char path[64], *data = NULL, *sig = NULL;
	cJSON *entry = NULL;
	size_t len;
	int err = -EINVAL;

	if (!x)
		pol_errors__add(errs, "", "not a PEM X.509 certificate: %s", openssl_reason());
	else if (EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1)
		pol_errors__add(errs, "", "the key is not the certificate's");
	else
		entry = place_certificate(doc, x, cert_pem, path, errs);
	if (!entry)
		goto cleanup;
	data = contract_doc__canonical(doc, &len);
	sig = data ? pol_sign(key, data, len) : NULL;
	err = sig ? set_string(entry, "signature", sig) : -errno;
	if (err)
		pol_errors__add(errs, path, "cannot sign: %s", strerror(-err));
cleanup:
	free(sig);
	free(data);
	X509_free(x);
	return err;
}

/* ---- signed documents ------------------------------------------------------------------ */

char *signed_doc__canonical(const cJSON *doc, size_t *ret_len)
{
	cJSON *copy = cJSON_Duplicate(doc, true);
	char *out;
	int err;

	if (!copy) {
		errno = ENOMEM;
		return NULL;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "signature");
	out = jcs__serialize(copy, ret_len);
	err = errno;
	cJSON_Delete(copy);
	errno = err;
	return out;
}

int signed_doc__sign(cJSON *doc, EVP_PKEY *key, const char *cert_pem)
{
	char *data, *sig = NULL;
	size_t len;
	int err = set_string(doc, "certificate", cert_pem);

	if (err)
		return err;
	data = signed_doc__canonical(doc, &len);
	sig = data ? pol_sign(key, data, len) : NULL;
	err = sig ? set_string(doc, "signature", sig) : -errno;
	free(sig);
	free(data);
	return err;
}
