/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL helpers shared by the digest and the verifier inside policy/; not part of the API. */
#ifndef PEP_POLICY_CRYPTO_H
#define PEP_POLICY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

struct pol_errors;
struct trust_store;

/* GM/T 0009 default distinguishing ID: SM2 signatures and SM2-signed certificates use it.
 * OpenSSL 3.0 has no default, so every SM2 operation sets it. */
#define SM2_DEFAULT_ID	   "1234567812345678"
#define SM2_DEFAULT_ID_LEN 16

/* The key types the contract profile allows. */
enum key_kind { KEY_OTHER, KEY_SM2, KEY_P256, KEY_ED25519 };

enum key_kind key_kind_of(const EVP_PKEY *key);
/* "SM2", "EC P-256", "Ed25519", or OpenSSL's name of another type. */
const char *key_kind_name(const EVP_PKEY *key);

/* Marks an SM2-signed certificate with the default ID, so that X509_verify() can check it. */
int x509_set_sm2_id(X509 *x);
/* The first certificate in `pem`, marked as above; NULL on failure (OpenSSL error queued). */
X509 *x509_from_pem(const char *pem);

/* NULL when `cert` chains to a certificate of the store at time `t`, else OpenSSL's reason.
 * A chain verified once is remembered (with the times it is valid) and not verified again. */
const char *trust_store_check(struct trust_store *ts, X509 *cert, int64_t t);

/* Decodes standard base64 (line breaks allowed); NULL when it is not base64. */
unsigned char *base64_decode(const char *b64, size_t *ret_len);
/* Whether sig is key's signature over data by the profile's algorithm for the key's kind:
 * SM2 with SM3 and the default ID, ECDSA P-256 with SHA-256 (both DER or raw r||s), or pure
 * Ed25519. */
bool signature_verifies(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
			const void *data, size_t len);
/* The subject's CN (malloc'd UTF-8) when it has exactly one, else NULL (also for x NULL). */
char *x509_common_name(X509 *x);

/* The reason of the most recent OpenSSL error; empties the queue for the next operation. */
const char *openssl_reason(void);

#endif /* PEP_POLICY_CRYPTO_H */
