// SPDX-License-Identifier: Apache-2.0
/*
 * The node's trust store: the CAs whose certificates may vouch for a signatory. A store the
 * caller keeps also remembers the chains it has verified, so that seeing the same parties
 * again skips the CAs' signature checks (an SM2 verification costs ~220 us in OpenSSL 3.0).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/policy.h"
#include "policy/crypto.h"

/* PEM_read_X509() skips PEM objects of other types (keys) and stops at the end of the file or
 * at something it cannot read: a file contributes the certificates it holds. Closes f. */
static int add_certs(X509_STORE *store, FILE *f, size_t *count)
{
	X509 *x;
	int err = 0;

	while (!err && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
		if (x509_set_sm2_id(x) < 0 || X509_STORE_add_cert(store, x) != 1)
			err = -ENOMEM;
		else
			(*count)++;
		X509_free(x);
	}
	ERR_clear_error(); /* the end of the file reads as "no start line" */
	fclose(f);
	return err;
}

static int add_file(X509_STORE *store, int dir_fd, const char *name, size_t *count)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	int err = -errno;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	return add_certs(store, f, count);
}

/* Every regular file of the directory but hidden ones; subdirectories are not followed. On
 * failure the name of the file that failed is in ret_name. */
static int add_dir(X509_STORE *store, const char *dir, size_t *count, char ret_name[NAME_MAX + 1])
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			err = -errno;
		else if (S_ISREG(st.st_mode))
			err = add_file(store, dirfd(d), e->d_name, count);
		if (err)
			snprintf(ret_name, NAME_MAX + 1, "%s", e->d_name);
	}
	closedir(d);
	return err;
}

#define VERIFIED_MAX 1024 /* remembered chains; when full, remembering starts over */

/* A certificate (SHA-256 of its DER) whose chain verified, and the times its whole chain is
 * valid: checked again at another time inside them, it needs no signature verified. */
struct verified_chain {
	unsigned char md[32];
	int64_t from, to;
};

struct trust_store {
	X509_STORE *x509;
	struct verified_chain *verified;
	size_t n_verified;
};

static int load_x509(const char *path, X509_STORE **ret_store, struct pol_errors *errs)
{
	X509_STORE *store = X509_STORE_new();
	char name[NAME_MAX + 1] = "";
	size_t count = 0;
	struct stat st;
	int err;

	if (!path) {
		pol_errors__add(errs, "", "no trust store given");
		X509_STORE_free(store);
		return -ENOENT;
	}
	if (!store)
		err = -ENOMEM;
	else if (stat(path, &st) < 0)
		err = -errno;
	else if (S_ISDIR(st.st_mode))
		err = add_dir(store, path, &count, name);
	else
		err = add_file(store, AT_FDCWD, path, &count);
	if (err)
		pol_errors__add(errs, "", "trust store %s%s%s: %s", path, *name ? "/" : "", name,
				strerror(-err));
	else if (!count)
		pol_errors__add(errs, "", "trust store %s holds no PEM certificate", path);
	if (err || !count) {
		X509_STORE_free(store);
		return err ? err : -ENOENT;
	}
	*ret_store = store;
	return 0;
}

struct trust_store *trust_store__open(const char *path, struct pol_errors *errs)
{
	struct trust_store *ts = calloc(1, sizeof(*ts));
	int err;

	if (!ts) {
		pol_errors__add(errs, "", "out of memory");
		return NULL;
	}
	ts->verified = calloc(VERIFIED_MAX, sizeof(*ts->verified));
	err = ts->verified ? load_x509(path, &ts->x509, errs) : -ENOMEM;
	if (err) {
		trust_store__free(ts);
		errno = -err;
		return NULL;
	}
	return ts;
}

void trust_store__free(struct trust_store *ts)
{
	if (!ts)
		return;
	X509_STORE_free(ts->x509);
	free(ts->verified);
	free(ts);
}

static int64_t asn1_seconds(const ASN1_TIME *t)
{
	struct tm tm;

	return ASN1_TIME_to_tm(t, &tm) == 1 ? (int64_t)timegm(&tm) : 0;
}

static const struct verified_chain *find_verified(const struct trust_store *ts,
						  const unsigned char md[32], int64_t t)
{
	for (size_t i = 0; i < ts->n_verified; i++)
		if (!memcmp(ts->verified[i].md, md, 32) && ts->verified[i].from <= t &&
		    t <= ts->verified[i].to)
			return &ts->verified[i];
	return NULL;
}

/* Remembers a verified chain with the times all its certificates are valid. */
static void remember_chain(struct trust_store *ts, const unsigned char md[32], X509_STORE_CTX *ctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	struct verified_chain v = { .from = INT64_MIN, .to = INT64_MAX };

	memcpy(v.md, md, 32);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		int64_t from = asn1_seconds(X509_get0_notBefore(x)), to = asn1_seconds(X509_get0_notAfter(x));

		v.from = from > v.from ? from : v.from;
		v.to = to < v.to ? to : v.to;
	}
	if (ts->n_verified == VERIFIED_MAX)
		ts->n_verified = 0;
	ts->verified[ts->n_verified++] = v;
}

const char *trust_store_check(struct trust_store *ts, X509 *cert, int64_t t)
{
	X509_STORE_CTX *ctx = NULL;
	const char *why = "out of memory";
	unsigned char md[32];
	unsigned int md_len;

	if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1 && find_verified(ts, md, t))
		return NULL;
	ctx = X509_STORE_CTX_new();
	if (ctx && X509_STORE_CTX_init(ctx, ts->x509, cert, NULL) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
		int ok = X509_verify_cert(ctx), e = X509_STORE_CTX_get_error(ctx);

		/* A signature that cannot be checked at all (an SM2 certificate without its ID)
		 * fails with X509_V_OK: the reason is then on the error queue. */
		why = ok == 1 ? NULL : e != X509_V_OK ? X509_verify_cert_error_string(e) :
							  openssl_reason();
		if (ok == 1)
			remember_chain(ts, md, ctx);
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return why;
}
