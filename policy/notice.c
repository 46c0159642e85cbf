// SPDX-License-Identifier: Apache-2.0
/*
 * Signed documents other than contracts, the verifying side: the terminate notice of Annex B.7
 * and the node's destruction proof (policy/signed.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/policy.h"
#include "policy/crypto.h"
#include "policy/internal.h"
#include "policy/schema.h"
#include "policy/signed.h"

/* ---- signed documents ------------------------------------------------------------------ */

/* ISO 8601 in China Standard Time, as the interfaces write times; "" when out of range. */
static const char *format_time(int64_t t, char buf[32])
{
	time_t local = (time_t)(t + 8 * 3600);
	struct tm tm;

	if (!gmtime_r(&local, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%S+08:00", &tm))
		buf[0] = '\0';
	return buf;
}

static const char *member_string(const cJSON *obj, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* `signature` (at path sig_path) is key's signature over the document without it. */
static void check_doc_signature(const cJSON *doc, EVP_PKEY *key, const char *sig_path,
				const char *b64, struct pol_errors *errs)
{
	unsigned char *sig = NULL;
	char *data = NULL;
	size_t sig_len, len;

	if (!key || key_kind_of(key) == KEY_OTHER) {
		pol_errors__add(errs, sig_path, "the signer's key is %s; the profile allows SM2, "
				"EC P-256, Ed25519", key ? key_kind_name(key) : "unreadable");
		return;
	}
	if (!b64 || !(sig = base64_decode(b64, &sig_len))) {
		pol_errors__add(errs, sig_path, b64 ? "signature is not base64" : "no signature");
		return;
	}
	data = signed_doc__canonical(doc, &len);
	if (!data)
		pol_errors__add(errs, "", "the document has no canonical form (RFC 8785): %s",
				strerror(errno));
	else if (!signature_verifies(key, sig, sig_len, data, len))
		pol_errors__add(errs, sig_path, "signature does not verify with the %s key",
				key_kind_name(key));
	free(data);
	free(sig);
}

/* The certificate chains to the store at `at`, and its CN is the signer's entity id. */
static void check_doc_certificate(struct trust_store *store, X509 *cert, int64_t at,
				  const char *entity_id, struct pol_errors *errs)
{
	const char *why = trust_store_check(store, cert, at);
	char *cn = x509_common_name(cert), when[32];

	if (why)
		pol_errors__add(errs, "certificate", "does not chain to the trust store at %s: %s",
				format_time(at, when), why);
	if (!cn || strcmp(cn, entity_id))
		pol_errors__add(errs, "certificate", "subject CN \"%s\" is not the issuer's "
				"entity id \"%s\"", cn ? cn : "(none or several)", entity_id);
	free(cn);
}

int signed_doc__verify(const cJSON *doc, const char *trust_path, int64_t at,
		       const char *entity_id, struct pol_errors *errs)
{
	const char *pem = member_string(doc, "certificate");
	size_t before = pol_errors__count(errs);
	struct trust_store *store;
	X509 *cert;

	ERR_clear_error(); /* reasons reported below are ours, not a caller's leftovers */
	store = trust_store__open(trust_path, errs);
	if (!store)
		return -errno;
	cert = pem ? x509_from_pem(pem) : NULL;
	if (!cert) {
		pol_errors__add(errs, "certificate", "%s%s", pem ? "not a PEM X.509 certificate: " :
				"no certificate", pem ? openssl_reason() : "");
	} else {
		check_doc_signature(doc, X509_get0_pubkey(cert), "signature",
				    member_string(doc, "signature"), errs);
		check_doc_certificate(store, cert, at, entity_id, errs);
	}
	X509_free(cert);
	trust_store__free(store);
	return pol_errors__count(errs) != before ? -EINVAL : 0;
}

static EVP_PKEY *public_key_from_pem(const char *pem)
{
	BIO *bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error(); /* no key is the whole answer */
	return key;
}

int proof__verify(const cJSON *proof, struct pol_errors *errs)
{
	const cJSON *signer = cJSON_GetObjectItemCaseSensitive(proof, "signer");
	EVP_PKEY *key = public_key_from_pem(member_string(signer, "publicKey"));
	size_t before = pol_errors__count(errs);

	check_doc_signature(proof, key, "signature", member_string(proof, "signature"), errs);
	EVP_PKEY_free(key);
	return pol_errors__count(errs) != before ? -EINVAL : 0;
}

cJSON *pol_json__parse(const char *buf, size_t len, size_t max_bytes, struct pol_errors *errs)
{
	return strict_json__parse(buf, len, max_bytes ? max_bytes : POLICY_DEFAULT_BYTES, errs);
}

static void add_error(cJSON *list, const char *path, const char *message)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "path", path);
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddItemToArray(list, e);
}

cJSON *annex_b__reply(int err, const struct pol_errors *errs)
{
	cJSON *reply = cJSON_CreateObject(), *list;

	if (!cJSON_AddStringToObject(reply, "status", err ? "1" : "0") || !err)
		return reply;
	list = cJSON_AddArrayToObject(reply, "errors");
	if (!errs->n)
		add_error(list, "", strerror(-err));
	for (size_t i = 0; i < errs->n; i++)
		add_error(list, errs->v[i].path, errs->v[i].msg);
	return reply;
}

/* ---- the terminate notice -------------------------------------------------------------- */

#define REQ true

static const char *const terminate_type_codes[] = { "01", "02", NULL };

/* Annex B.7, then the signer's certificate and signature (signed document profile). */
static const struct field notice_fields[] = {
	{ "contractName", NULL, REQ, T_STRING, 128 },
	{ "contractId", NULL, REQ, T_STRING, 47 },
	{ "issueTime", NULL, REQ, T_TIMESTAMP },
	{ "erminateType", "terminateType", REQ, T_CODE, 2, terminate_type_codes },
	{ "activationTime", NULL, REQ, T_TIMESTAMP },
	{ "scheduledEndTime", NULL, REQ, T_TIMESTAMP },
	{ "agreedEndTime", NULL, 0, T_TIMESTAMP },
	{ "issuerId", NULL, REQ, T_STRING, 32 },
	{ "issuerEntityId", NULL, REQ, T_STRING, 18 },
	{ "certificate", NULL, REQ, T_STRING },
	{ "signature", NULL, REQ, T_STRING },
	{ "expansionItem", NULL, 0, T_OBJECT },
	{ NULL },
};

static int64_t notice_time(const cJSON *doc, const char *name)
{
	const char *s = schema__get_string(doc, notice_fields, name);
	int64_t t = 0;

	return s && pol_time__parse(s, &t) == 0 ? t : 0;
}

/* Fills n from its checked body; agreedEndTime goes with early termination only. */
static void fill_notice(struct terminate_notice *n, struct pol_errors *errs)
{
	const cJSON *doc = n->doc;

	n->contract_id = schema__get_string(doc, notice_fields, "contractId");
	n->contract_name = schema__get_string(doc, notice_fields, "contractName");
	n->type = schema__get_string(doc, notice_fields, "erminateType");
	n->issuer_id = schema__get_string(doc, notice_fields, "issuerId");
	n->issuer_entity_id = schema__get_string(doc, notice_fields, "issuerEntityId");
	n->issue_time = notice_time(doc, "issueTime");
	n->activation_time = notice_time(doc, "activationTime");
	n->scheduled_end_time = notice_time(doc, "scheduledEndTime");
	n->agreed_end_time = notice_time(doc, "agreedEndTime");
	n->expansion = cJSON_GetObjectItemCaseSensitive(doc, "expansionItem");
	if (!strcmp(n->type, "01") && !n->agreed_end_time)
		pol_errors__add(errs, "agreedEndTime", "required for early termination (01)");
	if (!strcmp(n->type, "02") && cJSON_HasObjectItem(doc, "agreedEndTime"))
		pol_errors__add(errs, "agreedEndTime", "only for early termination (01), not on "
				"expiry (02)");
}

struct terminate_notice *terminate_notice__parse(const char *buf, size_t len,
						 struct pol_errors *errs)
{
	size_t before = pol_errors__count(errs);
	struct terminate_notice *n;
	cJSON *doc;

	doc = strict_json__parse(buf, len, POLICY_DEFAULT_BYTES, errs);
	if (!doc) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		cJSON_Delete(doc);
		errno = ENOMEM;
		return NULL;
	}
	n->doc = doc;
	schema__check(doc, "", notice_fields, errs);
	if (pol_errors__count(errs) == before)
		fill_notice(n, errs);
	if (pol_errors__count(errs) != before) {
		terminate_notice__free(n);
		errno = EINVAL;
		return NULL;
	}
	return n;
}

int terminate_notice__verify(const struct terminate_notice *n, const char *trust_path,
			     struct pol_errors *errs)
{
	return signed_doc__verify(n->doc, trust_path, n->issue_time, n->issuer_entity_id, errs);
}

static int add_time(cJSON *doc, const char *name, int64_t t)
{
	char buf[32];

	return *format_time(t, buf) && cJSON_AddStringToObject(doc, name, buf) ? 0 : -EINVAL;
}

cJSON *terminate_notice__build(const struct terminate_notice *n)
{
	cJSON *doc = cJSON_CreateObject();
	bool ok = doc && cJSON_AddStringToObject(doc, "contractName", n->contract_name) &&
		  cJSON_AddStringToObject(doc, "contractId", n->contract_id) &&
		  cJSON_AddStringToObject(doc, "erminateType", n->type) &&
		  cJSON_AddStringToObject(doc, "issuerId", n->issuer_id) &&
		  cJSON_AddStringToObject(doc, "issuerEntityId", n->issuer_entity_id) &&
		  !add_time(doc, "issueTime", n->issue_time) &&
		  !add_time(doc, "activationTime", n->activation_time) &&
		  !add_time(doc, "scheduledEndTime", n->scheduled_end_time) &&
		  (!n->agreed_end_time || !add_time(doc, "agreedEndTime", n->agreed_end_time)) &&
		  (!n->expansion || cJSON_AddItemToObject(doc, "expansionItem",
							  cJSON_Duplicate(n->expansion, true)));

	if (!ok) {
		cJSON_Delete(doc);
		errno = ENOMEM;
		return NULL;
	}
	return doc;
}

void terminate_notice__free(struct terminate_notice *n)
{
	if (!n)
		return;
	cJSON_Delete(n->doc);
	free(n);
}
