/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTPS with mutual TLS on libevent (evhttp over bufferevent_openssl): the agent's platform
 * API, the reference platform's server, and the client both use to POST JSON to the other.
 * No HTTP or TLS of our own: libevent parses HTTP, OpenSSL does TLS and checks certificates.
 *
 * Certificates, keys and CAs are PEM files; a CA file may hold several CAs. TLS 1.2 or later,
 * no session resumption (every connection shows its certificate again).
 */
#ifndef PEP_HTTPS_H
#define PEP_HTTPS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

struct event_base;
struct cJSON;
struct https_server;

struct tls_files {
	const char *cert; /* our certificate, then any intermediates */
	const char *key;  /* its private key */
	const char *ca;	  /* the CA file the peer's certificate must chain to */
};

/* ---- server ---------------------------------------------------------------------------- */

struct https_route {
	const char *path; /* "/contractExecution": POST only */
	/* Answers one request: body (NUL-terminated, len bytes before the NUL) from the client
	 * whose certificate's CN is peer. Returns the JSON reply, sent with 200 and freed by
	 * the server, or NULL (out of memory: 500). */
	struct cJSON *(*handle)(const char *body, size_t len, const char *peer, void *ctx);
};

struct https_server_opts {
	const char *listen; /* ADDR:PORT, or [ADDR]:PORT for IPv6 */
	struct tls_files tls;
	/* Comma-separated subject CNs served; NULL or "" serves any certificate the CA vouches
	 * for. Everyone else is refused in the TLS handshake. */
	const char *allowed_cns;
	size_t max_body; /* larger bodies are answered 413 unread */
	const struct https_route *routes;
	size_t n_routes;
	void *ctx; /* for handle() and log() */
	/* Where the server listens (refused = false) and every client refused in the
	 * handshake (refused = true), in plain words. */
	void (*log)(void *ctx, bool refused, const char *msg);
};

/* Listens and serves on base. NULL with errno and the reason in err (errlen bytes). */
struct https_server *https_server__open(struct event_base *base, const struct https_server_opts *o,
					char *err, size_t errlen);
/* Stops listening, drops open connections. Accepts NULL. */
void https_server__close(struct https_server *s);

/* ---- client ---------------------------------------------------------------------------- */

/* A client context: our certificate for the server, the CA the server's certificate must
 * chain to (and name the host or address of the URL). NULL with the reason in err. */
SSL_CTX *https_client_ctx(const struct tls_files *tls, char *err, size_t errlen);

struct https_reply {
	int status;  /* HTTP status, 0 when there was no HTTP answer */
	char *body;  /* NUL-terminated, or NULL */
	size_t len;
	char *error; /* why there was no answer (connection, TLS), or NULL */
};

typedef void (*https_done)(const struct https_reply *reply, void *arg);

/* POSTs a JSON body to url (https://HOST[:PORT]/PATH) from base's loop; done is called once,
 * with an answer or the reason there was none; the reply is freed after it returns. Returns
 * 0, or -errno when the request could not be started (done is then not called). */
int https_post(struct event_base *base, SSL_CTX *ctx, const char *url, const char *body,
	       size_t len, https_done done, void *arg);
/* The same on a loop of its own, waiting for the answer (command-line tools). Fills ret;
 * release it with https_reply__clear(). */
int https_post_wait(SSL_CTX *ctx, const char *url, const char *body, size_t len,
		    struct https_reply *ret);
void https_reply__clear(struct https_reply *r);

#endif /* PEP_HTTPS_H */
