// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "agent/nodekey.h"

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key;

	if (!f)
		return NULL;
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key)
		errno = EINVAL;
	return key;
}

static EVP_PKEY *make_key(const char *path)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int fd = -1;
	FILE *f = NULL;

	if (!key)
		return NULL;
	/* O_EXCL: two agents starting at once must not overwrite each other's key. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fflush(f) ||
	    fsync(fd)) {
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		(void)unlink(path);
		EVP_PKEY_free(key);
		errno = errno ? errno : EIO;
		return NULL;
	}
	fclose(f);
	return key;
}

EVP_PKEY *node_key__load(const char *state_dir)
{
	char path[4096];
	EVP_PKEY *key;

	snprintf(path, sizeof(path), "%s/node-key.pem", state_dir);
	key = read_key(path);
	if (!key && errno == ENOENT)
		key = make_key(path);
	return key;
}

char *node_key__public_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (bio && PEM_write_bio_PUBKEY(bio, key)) {
		len = BIO_get_mem_data(bio, &data);
		pem = strndup(data, (size_t)len);
	}
	BIO_free(bio);
	return pem;
}

char *node_key__public_b64(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	char *b64 = len > 0 ? malloc(4 * ((size_t)len + 2) / 3 + 1) : NULL;

	if (b64)
		EVP_EncodeBlock((unsigned char *)b64, der, len);
	OPENSSL_free(der);
	return b64;
}
