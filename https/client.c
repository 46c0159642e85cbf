// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTPS client: one POST per connection (Connection: close), evhttp over a
 * bufferevent_openssl that checks the server's certificate against our CA and the URL's host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "https/https.h"
#include "https/internal.h"

/* Connecting, the handshake, sending and the answer each get this long. */
#define IO_TIMEOUT_SECONDS 30

struct post {
	https_done done;
	void *arg;
	struct event_base *base;
	struct evhttp_connection *conn;
	struct bufferevent *bev;
	enum evhttp_request_error error;
	bool failed;
};

SSL_CTX *https_client_ctx(const struct tls_files *tls, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_new(TLS_client_method(), tls, err, errlen);

	if (ctx)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* The server's certificate must name the host of the URL: an address or a DNS name. */
static SSL *new_ssl(SSL_CTX *ctx, const char *host)
{
	SSL *ssl = SSL_new(ctx);
	X509_VERIFY_PARAM *param = ssl ? SSL_get0_param(ssl) : NULL;
	unsigned char addr[16];
	bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;

	if (!ssl)
		return NULL;
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 :
		 SSL_set_tlsext_host_name(ssl, host) != 1 ||
			 X509_VERIFY_PARAM_set1_host(param, host, 0) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static const char *describe(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT: /* libevent 2.1 says so of a connection refused too */
		return "no connection, or no answer in time";
	case EVREQ_HTTP_EOF:
		return "the server closed the connection without an answer";
	case EVREQ_HTTP_INVALID_HEADER:
		return "the answer is not HTTP";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "the answer is too long";
	default:
		return "connection failed (refused, unreachable or reset)";
	}
}

/* Why there was no answer: OpenSSL's reason when TLS failed (the server refused our
 * certificate, or we its), else what evhttp saw. */
static char *failure(struct post *p)
{
	unsigned long e = bufferevent_get_openssl_error(p->bev);
	const char *tls = e ? ERR_reason_error_string(e) : NULL;
	char *msg = NULL;

	while (bufferevent_get_openssl_error(p->bev))
		; /* the first reason is the one that matters */
	if (asprintf(&msg, "%s%s", tls ? "TLS: " : "", tls ? tls : describe(p->error)) < 0)
		msg = NULL;
	return msg;
}

static void free_post(evutil_socket_t fd, short what, void *arg)
{
	struct post *p = arg;

	evhttp_connection_free(p->conn);
	free(p);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct post *p = arg;

	p->error = e;
	p->failed = true;
}

static void on_response(struct evhttp_request *req, void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct post *p = arg;
	struct https_reply r = { 0 };
	struct evbuffer *in;

	if (req && !p->failed && evhttp_request_get_response_code(req)) {
		in = evhttp_request_get_input_buffer(req);
		r.status = evhttp_request_get_response_code(req);
		r.len = evbuffer_get_length(in);
		r.body = malloc(r.len + 1);
		if (r.body) {
			evbuffer_remove(in, r.body, r.len);
			r.body[r.len] = '\0';
		}
	} else {
		r.error = failure(p);
	}
	p->done(&r, p->arg);
	https_reply__clear(&r);
	/* The connection is still in use until this callback returns: free it after. */
	if (event_base_once(p->base, -1, EV_TIMEOUT, free_post, p, &now) < 0)
		free_post(-1, 0, p);
}

/* host, port and path of an https URL. */
static int split_url(const struct evhttp_uri *uri, char *host, size_t size, int *port,
		     char *target, size_t target_size)
{
	const char *scheme = evhttp_uri_get_scheme(uri), *h = evhttp_uri_get_host(uri);
	const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
	size_t len;

	if (!scheme || strcmp(scheme, "https") || !h || !*h)
		return -EINVAL;
	len = strlen(h);
	if (h[0] == '[' && h[len - 1] == ']') /* an IPv6 address */
		snprintf(host, size, "%.*s", (int)len - 2, h + 1);
	else
		snprintf(host, size, "%s", h);
	*port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 443;
	snprintf(target, target_size, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
		 query ? query : "");
	return 0;
}

static int send_request(struct post *p, const char *host, const char *target, const char *body,
			size_t len)
{
	struct evhttp_request *req = evhttp_request_new(on_response, p);
	struct evkeyvalq *headers;

	if (!req)
		return -ENOMEM;
	evhttp_request_set_error_cb(req, on_error);
	headers = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(headers, "Host", host) < 0 ||
	    evhttp_add_header(headers, "Content-Type", "application/json") < 0 ||
	    evhttp_add_header(headers, "Connection", "close") < 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), body, len) < 0) {
		evhttp_request_free(req);
		return -ENOMEM;
	}
	/* The request is libevent's from here on, even when this fails. */
	return evhttp_make_request(p->conn, req, EVHTTP_REQ_POST, target) < 0 ? -EIO : 0;
}

int https_post(struct event_base *base, SSL_CTX *ctx, const char *url, const char *body,
	       size_t len, https_done done, void *arg)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	struct post *p = calloc(1, sizeof(*p));
	char host[256], target[2048];
	SSL *ssl = NULL;
	int port, err = -ENOMEM;

	if (!uri || !p || split_url(uri, host, sizeof(host), &port, target, sizeof(target)) < 0) {
		err = p ? -EINVAL : -ENOMEM;
		goto fail;
	}
	*p = (struct post){ .done = done, .arg = arg, .base = base };
	ssl = new_ssl(ctx, host);
	p->bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						      BEV_OPT_CLOSE_ON_FREE |
							      BEV_OPT_DEFER_CALLBACKS) :
		       NULL;
	if (!p->bev) {
		SSL_free(ssl);
		goto fail;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
	p->conn = evhttp_connection_base_bufferevent_new(base, NULL, p->bev, host,
							 (unsigned short)port);
	if (!p->conn) {
		bufferevent_free(p->bev);
		goto fail;
	}
	evhttp_connection_set_timeout(p->conn, IO_TIMEOUT_SECONDS);
	err = send_request(p, host, target, body, len);
	if (err) {
		evhttp_connection_free(p->conn);
		goto fail;
	}
	evhttp_uri_free(uri);
	return 0;
fail:
	if (uri)
		evhttp_uri_free(uri);
	free(p);
	return err;
}

static void keep_reply(const struct https_reply *r, void *arg)
{
	struct https_reply *ret = arg;

	ret->status = r->status;
	ret->len = r->len;
	if (r->body && (ret->body = malloc(r->len + 1)))
		memcpy(ret->body, r->body, r->len + 1);
	if (r->error || !ret->body)
		ret->error = strdup(r->error ? r->error : "out of memory");
}

int https_post_wait(SSL_CTX *ctx, const char *url, const char *body, size_t len,
		    struct https_reply *ret)
{
	struct event_base *base = event_base_new();
	int err;

	memset(ret, 0, sizeof(*ret));
	if (!base)
		return -ENOMEM;
	err = https_post(base, ctx, url, body, len, keep_reply, ret);
	if (!err && event_base_dispatch(base) < 0)
		err = -EIO;
	event_base_free(base);
	return err;
}

void https_reply__clear(struct https_reply *r)
{
	free(r->body);
	free(r->error);
	memset(r, 0, sizeof(*r));
}
