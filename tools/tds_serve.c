// SPDX-License-Identifier: Apache-2.0
/*
 * tds-platform serve: the platform's side of the interfaces nodes call (Annex B), over mutual
 * TLS: /contractExecution execution reports and /contractTerminate notices. What is signed is
 * verified with policy/; what is accepted is stored; `tds-platform reports` lists it.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <gcrypt.h>

#include "policy/policy.h"
#include "policy/signed.h"
#include "https/https.h"
#include "tools/tds.h"

/* Batches of behaviour records can be large; a node's report is at most this. */
#define MAX_BODY (16u << 20)

struct serve {
	struct tds_db *db;
	const char *trust; /* CAs of the nodes' signing certificates */
};

static void log_server(void *ctx, bool refused, const char *msg)
{
	fprintf(stderr, "tds-platform: %s\n", msg);
}

static cJSON *answer(struct serve *s, const char *interface, const char *id, const char *peer,
		     const char *verdict, const char *body, int err, struct pol_errors *errs)
{
	cJSON *reply;

	if (!err && (err = tds_db__add_received(s->db, interface, id, peer, verdict, body)))
		pol_errors__add(errs, "", "the platform could not store it: %s", strerror(-err));
	reply = annex_b__reply(err, errs);
	if (!err)
		fprintf(stderr, "tds-platform: %s %s from %s: %s\n", interface, id, peer, verdict);
	else
		fprintf(stderr, "tds-platform: %s %s from %s: refused: %s%s%s\n", interface,
			id ? id : "-", peer, errs->n ? errs->v[0].path : "",
			errs->n && *errs->v[0].path ? ": " : "",
			errs->n ? errs->v[0].msg : strerror(-err));
	pol_errors__clear(errs);
	return reply;
}

/* An execution report: signed ones (certificate, signature) must be signed by the node that
 * sends them, with a certificate valid at reportTime; behaviour records in executionDetails
 * must continue the node's chain (tds_chain.c). */
static cJSON *on_report(const char *body, size_t len, const char *peer, void *arg)
{
	struct serve *s = arg;
	struct pol_errors errs = { 0 };
	cJSON *doc = pol_json__parse(body, len, MAX_BODY, &errs), *reply;
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "contractId"));
	const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "reportTime"));
	bool is_signed = cJSON_GetObjectItemCaseSensitive(doc, "signature") != NULL;
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "executedStrategy"), "executionDetails");
	bool records = cJSON_GetObjectItemCaseSensitive(details, "chain") != NULL;
	char *kept;
	int64_t at = time(NULL);
	int err = doc ? 0 : -EINVAL;

	if (doc && !id)
		pol_errors__add(&errs, "contractId", "required member missing");
	if (doc && (!when || pol_time__parse(when, &at) < 0))
		pol_errors__add(&errs, "reportTime", "required: a timestamp");
	if (!err && pol_errors__count(&errs))
		err = -EINVAL;
	if (!err && is_signed)
		err = signed_doc__verify(doc, s->trust, at, peer, &errs);
	if (!err && records)
		err = tds_chain__accept(s->db, peer, details, &errs);
	if (!err && records) /* the records are stored on their own: the rest is kept here */
		cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)details, "chain");
	kept = !err && records ? cJSON_PrintUnformatted(doc) : NULL;
	reply = answer(s, "/contractExecution", id, peer,
		       records ? "records, chain verified" :
		       is_signed ? "signature verified" : "unsigned", kept ? kept : body, err, &errs);
	free(kept);
	cJSON_Delete(doc);
	return reply;
}

/* A node's terminate notice (on expiry): signed by the node that sends it; the destruction
 * proof it carries in expansionItem must verify too. */
static cJSON *on_notice(const char *body, size_t len, const char *peer, void *arg)
{
	struct serve *s = arg;
	struct pol_errors errs = { 0 };
	struct terminate_notice *n = terminate_notice__parse(body, len, &errs);
	const cJSON *proof = n ? cJSON_GetObjectItem(n->expansion, "destructionProof") : NULL;
	int err = n ? terminate_notice__verify(n, s->trust, &errs) : -EINVAL;
	cJSON *reply;

	if (!err && strcmp(n->issuer_entity_id, peer)) {
		pol_errors__add(&errs, "issuerEntityId", "%s is not the node sending the notice "
				"(%s)", n->issuer_entity_id, peer);
		err = -EINVAL;
	}
	if (!err && proof)
		err = proof__verify(proof, &errs);
	/* A node sends a notice until it has the answer: one whose answer was lost comes again,
	 * the same bytes. Confirmed again, stored once. */
	if (!err && !tds_db__find_received(s->db, "/contractTerminate", peer, body)) {
		fprintf(stderr, "tds-platform: /contractTerminate %s from %s: received before\n",
			n->contract_id, peer);
		reply = annex_b__reply(0, &errs);
	} else {
		reply = answer(s, "/contractTerminate", n ? n->contract_id : NULL, peer,
			       proof ? "signature and destruction proof verified" :
				       "signature verified", body, err, &errs);
	}
	terminate_notice__free(n);
	return reply;
}

static void on_signal(evutil_socket_t sig, short what, void *base)
{
	event_base_loopbreak(base);
}

static int run(struct event_base *base, const struct tds_opts *o, struct serve *s)
{
	static const struct https_route routes[] = {
		{ "/contractExecution", on_report },
		{ "/contractTerminate", on_notice },
	};
	struct https_server_opts so = {
		.listen = o->listen,
		.tls = { o->cert, o->key, o->ca },
		.max_body = MAX_BODY,
		.routes = routes,
		.n_routes = sizeof(routes) / sizeof(routes[0]),
		.ctx = s,
		.log = log_server,
	};
	struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
	struct https_server *server = NULL;
	char err[512];
	int code = TDS_USAGE;

	if (!term || !intr || evsignal_add(term, NULL) || evsignal_add(intr, NULL))
		goto cleanup;
	server = https_server__open(base, &so, err, sizeof(err));
	if (!server) {
		fprintf(stderr, "tds-platform: %s\n", err);
		goto cleanup;
	}
	code = event_base_dispatch(base) < 0 ? TDS_USAGE : TDS_OK;
cleanup:
	https_server__close(server);
	if (term)
		event_free(term);
	if (intr)
		event_free(intr);
	return code;
}

int tds_serve(const struct tds_opts *o)
{
	struct serve s = { .trust = o->trust ? o->trust : o->ca };
	struct event_base *base;
	int code;

	if (o->n_args || !o->listen || !o->db)
		return tds_usage("serve");
	/* libgcrypt hashes the records' chain (tds_chain.c): initialised once, no keys in it. */
	if (!gcry_check_version(GCRYPT_VERSION) || gcry_md_test_algo(GCRY_MD_SM3)) {
		fprintf(stderr, "tds-platform: libgcrypt too old or without SM3\n");
		return TDS_USAGE;
	}
	(void)gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	(void)gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	s.db = tds_db__open(o->db);
	if (!s.db) {
		fprintf(stderr, "tds-platform: %s: %s\n", o->db, strerror(errno));
		return TDS_USAGE;
	}
	base = event_base_new();
	code = base ? run(base, o, &s) : TDS_USAGE;
	if (base)
		event_base_free(base);
	tds_db__close(s.db);
	return code;
}
