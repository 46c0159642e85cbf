// SPDX-License-Identifier: Apache-2.0
/* Key types, signatures, certificates and OpenSSL error reasons, shared inside policy/. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/crypto.h"
#include "policy/signed.h"

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

unsigned char *base64_decode(const char *b64, size_t *ret_len)
{
	size_t in = strlen(b64);
	unsigned char *out = malloc(in / 4 * 3 + 3);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int n = 0, tail = 0;

	if (!out || !ctx || in > INT_MAX)
		goto fail;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)b64, (int)in) < 0 ||
	    EVP_DecodeFinal(ctx, out + n, &tail) != 1 || n + tail == 0)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	*ret_len = (size_t)(n + tail);
	return out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

/* SM2 and ECDSA signatures are DER; some signers write r||s (32 bytes each) instead. Returns
 * the DER form of a raw signature, or NULL when `sig` is not one. */
static unsigned char *raw_to_der(const unsigned char *sig, size_t len, size_t *ret_len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	BIGNUM *r_bn, *s_bn;
	unsigned char *der = NULL;
	int n;

	if (s || len != 64) {
		ECDSA_SIG_free(s); /* DER already, or neither form */
		return NULL;
	}
	s = ECDSA_SIG_new();
	r_bn = BN_bin2bn(sig, 32, NULL);
	s_bn = BN_bin2bn(sig + 32, 32, NULL);
	if (!s || !r_bn || !s_bn || ECDSA_SIG_set0(s, r_bn, s_bn) != 1) {
		BN_free(r_bn);
		BN_free(s_bn);
	} else if ((n = i2d_ECDSA_SIG(s, &der)) > 0) {
		*ret_len = (size_t)n;
	}
	ECDSA_SIG_free(s);
	return der;
}

/* The digest each key kind signs with; Ed25519 signs the message itself. */
static const char *const digests[] = { [KEY_OTHER] = NULL, [KEY_SM2] = "SM3",
				       [KEY_P256] = "SHA256", [KEY_ED25519] = NULL };

/* SM2 hashes the signer's ID into the message digest (Z); OpenSSL 3.0 has no default. The
 * digest starts at EVP_DigestSign/Verify(), so setting it after init is in time. */
static int set_sm2_id(EVP_PKEY_CTX *pctx, enum key_kind kind)
{
	return kind != KEY_SM2 ||
	       EVP_PKEY_CTX_set1_id(pctx, SM2_DEFAULT_ID, SM2_DEFAULT_ID_LEN) == 1;
}

bool signature_verifies(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
			const void *data, size_t len)
{
	enum key_kind kind = key_kind_of(key);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	bool ok = false;

	if (kind == KEY_OTHER || !md ||
	    EVP_DigestVerifyInit_ex(md, &pctx, digests[kind], NULL, NULL, key, NULL) != 1 ||
	    !set_sm2_id(pctx, kind))
		goto cleanup;
	if (kind != KEY_ED25519)
		der = raw_to_der(sig, sig_len, &der_len);
	ok = EVP_DigestVerify(md, der ? der : sig, der ? der_len : sig_len, data, len) == 1;
cleanup:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ERR_clear_error(); /* a signature that does not verify is the whole answer */
	return ok;
}

char *pol_sign(EVP_PKEY *key, const void *data, size_t len)
{
	enum key_kind kind = key_kind_of(key);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char sig[160]; /* DER of an ECDSA signature on a 256-bit curve: at most 72 */
	size_t sig_len = sizeof(sig);
	char *b64 = NULL;

	errno = EINVAL;
	if (kind == KEY_OTHER || !md ||
	    EVP_DigestSignInit_ex(md, &pctx, digests[kind], NULL, NULL, key, NULL) != 1 ||
	    !set_sm2_id(pctx, kind) || EVP_DigestSign(md, sig, &sig_len, data, len) != 1)
		goto cleanup;
	b64 = malloc(4 * ((sig_len + 2) / 3) + 1);
	if (b64)
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
	else
		errno = ENOMEM;
cleanup:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return b64;
}

char *x509_common_name(X509 *x)
{
	const X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
	int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	unsigned char *utf8 = NULL;
	char *cn = NULL;

	if (i >= 0 && X509_NAME_get_index_by_NID(name, NID_commonName, i) < 0 &&
	    ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) >= 0)
		cn = strdup((char *)utf8);
	OPENSSL_free(utf8);
	ERR_clear_error();
	return cn;
}

EVP_PKEY *pem_key__read(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	ERR_clear_error();
	return key;
}

char *cert_pem__cn(const char *pem)
{
	X509 *x = x509_from_pem(pem);
	char *cn = x509_common_name(x);

	X509_free(x);
	ERR_clear_error();
	return cn;
}
