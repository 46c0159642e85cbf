// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "policy/signed.h"
#include "https/https.h"
#include "agent/agent.h"
#include "agent/log.h"
#include "agent/platform.h"

struct platform {
	SSL_CTX *ssl;
	EVP_PKEY *key;
	char *cert_pem;
	char *id;
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

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return key;
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
	p->ssl = https_client_ctx(&tls, err, sizeof(err));
	if (!p->ssl)
		return log_errno(-EINVAL, "platform %s: %s", a->cfg.platform_url, err);
	p->key = read_key(a->cfg.tls_key);
	p->cert_pem = read_text(a->cfg.tls_cert);
	p->id = p->cert_pem ? cert_pem__cn(p->cert_pem) : NULL;
	if (!p->key || !p->id)
		return log_errno(-EINVAL, "platform %s: the node's key %s or certificate %s "
				 "cannot be read, or the certificate has no single CN",
				 a->cfg.platform_url, a->cfg.tls_key, a->cfg.tls_cert);
	log_info("platform %s: this node reports as %s", a->cfg.platform_url, p->id);
	return 0;
}

void platform__close(struct agent *a)
{
	struct platform *p = a->platform;

	if (!p)
		return;
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

static void on_answer(const struct https_reply *r, void *arg)
{
	char *what = arg;
	cJSON *doc = r->body ? cJSON_Parse(r->body) : NULL;
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "status"));

	if (status && !strcmp(status, "0"))
		log_info("platform: %s: accepted", what);
	else
		log_error("platform: %s: not accepted: %s", what,
			  r->error ? r->error : r->body ? r->body : "no answer");
	cJSON_Delete(doc);
	free(what);
}

int platform__send(struct agent *a, const char *path, cJSON *doc, const char *what)
{
	struct platform *p = a->platform;
	char url[2048], *body = NULL, *copy = NULL;
	int err;

	if (!p)
		return -ENOTCONN;
	if (snprintf(url, sizeof(url), "%s%s", a->cfg.platform_url, path) >= (int)sizeof(url))
		return log_errno(-ENAMETOOLONG, "platform: %s: URL too long", what);
	err = signed_doc__sign(doc, p->key, p->cert_pem);
	if (!err) {
		body = cJSON_PrintUnformatted(doc);
		copy = strdup(what);
		err = body && copy ? 0 : -ENOMEM;
	}
	if (!err)
		err = https_post(a->base, p->ssl, url, body, strlen(body), on_answer, copy);
	if (err) {
		free(copy); /* on_answer is not called */
		log_errno(err, "platform: %s: not sent to %s", what, url);
	}
	free(body);
	return err;
}
