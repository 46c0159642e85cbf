// SPDX-License-Identifier: Apache-2.0
/*
 * Expiry: a timer per contract in execution fires at its endTime. The contract is terminated
 * on expiry (02) like any other termination (use stopped, obligations run, state 06 with the
 * cause) and the platform, when platform_url is set, gets POST /contractTerminate: the Annex
 * B.7 notice signed with the node's TLS key, the destruction proof in expansionItem.
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

static int parse_filed(const struct stored_contract *sc, void *ctx)
{
	struct pol_errors errs = { 0 };

	*(struct contract **)ctx = policy__parse(sc->body, strlen(sc->body), NULL, &errs);
	pol_errors__clear(&errs);
	return *(struct contract **)ctx ? 0 : -EIO; /* it was valid when it was filed */
}

/* The notice of Annex B.7 for a contract this node ended on expiry, signed and sent. */
static void tell_platform(struct agent *a, const struct contract *c, cJSON *proof)
{
	const char *node = platform__node_id(a);
	struct terminate_notice n = {
		.contract_id = c->id,
		.contract_name = c->name,
		.type = "02",
		.issuer_id = node,
		.issuer_entity_id = node,
		.issue_time = agent_now(a),
		.activation_time = c->activation_time,
		.scheduled_end_time = c->end_time,
	};
	cJSON *expansion = cJSON_CreateObject(), *doc = NULL;
	char what[96];

	if (expansion && proof)
		cJSON_AddItemReferenceToObject(expansion, "destructionProof", proof);
	n.expansion = expansion;
	doc = expansion ? terminate_notice__build(&n) : NULL;
	snprintf(what, sizeof(what), "expiry notice of %s", c->id);
	if (doc)
		(void)platform__send(a, "/contractTerminate", doc, what); /* logged */
	else
		log_error("platform: %s: out of memory", what);
	cJSON_Delete(doc);
	cJSON_Delete(expansion);
}

static void on_end(evutil_socket_t fd, short what, void *arg)
{
	struct end_timer *t = arg;
	struct agent *a = t->a;
	struct pol_errors errs = { 0 };
	struct contract *c = NULL;
	cJSON *proof = NULL;
	char *id = a->slot_contract[t->slot] ? strdup(a->slot_contract[t->slot]) : NULL;
	int err = id ? store__get_contract(a->store, id, parse_filed, &c) : -ENOENT;

	if (!err)
		err = agent_terminate(a, id, "expired: its endTime has come (02)", &proof, &errs);
	if (err)
		log_error("contract %s: expired, but not terminated: %s", id ? id : "?",
			  errs.n ? errs.v[0].msg : strerror(-err));
	else if (a->platform)
		tell_platform(a, c, proof);
	cJSON_Delete(proof);
	contract__free(c);
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
