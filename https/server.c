// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTPS server: evhttp on an evconnlistener, each connection a bufferevent_openssl. The
 * client's certificate is checked in the handshake (verify_client), so a client that is not
 * served never gets as far as HTTP.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "https/https.h"
#include "https/internal.h"
#include "policy/crypto.h"

/* A slow or silent client holds a connection at most this long. */
#define IO_TIMEOUT_SECONDS 30

#define LISTEN_FLAGS (LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE)

struct https_server {
	struct evhttp *http;
	SSL_CTX *ssl;
	char *allowed; /* copy of opts.allowed_cns */
	struct https_server_opts o;
};

__attribute__((format(printf, 3, 4))) static void
note(const struct https_server *s, bool refused, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!s->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->o.log(s->o.ctx, refused, msg);
}

/* Whether cn is one of the comma-separated names (spaces around a name do not count). */
static bool is_allowed(const char *list, const char *cn)
{
	size_t len = strlen(cn);

	for (const char *p = list; *p;) {
		const char *end = p + strcspn(p, ","), *last = end;

		while (*p == ' ' || *p == '\t')
			p++;
		while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if ((size_t)(last - p) == len && !strncmp(p, cn, len))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* OpenSSL has checked the chain up to the CA; at the client's own certificate (depth 0) the
 * subject CN must also be on the list. Refusals are told here, where the reason is known. */
static int verify_client(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct https_server *s = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	int depth = X509_STORE_CTX_get_error_depth(x);
	char *cn;

	if (ok && depth > 0)
		return 1;
	cn = x509_common_name(X509_STORE_CTX_get_current_cert(x));
	if (!ok) {
		note(s, true, "refused a client (certificate CN %s, depth %d): %s",
		     cn ? cn : "-", depth,
		     X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
	} else if (*s->allowed && (!cn || !is_allowed(s->allowed, cn))) {
		note(s, true, "refused a client: certificate CN %s is not among the allowed (%s)",
		     cn ? cn : "(none or several)", s->allowed);
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		ok = 0;
	}
	free(cn);
	return ok;
}

static struct bufferevent *new_connection(struct event_base *base, void *arg)
{
	struct https_server *s = arg;
	SSL *ssl = SSL_new(s->ssl);

	if (!ssl)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static void peer_name(struct evhttp_request *req, char *buf, size_t size)
{
	struct bufferevent *bev =
		evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	char *cn = ssl ? x509_common_name(SSL_get0_peer_certificate(ssl)) : NULL;

	snprintf(buf, size, "%s", cn ? cn : "-");
	free(cn);
}

static void send_json(struct evhttp_request *req, cJSON *reply)
{
	char *text = reply ? cJSON_PrintUnformatted(reply) : NULL;

	cJSON_Delete(reply);
	if (!text) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
	free(text);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct https_server *s = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in), i;
	char peer[256], *body;

	for (i = 0; i < s->o.n_routes; i++)
		if (path && !strcmp(path, s->o.routes[i].path))
			break;
	if (i == s->o.n_routes) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	body = malloc(len + 1);
	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	peer_name(req, peer, sizeof(peer));
	send_json(req, s->o.routes[i].handle(body, len, peer, s->o.ctx));
	free(body);
}

/* evhttp on a listener of our own: libevent parses ADDR:PORT and [ADDR]:PORT. */
static int listen_on(struct https_server *s, struct event_base *base, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct evconnlistener *l;
	char host[64], port[16];

	if (evutil_parse_sockaddr_port(s->o.listen, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(err, errlen, "listen %s: expected ADDR:PORT or [ADDR]:PORT", s->o.listen);
		return -EINVAL;
	}
	l = evconnlistener_new_bind(base, NULL, NULL, LISTEN_FLAGS, -1, (struct sockaddr *)&ss, len);
	if (!l || !evhttp_bind_listener(s->http, l)) {
		int r = errno ? -errno : -ENOMEM;

		snprintf(err, errlen, "listen %s: %s", s->o.listen, strerror(-r));
		if (l)
			evconnlistener_free(l);
		return r;
	}
	/* The port the system chose for :0, for whoever reads the log. */
	len = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, (socklen_t *)&len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, (socklen_t)len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		note(s, false, "listening on %s port %s", host, port);
	return 0;
}

struct https_server *https_server__open(struct event_base *base, const struct https_server_opts *o,
					char *err, size_t errlen)
{
	struct https_server *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;

	if (!s)
		return NULL;
	s->o = *o;
	s->allowed = strdup(o->allowed_cns ? o->allowed_cns : "");
	s->ssl = tls_ctx_new(TLS_server_method(), &o->tls, err, errlen);
	s->http = evhttp_new(base);
	if (!s->ssl) {
		r = -EINVAL;
		goto fail;
	}
	if (!s->allowed || !s->http)
		goto fail;
	SSL_CTX_set_app_data(s->ssl, s);
	SSL_CTX_set_verify(s->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   verify_client);
	evhttp_set_bevcb(s->http, new_connection, s);
	evhttp_set_gencb(s->http, on_request, s);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_POST);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)o->max_body);
	evhttp_set_timeout(s->http, IO_TIMEOUT_SECONDS);
	r = listen_on(s, base, err, errlen);
	if (!r)
		return s;
fail:
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	https_server__close(s);
	errno = -r;
	return NULL;
}

void https_server__close(struct https_server *s)
{
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http);
	SSL_CTX_free(s->ssl);
	free(s->allowed);
	free(s);
}
