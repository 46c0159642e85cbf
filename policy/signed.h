/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing, and the signed documents other than contracts: the terminate notice of Annex B.7
 * (/contractTerminate) and the node's destruction proof. One profile for all
 * (docs/contract-format.md, section 2): SM2 with SM3 and the default ID, ECDSA P-256 with
 * SHA-256, or Ed25519, over RFC 8785 bytes.
 *
 * A signed document carries `certificate` (the signer's X.509, PEM, subject CN = the signer's
 * entity id) and `signature` (base64) as top-level members; the signed bytes are the RFC 8785
 * form of the document without `signature`, so the certificate is covered too.
 */
#ifndef PEP_POLICY_SIGNED_H
#define PEP_POLICY_SIGNED_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

struct cJSON;
struct pol_errors;

/* Base64 of key's signature over data, by the profile's algorithm for the key's type (DER for
 * SM2 and ECDSA). NULL with errno: EINVAL for a key of another type. */
char *pol_sign(EVP_PKEY *key, const void *data, size_t len);

/* The subject CN of the first certificate in pem (malloc'd) when it has exactly one, else
 * NULL: the entity id a signer's certificate names. */
char *cert_pem__cn(const char *pem);
/* The private key in the PEM file at path, or NULL (OpenSSL's error queue left empty). */
EVP_PKEY *pem_key__read(const char *path);

/* ---- contracts being signed ------------------------------------------------------------ */

/* What the signatories of a contract document sign (contract__canonical() of a document that
 * is not yet a valid contract: a template being signed). malloc'd, or NULL with errno. */
char *contract_doc__canonical(const struct cJSON *doc, size_t *ret_len);
/*
 * Puts cert_pem in the signatory whose signatoryEntityId is the certificate's CN. Every
 * signature covers every certificate, so a certificate is not changed once anyone has signed:
 * all parties' certificates go in before the first signature. 0, or -EINVAL with an error.
 */
int contract_doc__set_certificate(struct cJSON *doc, const char *cert_pem,
				  struct pol_errors *errs);
/* Sets the certificate as above, then that signatory's signature, made with key (which must
 * be the certificate's). 0, or -errno with an error. */
int contract_doc__sign(struct cJSON *doc, EVP_PKEY *key, const char *cert_pem,
		       struct pol_errors *errs);

/* ---- signed documents ------------------------------------------------------------------ */

/* RFC 8785 of doc without its top-level `signature`: the signed bytes. */
char *signed_doc__canonical(const struct cJSON *doc, size_t *ret_len);
/* Sets `certificate` to cert_pem, then `signature`. 0 or -errno. */
int signed_doc__sign(struct cJSON *doc, EVP_PKEY *key, const char *cert_pem);
/*
 * The signature verifies with the key of `certificate`, which chains to the trust store at
 * trust_path (CA file or directory) at time `at` and has the subject CN entity_id. 0, -EINVAL
 * with every problem appended, or another -errno when the trust store cannot be read.
 */
int signed_doc__verify(const struct cJSON *doc, const char *trust_path, int64_t at,
		       const char *entity_id, struct pol_errors *errs);

/* A destruction proof verifies with its own signer.publicKey. That says the proof is whole
 * and made by that key; whose key it is, the reader knows from elsewhere (the node's key,
 * pinned when the node was registered). 0 or -EINVAL with an error. */
int proof__verify(const struct cJSON *proof, struct pol_errors *errs);

/* A JSON document read as strictly as a contract (UTF-8, no duplicate member, depth, size
 * up to max_bytes, 0 = a contract's 4 MiB): what a signature covers must be one value per
 * member. NULL with errors. */
struct cJSON *pol_json__parse(const char *buf, size_t len, size_t max_bytes,
			      struct pol_errors *errs);

/* An Annex B reply: {"status": "0"} when err is 0, else {"status": "1", "errors": [{"path",
 * "message"}, ...]} with every error (strerror(-err) when there is none). NULL on ENOMEM. */
struct cJSON *annex_b__reply(int err, const struct pol_errors *errs);

/* ---- the terminate notice (Annex B.7) -------------------------------------------------- */

struct terminate_notice {
	const char *contract_id;
	const char *contract_name;
	const char *type; /* erminateType: "01" early (by agreement), "02" on expiry */
	const char *issuer_id;
	const char *issuer_entity_id; /* the certificate's CN */
	int64_t issue_time, activation_time, scheduled_end_time;
	int64_t agreed_end_time;	 /* "01" only; 0 otherwise */
	const struct cJSON *expansion; /* expansionItem, or NULL */
	struct cJSON *doc; /* the body; the strings above point into it */
};

/*
 * Parses a /contractTerminate body: strict JSON, the members of Annex B.7 (erminateType also
 * spelt terminateType), certificate and signature, optional expansionItem; agreedEndTime with
 * 01 only and required there. NULL with every error appended (errno EINVAL or ENOMEM).
 */
struct terminate_notice *terminate_notice__parse(const char *buf, size_t len,
						 struct pol_errors *errs);
/* The issuer signed it, with a certificate valid at issueTime: signed_doc__verify(). */
int terminate_notice__verify(const struct terminate_notice *n, const char *trust_path,
			     struct pol_errors *errs);
/* A body from the fields of n (doc ignored; times as ISO 8601), not yet signed; NULL with
 * errno. Sign it with signed_doc__sign(). */
struct cJSON *terminate_notice__build(const struct terminate_notice *n);
void terminate_notice__free(struct terminate_notice *n);

#endif /* PEP_POLICY_SIGNED_H */
