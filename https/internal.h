/* SPDX-License-Identifier: Apache-2.0 */
/* TLS set-up shared by the server and the client inside https/; not part of its API. */
#ifndef PEP_HTTPS_INTERNAL_H
#define PEP_HTTPS_INTERNAL_H

#include <stddef.h>

#include <openssl/types.h>

struct tls_files;

/* A context with our certificate and key, trusting tls->ca, TLS 1.2 or later, without
 * session resumption. NULL with the reason in err. */
SSL_CTX *tls_ctx_new(const SSL_METHOD *method, const struct tls_files *tls, char *err,
		     size_t errlen);
/* OpenSSL's reason for the last error, queue emptied: "certificate verify failed". */
const char *tls_reason(void);

#endif /* PEP_HTTPS_INTERNAL_H */
