// SPDX-License-Identifier: Apache-2.0
/*
 * pepctl keygen and sign: what a party needs to make a contract without other tools. The key
 * types and the signature are the contract profile's (docs/contract-format.md, section 2);
 * the bytes signed are policy/'s canonical form. No agent, no root.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/policy.h"
#include "policy/signed.h"
#include "tools/pepctl.h"

/* ---- keygen --------------------------------------------------------------------------- */

static EVP_PKEY *generate(const char *alg)
{
	if (!strcmp(alg, "sm2"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	if (!strcmp(alg, "p256"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!strcmp(alg, "ed25519"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return NULL;
}

/* PKCS#8 PEM, readable by its owner only; an existing file is never overwritten. */
static int write_key(const char *path, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int err = 0;

	if (!f) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (err)
		(void)unlink(path);
	return err;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "alg", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ 0 },
	};
	const char *alg = NULL, *out = NULL;
	EVP_PKEY *key;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (opt == 'a')
			alg = optarg;
		else if (opt == 'o')
			out = optarg;
		else
			return pepctl_usage("keygen");
	if (!alg || !out || optind != argc)
		return pepctl_usage("keygen");
	key = generate(alg);
	if (!key) {
		fprintf(stderr, "pepctl: keygen: --alg must be sm2, p256 or ed25519\n");
		ERR_clear_error();
		return EXIT_USAGE;
	}
	err = write_key(out, key);
	EVP_PKEY_free(key);
	if (err) {
		fprintf(stderr, "pepctl: keygen: %s: %s\n", out, strerror(-err));
		return EXIT_USAGE;
	}
	if (pepctl_json)
		printf("{\"key\": \"%s\", \"alg\": \"%s\"}\n", out, alg);
	else
		printf("%s key written to %s (mode 0600)\n", alg, out);
	return EXIT_OK;
}

/* ---- sign ----------------------------------------------------------------------------- */

struct sign_args {
	const char *key;
	const char *certs[16]; /* every --cert: all go in, the key's own signs */
	size_t n_certs;
	const char *file;
};

static int parse_sign_args(int argc, char **argv, struct sign_args *a)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'k')
			a->key = optarg;
		else if (opt == 'c' && a->n_certs < 16)
			a->certs[a->n_certs++] = optarg;
		else
			return -EINVAL;
	}
	if (!a->key || !a->n_certs || optind != argc - 1)
		return -EINVAL;
	a->file = argv[optind];
	return 0;
}

/* Whether the certificate in pem is key's: the one that signs. */
static bool certifies(const char *pem, EVP_PKEY *key)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	bool yes = x && EVP_PKEY_eq(X509_get0_pubkey(x), key) == 1;

	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return yes;
}

/* 1. every certificate in place; 2. the signature of the key's certificate. */
static int sign_doc(cJSON *doc, const struct sign_args *a, EVP_PKEY *key, struct pol_errors *errs)
{
	char *pems[16] = { 0 }, *signer = NULL;
	size_t len;
	int err = 0;

	for (size_t i = 0; !err && i < a->n_certs; i++) {
		err = read_file(a->certs[i], &pems[i], &len);
		if (err)
			pol_errors__add(errs, "", "%s: %s", a->certs[i], strerror(-err));
		else
			err = contract_doc__set_certificate(doc, pems[i], errs);
		if (!err && !signer && certifies(pems[i], key))
			signer = pems[i];
	}
	if (!err && !signer) {
		pol_errors__add(errs, "", "%s is the key of none of the certificates given", a->key);
		err = -EINVAL;
	}
	if (!err)
		err = contract_doc__sign(doc, key, signer, errs);
	for (size_t i = 0; i < a->n_certs; i++)
		free(pems[i]);
	return err;
}

int cmd_sign(int argc, char **argv)
{
	struct sign_args a = { 0 };
	struct pol_errors errs = { 0 };
	EVP_PKEY *key = NULL;
	cJSON *doc = NULL;
	char *text = NULL;
	size_t len;
	int err, code = EXIT_USAGE;

	if (parse_sign_args(argc, argv, &a) < 0)
		return pepctl_usage("sign");
	err = read_file(a.file, &text, &len);
	key = err ? NULL : pem_key__read(a.key);
	if (err || !key) {
		fprintf(stderr, "pepctl: sign: %s: %s\n", err ? a.file : a.key,
			err ? strerror(-err) : "not a PEM private key");
		goto cleanup;
	}
	doc = pol_json__parse(text, len, 0, &errs);
	code = doc && !sign_doc(doc, &a, key, &errs) ? EXIT_OK : EXIT_INVALID;
	free(text);
	text = code == EXIT_OK ? cJSON_Print(doc) : NULL;
	if (text)
		printf("%s\n", text);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "pepctl: sign: %s%s%s\n", errs.v[i].path, *errs.v[i].path ? ": " : "",
			errs.v[i].msg);
cleanup:
	pol_errors__clear(&errs);
	cJSON_Delete(doc);
	EVP_PKEY_free(key);
	free(text);
	return code;
}
