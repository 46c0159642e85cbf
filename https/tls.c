// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "https/https.h"
#include "https/internal.h"

const char *tls_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason ? reason : "no reason given";
}

/* A file OpenSSL is about to read: a missing one is named with the system's reason, which
 * OpenSSL reports only as "system lib". */
static const char *unreadable(const char *file)
{
	if (!file || !*file)
		return "no file given";
	return access(file, R_OK) < 0 ? strerror(errno) : NULL;
}

/* Loads our certificate, key and the CA; on failure, what, which file and why in err. */
static int load_files(SSL_CTX *ctx, const struct tls_files *tls, char *err, size_t errlen)
{
	const char *what = "certificate", *file = tls->cert, *why = unreadable(file);

	if (!why && SSL_CTX_use_certificate_chain_file(ctx, file) != 1)
		why = tls_reason();
	if (!why) {
		what = "key", file = tls->key, why = unreadable(file);
		if (!why && (SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM) != 1 ||
			     SSL_CTX_check_private_key(ctx) != 1))
			why = tls_reason();
	}
	if (!why) {
		what = "CA", file = tls->ca, why = unreadable(file);
		if (!why && SSL_CTX_load_verify_file(ctx, file) != 1)
			why = tls_reason();
	}
	if (why)
		snprintf(err, errlen, "%s %s: %s", what, file ? file : "", why);
	return why ? -1 : 0;
}

SSL_CTX *tls_ctx_new(const SSL_METHOD *method, const struct tls_files *tls, char *err,
		     size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	ERR_clear_error();
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		snprintf(err, errlen, "TLS context: %s", tls_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (load_files(ctx, tls, err, errlen) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* A resumed session skips the certificate checks: every connection shows its own. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}
