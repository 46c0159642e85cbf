// SPDX-License-Identifier: Apache-2.0
/* Key types, certificates and OpenSSL error reasons, for digest.c, trust.c and verify.c. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/crypto.h"

/* OpenSSL 3.0 decodes keys on the SM2 curve as type "SM2", other curves as "EC". */
enum key_kind key_kind_of(const EVP_PKEY *key)
{
	char group[32];

	if (EVP_PKEY_is_a(key, "SM2"))
		return KEY_SM2;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return KEY_ED25519;
	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) == 1 &&
	    strcmp(group, "prime256v1") == 0)
		return KEY_P256;
	return KEY_OTHER;
}

const char *key_kind_name(const EVP_PKEY *key)
{
	static const char *const names[] = {
		[KEY_SM2] = "SM2", [KEY_P256] = "EC P-256", [KEY_ED25519] = "Ed25519"
	};
	enum key_kind kind = key_kind_of(key);
	const char *other = EVP_PKEY_get0_type_name(key);

	if (kind != KEY_OTHER)
		return names[kind];
	return other ? other : "of an unknown type";
}

int x509_set_sm2_id(X509 *x)
{
	ASN1_OCTET_STRING *id;

	if (X509_get_signature_nid(x) != NID_SM2_with_SM3)
		return 0;
	id = ASN1_OCTET_STRING_new();
	if (!id || ASN1_OCTET_STRING_set(id, (const unsigned char *)SM2_DEFAULT_ID,
					 SM2_DEFAULT_ID_LEN) != 1) {
		ASN1_OCTET_STRING_free(id);
		return -1;
	}
	X509_set0_distinguishing_id(x, id);
	return 0;
}

X509 *x509_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (x && x509_set_sm2_id(x) < 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

const char *openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason ? reason : "no reason given";
}
