// SPDX-License-Identifier: Apache-2.0
/*
 * tds-platform push and terminate: the platform's side of a node's Annex B interfaces, over
 * mutual TLS with https/'s client. The platform remembers what it pushed (--db), so that it
 * can name the contract in a terminate notice as the node filed it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/ssl.h>

#include "policy/policy.h"
#include "policy/signed.h"
#include "https/https.h"
#include "tools/tds.h"

/* ---- one POST ------------------------------------------------------------------------- */

/* AGENT_URL, a base such as https://127.0.0.1:8443, with the interface's path after it. */
static char *interface_url(const char *base, const char *path)
{
	size_t len = strlen(base);
	char *url;

	while (len && base[len - 1] == '/')
		len--;
	return asprintf(&url, "%.*s%s", (int)len, base, path) < 0 ? NULL : url;
}

/* The node's Annex B answer, or NULL when there is none (the reason printed). */
static cJSON *post(const struct tds_opts *o, const char *base, const char *path, const char *body)
{
	struct tls_files tls = { o->cert, o->key, o->ca };
	char err[512], *url = interface_url(base, path);
	SSL_CTX *ctx = https_client_ctx(&tls, err, sizeof(err));
	struct https_reply r = { 0 };
	cJSON *reply = NULL;

	if (!ctx)
		fprintf(stderr, "tds-platform: %s\n", err);
	else if (!url || https_post_wait(ctx, url, body, strlen(body), &r) < 0)
		fprintf(stderr, "tds-platform: %s: not a URL this client can use (expected "
			"https://HOST:PORT)\n", base);
	else if (r.error)
		fprintf(stderr, "tds-platform: %s: %s\n", url, r.error);
	else if (r.status != 200)
		fprintf(stderr, "tds-platform: %s: HTTP %d\n", url, r.status);
	else if (!(reply = cJSON_Parse(r.body)))
		fprintf(stderr, "tds-platform: %s: the answer is not JSON\n", url);
	https_reply__clear(&r);
	SSL_CTX_free(ctx);
	free(url);
	return reply;
}

/* Prints the answer (as it came with --json) and gives the exit code its status says. */
static int finish(const struct tds_opts *o, const cJSON *reply, void (*print_done)(const cJSON *))
{
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "status"));
	const cJSON *e;
	char *text;

	if (o->json) {
		text = cJSON_Print(reply);
		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (status && !strcmp(status, "0")) {
		print_done(reply);
	} else {
		fprintf(stderr, "tds-platform: refused by the node:\n");
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(reply, "errors")) {
			const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));

			fprintf(stderr, "  %s%s%s\n", path ? path : "", path && *path ? ": " : "",
				cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")));
		}
	}
	return status && !strcmp(status, "0") ? TDS_OK : TDS_REFUSED;
}

/* ---- push ----------------------------------------------------------------------------- */

static void print_applied(const cJSON *reply)
{
	printf("applied: contract %s, version %d\n",
	       cJSON_GetStringValue(cJSON_GetObjectItem(reply, "contractId")),
	       cJSON_GetObjectItem(reply, "version") ?
		       cJSON_GetObjectItem(reply, "version")->valueint : 0);
}

int tds_push(const struct tds_opts *o)
{
	char *body = NULL;
	cJSON *reply = NULL;
	struct tds_db *db = NULL;
	const char *id;
	size_t len;
	int code = TDS_USAGE, err;

	if (o->n_args != 2)
		return tds_usage("push");
	err = tds_read_file(o->args[1], &body, &len);
	if (err) {
		fprintf(stderr, "tds-platform: %s: %s\n", o->args[1], strerror(-err));
		return TDS_USAGE;
	}
	if (o->db && !(db = tds_db__open(o->db))) {
		fprintf(stderr, "tds-platform: %s: %s\n", o->db, strerror(errno));
		goto cleanup;
	}
	reply = post(o, o->args[0], "/contractExecution", body);
	if (!reply)
		goto cleanup;
	code = finish(o, reply, print_applied);
	id = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "contractId"));
	if (code == TDS_OK && db && id && (err = tds_db__add_contract(db, id, o->args[0], body))) {
		fprintf(stderr, "tds-platform: %s: %s\n", o->db, strerror(-err));
		code = TDS_USAGE;
	}
cleanup:
	cJSON_Delete(reply);
	tds_db__close(db);
	free(body);
	return code;
}

/* ---- terminate ------------------------------------------------------------------------ */

/* The notice for a contract this platform pushed, signed with the platform's key. */
static cJSON *signed_notice(const struct tds_opts *o, const struct contract *c, const char *pem)
{
	char *cn = cert_pem__cn(pem);
	int64_t now = (int64_t)time(NULL);
	struct terminate_notice n = {
		.contract_id = c->id, .contract_name = c->name, .type = o->type,
		.issuer_id = cn, .issuer_entity_id = cn, .issue_time = now,
		.activation_time = c->activation_time, .scheduled_end_time = c->end_time,
		.agreed_end_time = strcmp(o->type, "01") ? 0 : now,
	};
	EVP_PKEY *key = pem_key__read(o->key);
	cJSON *doc = cn && key ? terminate_notice__build(&n) : NULL;

	if (!cn || !key)
		fprintf(stderr, "tds-platform: %s\n", !cn ? "the certificate has no single CN" :
						       "the key cannot be read");
	if (doc && signed_doc__sign(doc, key, pem) < 0) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	EVP_PKEY_free(key);
	free(cn);
	return doc;
}

static void print_terminated(const cJSON *reply)
{
	const cJSON *proof = cJSON_GetObjectItem(reply, "destructionProof"), *f;
	struct pol_errors errs = { 0 };

	printf("terminated: contract %s\n",
	       cJSON_GetStringValue(cJSON_GetObjectItem(reply, "contractId")));
	if (!proof)
		return;
	printf("destruction proof (%s, signature %s):\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(proof, "complete")) ? "complete" : "INCOMPLETE",
	       proof__verify(proof, &errs) ? "DOES NOT VERIFY" : "verifies");
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(proof, "files"))
		printf("  %s %s sm3 %s\n",
		       cJSON_IsTrue(cJSON_GetObjectItem(f, "deleted")) ? "deleted" : "NOT DELETED",
		       cJSON_GetStringValue(cJSON_GetObjectItem(f, "path")),
		       cJSON_GetStringValue(cJSON_GetObjectItem(f, "sm3")));
	pol_errors__clear(&errs);
}

/* A proof that does not verify is no proof: the command fails. */
static int record_termination(const struct tds_opts *o, struct tds_db *db, const char *id,
			      const cJSON *reply)
{
	const cJSON *proof = cJSON_GetObjectItem(reply, "destructionProof");
	struct pol_errors errs = { 0 };
	char *text = proof ? cJSON_PrintUnformatted(proof) : NULL;
	int err = proof && proof__verify(proof, &errs) ? -EINVAL : 0;

	if (!err)
		err = tds_db__set_terminated(db, id, text);
	if (err)
		fprintf(stderr, "tds-platform: %s: %s\n", id, err == -EINVAL ?
			"the destruction proof does not verify" : strerror(-err));
	pol_errors__clear(&errs);
	free(text);
	return err ? TDS_REFUSED : TDS_OK;
}

/* The contract as pushed: the notice must name it as the node filed it. */
static struct contract *pushed(struct tds_db *db, const char *id)
{
	struct pol_errors errs = { 0 };
	struct contract *c = NULL;
	char *body = NULL;
	int err = tds_db__get_contract(db, id, &body);

	if (!err)
		c = policy__parse(body, strlen(body), NULL, &errs);
	if (!c)
		fprintf(stderr, "tds-platform: %s: %s\n", id, err == -ENOENT ?
			"not pushed by this platform (push it with --db)" :
			err ? strerror(-err) : "the contract pushed no longer parses");
	pol_errors__clear(&errs);
	free(body);
	return c;
}

int tds_terminate(const struct tds_opts *o)
{
	struct tds_db *db = NULL;
	struct contract *c = NULL;
	cJSON *notice = NULL, *reply = NULL;
	char *pem = NULL, *body = NULL;
	size_t len;
	int code = TDS_USAGE;

	if (o->n_args != 2 || !o->db || (strcmp(o->type, "01") && strcmp(o->type, "02")))
		return tds_usage("terminate");
	db = tds_db__open(o->db);
	if (!db) {
		fprintf(stderr, "tds-platform: %s: %s\n", o->db, strerror(errno));
		return TDS_USAGE;
	}
	c = pushed(db, o->args[1]);
	if (c && tds_read_file(o->cert, &pem, &len) < 0)
		fprintf(stderr, "tds-platform: %s: cannot read it\n", o->cert);
	notice = pem ? signed_notice(o, c, pem) : NULL;
	body = notice ? cJSON_Print(notice) : NULL;
	reply = body ? post(o, o->args[0], "/contractTerminate", body) : NULL;
	if (reply)
		code = finish(o, reply, print_terminated);
	if (code == TDS_OK)
		code = record_termination(o, db, c->id, reply);
	cJSON_Delete(reply);
	free(body);
	cJSON_Delete(notice);
	free(pem);
	contract__free(c);
	tds_db__close(db);
	return code;
}
