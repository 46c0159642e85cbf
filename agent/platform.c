// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "policy/signed.h"
#include "https/https.h"
#include "agent/agent.h"
#include "agent/backoff.h"
#include "agent/log.h"
#include "agent/platform.h"
#include "agent/store.h"

struct platform {
	struct agent *a;
	SSL_CTX *ssl;
	EVP_PKEY *key;
	char *cert_pem;
	char *id;
	struct event *turn;  /* the next notice's turn to go */
	char *sending;	     /* the contract whose notice is in flight, or NULL */
	unsigned backoff_ms; /* 0: not backing off */
};

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

/* ---- expiry notices, until the platform confirms them ------------------------------- */

static void schedule(struct platform *p, unsigned ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	evtimer_add(p->turn, &tv);
}

/* The oldest notice waiting, built and signed the first time (then kept: a resend is the same
 * bytes, which the platform recognises); -EAGAIN when its contract is not terminated yet. */
static int next_notice(struct platform *p, char **ret_id, char **ret_body)
{
	char *id = NULL, *body = NULL;
	cJSON *doc = NULL;
	int err;

	err = store__next_outgoing(p->a->store, &id, &body);
	if (err || body)
		goto out;
	err = agent_expiry_notice(p->a, id, &doc);
	if (!err)
		err = signed_doc__sign(doc, p->key, p->cert_pem);
	if (!err)
		err = (body = cJSON_PrintUnformatted(doc)) ? 0 : -ENOMEM;
	if (!err)
		err = store__set_outgoing(p->a->store, id, body);
	cJSON_Delete(doc);
out:
	if (err) {
		free(id);
		free(body);
		return err;
	}
	*ret_id = id;
	*ret_body = body;
	return 0;
}

static void on_answer(const struct https_reply *r, void *arg)
{
	struct platform *p = arg;
	cJSON *doc = r->status == 200 && r->body ? cJSON_Parse(r->body) : NULL;
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "status"));
	int err;

	if (status && !strcmp(status, "0")) {
		log_info("platform: expiry notice of %s: accepted", p->sending);
		err = store__drop_outgoing(p->a->store, p->sending);
		if (err) /* sent again at the next turn: the platform drops the duplicate */
			log_errno(err, "platform: expiry notice of %s: kept in the store", p->sending);
		p->backoff_ms = 0;
		schedule(p, 0);
	} else {
		log_warn("platform: expiry notice of %s: not confirmed, sent again later: %s",
			 p->sending, r->error ? r->error : r->body ? r->body : "no answer");
		schedule(p, backoff_next(&p->backoff_ms, PLATFORM_BACKOFF_MIN_MS,
					 PLATFORM_BACKOFF_MAX_MS));
	}
	free(p->sending);
	p->sending = NULL;
	cJSON_Delete(doc);
}

/* One notice at a time, oldest first: a contract not terminated yet (a restart in the middle
 * of its expiry) holds the others back until its expiry kicks the queue again. */
static void on_turn(evutil_socket_t fd, short what, void *arg)
{
	struct platform *p = arg;
	char url[2048], *id = NULL, *body = NULL;
	int err;

	if (p->sending)
		return; /* its answer takes the next turn */
	err = next_notice(p, &id, &body);
	if (err == -ENOENT || err == -EAGAIN)
		return;
	if (!err && snprintf(url, sizeof(url), "%s/contractTerminate", p->a->cfg.platform_url) >=
			    (int)sizeof(url))
		err = -ENAMETOOLONG;
	if (!err)
		err = https_post(p->a->base, p->ssl, url, body, strlen(body), on_answer, p);
	if (err) {
		log_errno(err, "platform: expiry notice of %s: not sent, tried again later",
			  id ? id : "?");
		schedule(p, backoff_next(&p->backoff_ms, PLATFORM_BACKOFF_MIN_MS,
					 PLATFORM_BACKOFF_MAX_MS));
		free(id);
	} else {
		p->sending = id;
	}
	free(body);
}

void platform__kick(struct agent *a)
{
	struct platform *p = a->platform;

	if (p && !p->sending && !p->backoff_ms)
		schedule(p, 0); /* backing off: the retry takes it */
}

int platform__open(struct agent *a)
{
	struct tls_files tls = { a->cfg.tls_cert, a->cfg.tls_key, a->cfg.platform_ca };
	struct platform *p;
	char err[512];

	if (!*a->cfg.platform_url)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	a->platform = p;
	p->a = a;
	p->turn = evtimer_new(a->base, on_turn, p);
	if (!p->turn)
		return -ENOMEM;
	p->ssl = https_client_ctx(&tls, err, sizeof(err));
	if (!p->ssl)
		return log_errno(-EINVAL, "platform %s: %s", a->cfg.platform_url, err);
	p->key = pem_key__read(a->cfg.tls_key);
	p->cert_pem = read_text(a->cfg.tls_cert);
	p->id = p->cert_pem ? cert_pem__cn(p->cert_pem) : NULL;
	if (!p->key || !p->id)
		return log_errno(-EINVAL, "platform %s: the node's key %s or certificate %s "
				 "cannot be read, or the certificate has no single CN",
				 a->cfg.platform_url, a->cfg.tls_key, a->cfg.tls_cert);
	log_info("platform %s: this node reports as %s", a->cfg.platform_url, p->id);
	schedule(p, 0); /* notices left unconfirmed before a restart */
	return 0;
}

void platform__close(struct agent *a)
{
	struct platform *p = a->platform;

	if (!p)
		return;
	if (p->turn)
		event_free(p->turn);
	free(p->sending);
	SSL_CTX_free(p->ssl);
	EVP_PKEY_free(p->key);
	free(p->cert_pem);
	free(p->id);
	free(p);
	a->platform = NULL;
}

const char *platform__node_id(const struct agent *a)
{
	return a->platform ? a->platform->id : NULL;
}
