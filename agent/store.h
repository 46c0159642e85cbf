/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The contract store: SQLite (WAL) in the state directory. Holds every contract version as
 * it was filed, its state (Annex C.1 codes: 05 in execution, 06 terminated), the history of
 * every state change with time and cause, the product bindings and destruction proofs.
 * Every function returns 0 or -errno; output parameters are written only on success.
 */
#ifndef PEP_AGENT_STORE_H
#define PEP_AGENT_STORE_H

#include <stdint.h>

struct store;

struct stored_contract {
	const char *id;
	int version;
	const char *state; /* Annex C.1 code */
	int slot;	   /* the kernel slot while in execution, -1 otherwise */
	const char *body;  /* the contract as filed */
	const char *hash;
};

struct store *store__open(const char *path);
void store__close(struct store *s);

/* Files a new version of a contract in `state` and records the change. */
int store__add_contract(struct store *s, const char *id, const char *body, const char *hash,
			const char *state, int slot, const char *cause);
int store__set_state(struct store *s, const char *id, const char *state, int slot,
		     const char *cause);
/* Calls cb for the newest version of every contract; stops at the first non-zero return. */
int store__for_each_contract(struct store *s, int (*cb)(const struct stored_contract *c, void *ctx),
			     void *ctx);
/* The newest version of one contract; -ENOENT when there is none. */
int store__get_contract(struct store *s, const char *id,
			int (*cb)(const struct stored_contract *c, void *ctx), void *ctx);
/* Calls cb(time, state, cause) for every state change of the contract, oldest first. */
int store__for_each_change(struct store *s, const char *id,
			   int (*cb)(int64_t time, const char *state, const char *cause, void *ctx),
			   void *ctx);

int store__add_binding(struct store *s, const char *product, const char *target);
/* Calls cb for every target bound to `product` (all products when NULL). */
int store__for_each_binding(struct store *s, const char *product,
			    int (*cb)(const char *product, const char *target, void *ctx), void *ctx);

/* Where a derived copy of a contract's product was seen (the kernel knows dev and ino). */
int store__add_copy(struct store *s, const char *id, uint64_t dev, uint64_t ino, const char *path);
int store__copy_path(struct store *s, const char *id, uint64_t dev, uint64_t ino, char **ret_path);

/* The version of contract `id` filed with this hash: the same body seen before (a replay).
 * -ENOENT when there is none. */
int store__find_version(struct store *s, const char *id, const char *hash, int *ret_version);

/* Terminate notices accepted, by the digest of their signed bytes, so that the same notice
 * is not accepted twice. */
int store__add_notice(struct store *s, const char *digest, const char *id);
/* When the notice was accepted (seconds since the epoch); -ENOENT when never. */
int store__find_notice(struct store *s, const char *digest, int64_t *ret_time);

/* Notices to the platform not confirmed yet, by contract id, oldest first: queued before
 * there is anything to send (a restart then finds it), the body kept once built and signed
 * (a resend is the same bytes), dropped once the platform confirmed it. */
int store__queue_outgoing(struct store *s, const char *id);
int store__set_outgoing(struct store *s, const char *id, const char *body);
int store__drop_outgoing(struct store *s, const char *id);
/* The oldest: its id, and its body or NULL when not built yet (both to free); -ENOENT: none. */
int store__next_outgoing(struct store *s, char **ret_id, char **ret_body);

int store__add_proof(struct store *s, const char *id, const char *proof_json);
int store__get_proof(struct store *s, const char *id, char **ret_json);

#endif /* PEP_AGENT_STORE_H */
