// SPDX-License-Identifier: Apache-2.0
/*
 * Expiry: a timer per contract in execution fires at its endTime. The contract is terminated
 * on expiry (02) like any other termination (use stopped, obligations run, state 06 with the
 * cause) and the platform, when platform_url is set, gets POST /contractTerminate: the Annex
 * B.7 notice signed with the node's TLS key, the destruction proof in expansionItem, sent
 * until the platform confirms it (platform.h).
 *
 * The timers run on libevent's monotonic clock: a wall clock set back after a contract was
 * applied does not move its end (nor does it in the kernel, on the boot clock).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "policy/policy.h"
#include "policy/signed.h"
#include "agent/agent.h"
#include "agent/log.h"
#include "agent/platform.h"
#include "agent/store.h"

int64_t agent_now(const struct agent *a)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return clock_watch__now(&a->clock, ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* The contract as filed, once terminated: -EAGAIN before. */
static int parse_ended(const struct stored_contract *sc, void *ctx)
{
	struct pol_errors errs = { 0 };

	if (strcmp(sc->state, "06"))
		return -EAGAIN;
	*(struct contract **)ctx = policy__parse(sc->body, strlen(sc->body), NULL, &errs);
	pol_errors__clear(&errs);
	return *(struct contract **)ctx ? 0 : -EIO; /* it was valid when it was filed */
}

/* Its destruction proof, when the contract had a deletion obligation; NULL without. */
static int stored_proof(struct agent *a, const char *id, cJSON **ret_proof)
{
	char *text = NULL;
	int err = store__get_proof(a->store, id, &text);

	if (err)
		return err == -ENOENT ? 0 : err;
	*ret_proof = cJSON_Parse(text);
	free(text);
	return *ret_proof ? 0 : -EIO;
}

int agent_expiry_notice(struct agent *a, const char *id, cJSON **ret_doc)
{
	const char *node = platform__node_id(a);
	struct terminate_notice n = { .type = "02", .issuer_id = node, .issuer_entity_id = node };
	struct contract *c = NULL;
	cJSON *proof = NULL, *expansion = NULL, *doc = NULL;
	int err;

	err = store__get_contract(a->store, id, parse_ended, &c);
	if (!err)
		err = stored_proof(a, id, &proof);
	if (!err)
		err = (expansion = cJSON_CreateObject()) ? 0 : -ENOMEM;
	if (!err && proof)
		cJSON_AddItemReferenceToObject(expansion, "destructionProof", proof);
	if (!err) {
		n.contract_id = c->id;
		n.contract_name = c->name;
		n.issue_time = agent_now(a);
		n.activation_time = c->activation_time;
		n.scheduled_end_time = c->end_time;
		n.expansion = expansion;
		err = (doc = terminate_notice__build(&n)) ? 0 : -ENOMEM;
	}
	cJSON_Delete(expansion);
	cJSON_Delete(proof);
	contract__free(c);
	if (!err)
		*ret_doc = doc;
	return err;
}

/* The contract is queued for its notice before it is terminated: an agent stopped between
 * the two finds it in the store, terminates it again at start and sends the notice. */
static void on_end(evutil_socket_t fd, short what, void *arg)
{
	struct end_timer *t = arg;
	struct agent *a = t->a;
	struct pol_errors errs = { 0 };
	cJSON *proof = NULL;
	char *id = a->slot_contract[t->slot] ? strdup(a->slot_contract[t->slot]) : NULL;
	int err = id ? 0 : -ENOENT;

	if (!err && a->platform)
		err = store__queue_outgoing(a->store, id);
	if (!err)
		err = agent_terminate(a, id, "expired: its endTime has come (02)", &proof, &errs);
	if (err) {
		log_error("contract %s: expired, but not terminated: %s", id ? id : "?",
			  errs.n ? errs.v[0].msg : strerror(-err));
		if (id && a->platform)
			(void)store__drop_outgoing(a->store, id); /* nothing to tell */
	}
	platform__kick(a);
	cJSON_Delete(proof);
	pol_errors__clear(&errs);
	free(id);
}

int agent_expiry_arm(struct agent *a, int slot, int64_t end_time)
{
	struct end_timer *t = &a->ends[slot];
	int64_t left = end_time - agent_now(a);
	struct timeval tv = { left > 0 ? left : 0, 0 };

	if (!end_time)
		return 0; /* no end: runs until terminated */
	if (!t->ev) {
		*t = (struct end_timer){ a, slot, evtimer_new(a->base, on_end, t) };
		if (!t->ev)
			return -ENOMEM;
	}
	return evtimer_add(t->ev, &tv) ? -ENOMEM : 0;
}

void agent_expiry_disarm(struct agent *a, int slot)
{
	if (a->ends[slot].ev)
		event_free(a->ends[slot].ev);
	a->ends[slot].ev = NULL;
}
