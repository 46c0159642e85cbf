/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's state, shared by its parts: main.c wires them, contracts.c runs contracts,
 * events.c turns kernel decisions into records, commands.c serves pepctl. */
#ifndef PEP_AGENT_AGENT_H
#define PEP_AGENT_AGENT_H

#include <stdint.h>

#include <openssl/types.h>

#include "agent/clock.h"
#include "agent/config.h"
#include "agent/probe.h"

#define AGENT_MAX_SLOTS 1024 /* = FG_MAX_SLOTS */

struct event_base;
struct event;
struct store;
struct admin;
struct https_server;
struct guards;
struct workloads;
struct records;
struct report;
struct cJSON;
struct pol_errors;
struct trust_store;
struct fg_event;
struct net_event;
struct platform;
struct plan;
struct slot_origins;

/* The timer that ends the contract in a slot at its endTime (expiry.c). */
struct end_timer {
	struct agent *a;
	int slot;
	struct event *ev;
};

struct agent {
	struct agent_config cfg;
	struct backend_support support;
	enum backend backend;
	struct event_base *base;
	struct store *store;
	struct admin *admin;
	struct https_server *api; /* the platform API, when `listen` is set */
	struct guards *guards;
	struct workloads *workloads; /* `pepctl run` */
	struct event *guard_events[2];
	struct records *records;
	struct report *report; /* the journal to the platform, when platform_url is set */
	struct kafka *kafka;   /* the journal onto Kafka, when kafka_brokers is set */
	EVP_PKEY *node_key;
	struct trust_store *trust; /* read at start; NULL: read at each verification */
	struct platform *platform; /* platform_url's client, or NULL (platform.h) */
	struct clock_watch clock;  /* the wall clock against the boot clock (clock.h) */
	struct event *clock_tick;
	char *slot_contract[AGENT_MAX_SLOTS]; /* id of the contract enforced in each slot */
	struct slot_origins *slot_origins[AGENT_MAX_SLOTS]; /* its policies, for records */
	struct end_timer ends[AGENT_MAX_SLOTS];
};

/* contracts.c */
int agent_restore(struct agent *a);
int agent_bind(struct agent *a, const char *product, char **targets, size_t n,
	       struct pol_errors *errs);
/* Verifies, plans and enforces a contract; *ret_slot and *ret_version on success. */
int agent_apply(struct agent *a, const char *text, int *ret_slot, int *ret_version,
		struct pol_errors *errs);
/* Stops every use, runs the deletion obligation; *ret_proof (may stay NULL) on success. */
int agent_terminate(struct agent *a, const char *id, const char *cause, struct cJSON **ret_proof,
		    struct pol_errors *errs);

/* expiry.c: the slot's contract is terminated (02) at end_time, and the platform told; a
 * time passed ends it at once, from the event loop. Arming again replaces the time. */
int agent_expiry_arm(struct agent *a, int slot, int64_t end_time);
void agent_expiry_disarm(struct agent *a, int slot);
/* The Annex B.7 notice of a contract ended on expiry (02), unsigned, from the store: the
 * contract as filed and its destruction proof. -EAGAIN while it is not terminated (06). */
int agent_expiry_notice(struct agent *a, const char *id, struct cJSON **ret_doc);
/* The wall time to go by, seconds: the wall clock unless it was set back (clock.h). */
int64_t agent_now(const struct agent *a);

/* events.c: callbacks of the guards. */
/* The contract enforced in slot, and from its plan (NULL: not known) which policy and action
 * each kernel check comes from; a NULL id forgets the slot. */
void agent_name_slot(struct agent *a, int slot, const char *id, const struct plan *plan);
void agent_on_file_event(void *agent, const struct fg_event *e);
void agent_on_net_event(void *agent, const struct net_event *e);
/* Records the kernel could not hand over so far (guards__lost), for the journal. */
uint64_t agent_kernel_lost(void *agent);

/* commands.c: the admin socket's dispatcher. */
struct cJSON *agent_command(const struct cJSON *request, void *agent);

#endif /* PEP_AGENT_AGENT_H */
