// SPDX-License-Identifier: Apache-2.0
/*
 * The platform API: the two Annex B interfaces a platform calls on a node, on https/'s server.
 * Each request is checked in full before anything changes, so a refused one leaves the node
 * as it was; each is decided and logged here, once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "policy/policy.h"
#include "policy/signed.h"
#include "https/https.h"
#include "agent/agent.h"
#include "agent/api.h"
#include "agent/log.h"
#include "agent/store.h"

/* A notice may be dated this far ahead of the node's clock (the two clocks differ a little). */
#define CLOCK_SKEW_SECONDS 300

/* ---- the log ------------------------------------------------------------------------- */

static void log_outcome(const char *peer, const char *what, const char *id, int err,
			const struct pol_errors *errs)
{
	if (!err)
		log_info("platform %s: %s %s: done", peer, what, id);
	else
		log_warn("platform %s: %s %s: refused, nothing changed: %s%s%s", peer, what, id,
			 errs->n ? errs->v[0].path : "", errs->n && *errs->v[0].path ? ": " : "",
			 errs->n ? errs->v[0].msg : strerror(-err));
}

/* ---- /contractExecution --------------------------------------------------------------- */

/* What agent_apply() cannot see: a NUL inside the body (the text would end there), and the
 * same contract version again, a replay. Everything else agent_apply() reports, all at once. */
static int check_contract_body(struct agent *a, const char *body, size_t len, char id[48],
			       struct pol_errors *errs)
{
	struct pol_errors ignored = { 0 };
	struct contract *c;
	char hash[65];
	int version, err = 0;

	if (strlen(body) != len) {
		pol_errors__add(errs, "", "the body holds a NUL byte");
		return -EINVAL;
	}
	c = policy__parse(body, len, NULL, &ignored);
	pol_errors__clear(&ignored);
	if (c)
		snprintf(id, 48, "%s", c->id);
	if (c && !contract__hash(c, hash) &&
	    !store__find_version(a->store, c->id, hash, &version)) {
		pol_errors__add(errs, "", "replay: this is version %d of contract %s, filed "
				"before; nothing changed", version, c->id);
		err = -EALREADY;
	}
	contract__free(c);
	return err;
}

static cJSON *on_execution(const char *body, size_t len, const char *peer, void *ctx)
{
	struct agent *a = ctx;
	struct pol_errors errs = { 0 };
	int slot, version = 0, err;
	char id[48] = "-";
	cJSON *reply;

	err = check_contract_body(a, body, len, id, &errs);
	if (!err)
		err = agent_apply(a, body, &slot, &version, &errs);
	reply = annex_b__reply(err, &errs);
	if (!err) {
		cJSON_AddStringToObject(reply, "contractId", id);
		cJSON_AddNumberToObject(reply, "version", version);
	}
	log_outcome(peer, "/contractExecution", id, err, &errs);
	pol_errors__clear(&errs);
	return reply;
}

/* ---- /contractTerminate --------------------------------------------------------------- */

/* SHA-256 of the signed bytes: a notice is the same notice whatever its signature's bytes
 * (ECDSA signatures can be altered without the key and still verify). */
static int notice_digest(const struct terminate_notice *n, char hex[65])
{
	unsigned char md[32];
	size_t len, md_len = 0;
	char *data = signed_doc__canonical(n->doc, &len);
	int err = data && EVP_Q_digest(NULL, "SHA256", NULL, data, len, md, &md_len) == 1 ?
			  0 : -ENOMEM;

	for (size_t i = 0; !err && i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	free(data);
	return err;
}

struct filed {
	char state[8];
	struct contract *c;
};

static int parse_filed(const struct stored_contract *sc, void *ctx)
{
	struct filed *f = ctx;
	struct pol_errors errs = { 0 };

	snprintf(f->state, sizeof(f->state), "%s", sc->state);
	f->c = policy__parse(sc->body, strlen(sc->body), NULL, &errs);
	pol_errors__clear(&errs);
	return f->c ? 0 : -EIO; /* it was valid when it was filed */
}

/* The contract the notice is about, in execution here; NULL with an error otherwise. */
static struct contract *executing(struct agent *a, const char *id, struct pol_errors *errs)
{
	struct filed f = { "", NULL };
	int err = store__get_contract(a->store, id, parse_filed, &f);

	if (err)
		pol_errors__add(errs, "contractId", "%s", err == -ENOENT ?
				"no such contract at this node" : strerror(-err));
	else if (strcmp(f.state, "05"))
		pol_errors__add(errs, "contractId", "not in execution (state %s)", f.state);
	if (!err && !strcmp(f.state, "05"))
		return f.c;
	contract__free(f.c);
	return NULL;
}

/* The notice names the contract as it was filed. */
static void check_matches(const struct contract *c, const struct terminate_notice *n,
			  struct pol_errors *errs)
{
	if (strcmp(n->contract_name, c->name))
		pol_errors__add(errs, "contractName", "is not the name of contract %s", c->id);
	if (n->activation_time != c->activation_time)
		pol_errors__add(errs, "activationTime", "is not the activationTime of contract %s",
				c->id);
	if (n->scheduled_end_time != c->end_time)
		pol_errors__add(errs, "scheduledEndTime", "is not the endTime of contract %s",
				c->id);
}

/* A party to the contract may end it, and so may the platform that sends the notice. */
static void check_issuer(const struct contract *c, const struct terminate_notice *n,
			 const char *peer, struct pol_errors *errs)
{
	for (size_t i = 0; i < c->n_signatories; i++)
		if (!strcmp(c->signatories[i].entity_id, n->issuer_entity_id))
			return;
	if (strcmp(peer, n->issuer_entity_id))
		pol_errors__add(errs, "issuerEntityId", "%s is neither a signatory of contract %s "
				"nor the platform sending the notice (%s)", n->issuer_entity_id,
				c->id, peer);
}

static void check_timing(const struct contract *c, const struct terminate_notice *n,
			 int64_t now, struct pol_errors *errs)
{
	if (n->issue_time > now + CLOCK_SKEW_SECONDS)
		pol_errors__add(errs, "issueTime", "is in the future");
	if (!strcmp(n->type, "02") && now < c->end_time)
		pol_errors__add(errs, "erminateType", "02 (on expiry), but contract %s has not "
				"reached its endTime", c->id);
	/* Early termination takes effect when the notice arrives: one dated later would end
	 * the consumer's rights before the agreed time. */
	if (n->agreed_end_time > now + CLOCK_SKEW_SECONDS)
		pol_errors__add(errs, "agreedEndTime", "is in the future: send the notice when "
				"the agreed end has come");
}

static int check_notice(struct agent *a, const struct terminate_notice *n, const char *digest,
			const char *peer, struct pol_errors *errs)
{
	size_t before = pol_errors__count(errs);
	struct contract *c;
	int64_t accepted;
	char when[32];
	struct tm tm;

	if (store__find_notice(a->store, digest, &accepted) == 0) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime_r(&(time_t){ (time_t)accepted }, &tm));
		pol_errors__add(errs, "", "replay: this notice was accepted before, at %s; "
				"nothing changed", when);
		return -EALREADY;
	}
	c = executing(a, n->contract_id, errs);
	if (c) {
		check_matches(c, n, errs);
		check_issuer(c, n, peer, errs);
		check_timing(c, n, (int64_t)time(NULL), errs);
	}
	contract__free(c);
	return pol_errors__count(errs) != before ? -EINVAL : 0;
}

/* 1. the notice as a document; 2. its signature; 3. what it asks; 4. done, once. */
static int terminate(struct agent *a, const struct terminate_notice *n, const char *peer,
		     cJSON **ret_proof, struct pol_errors *errs)
{
	char digest[65], cause[256];
	int err;

	err = terminate_notice__verify(n, a->cfg.trust, errs);
	if (!err)
		err = notice_digest(n, digest);
	if (!err)
		err = check_notice(a, n, digest, peer, errs);
	if (err)
		return err;
	snprintf(cause, sizeof(cause), "terminated %s by %s (/contractTerminate from %s)",
		 strcmp(n->type, "01") ? "on expiry (02)" : "early (01)", n->issuer_entity_id,
		 peer);
	err = agent_terminate(a, n->contract_id, cause, ret_proof, errs);
	if (!err && store__add_notice(a->store, digest, n->contract_id) < 0)
		log_error("contract %s: the notice could not be recorded: a replay will find "
			  "the contract terminated", n->contract_id);
	return err;
}

static cJSON *on_terminate(const char *body, size_t len, const char *peer, void *ctx)
{
	struct agent *a = ctx;
	struct pol_errors errs = { 0 };
	struct terminate_notice *n = terminate_notice__parse(body, len, &errs);
	cJSON *proof = NULL, *reply;
	int err = n ? terminate(a, n, peer, &proof, &errs) : -EINVAL;

	reply = annex_b__reply(err, &errs);
	if (!err) {
		cJSON_AddStringToObject(reply, "contractId", n->contract_id);
		if (proof)
			cJSON_AddItemToObject(reply, "destructionProof", proof);
	}
	log_outcome(peer, "/contractTerminate", n ? n->contract_id : "-", err, &errs);
	terminate_notice__free(n);
	pol_errors__clear(&errs);
	return reply;
}

/* ---- the server ----------------------------------------------------------------------- */

static void log_server(void *ctx, bool refused, const char *msg)
{
	log_msg(refused ? LOG_WARN : LOG_INFO, "platform API: %s", msg);
}

int api__open(struct agent *a)
{
	static const struct https_route routes[] = {
		{ "/contractExecution", on_execution },
		{ "/contractTerminate", on_terminate },
	};
	struct https_server_opts o = {
		.listen = a->cfg.listen,
		.tls = { a->cfg.tls_cert, a->cfg.tls_key, a->cfg.platform_ca },
		.allowed_cns = a->cfg.platform_ids,
		.max_body = strtoull(a->cfg.max_body_bytes, NULL, 10),
		.routes = routes,
		.n_routes = sizeof(routes) / sizeof(routes[0]),
		.ctx = a,
		.log = log_server,
	};
	char err[512];

	if (!*a->cfg.listen)
		return 0;
	/* An empty list would serve any certificate the CA vouches for: never what is meant. */
	if (!*a->cfg.platform_ids)
		return log_errno(-EINVAL, "listen = %s needs platform_ids, the platforms served",
				 a->cfg.listen);
	a->api = https_server__open(a->base, &o, err, sizeof(err));
	if (!a->api)
		return log_errno(-errno, "platform API: %s", err);
	return 0;
}

void api__close(struct agent *a)
{
	https_server__close(a->api);
	a->api = NULL;
}
