/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From a verified contract's plan and the node's bindings to the rules the kernel enforces.
 * Pure: resolving paths to inodes is the only contact with the system (stat), so it is
 * tested without BPF.
 */
#ifndef PEP_AGENT_RULES_H
#define PEP_AGENT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* An executable as user space sees it: st_dev (glibc encoding) and st_ino. */
struct inode_id {
	uint64_t dev;
	uint64_t ino;
};

struct endpoint {
	struct net_prefix addr; /* a /32 or /128 */
	uint16_t port;
};

enum egress_mode { EGRESS_ANY = 0, EGRESS_ALLOW_LIST, EGRESS_DENY_LIST };

/* Everything the kernel needs to enforce one contract; times are wall-clock seconds. */
struct contract_rules {
	const char *product;
	char **paths; /* bound files and directories (checked to exist) */
	size_t n_paths;
	struct inode_id *apps;
	size_t n_apps;
	struct endpoint *endpoints;
	size_t n_endpoints;
	bool app_deny_list;  /* apps may not open (else: only apps may, when n_apps or set) */
	bool app_rule;	     /* an application constraint exists */
	int64_t not_before, not_after;
	uint64_t count_limit, count_window; /* 0 limit: none; 0 window: the whole validity */
	uint64_t freq_limit, freq_window;
	bool holders;	      /* mark holders: egress limits or copy tracking need them */
	bool track_copies;    /* a delete/sell obligation: copies are found and removed */
	bool delete_at_end;   /* the obligation itself */
	bool no_delete;       /* a prohibition of delete: unlink, rename, truncate refused */
	enum egress_mode egress;
	struct net_prefix *egress_prefixes;
	size_t n_egress;
};

/* A product's binding targets: file or directory paths and "tcp://ADDR:PORT" endpoints. */
typedef int (*binding_lookup)(const char *product, char ***ret_targets, size_t *ret_n,
			      void *ctx);

/*
 * Builds the rules of a contract whose plan has no refused entry. Appends an error (path =
 * the policy's path or the product) and returns -EINVAL for what cannot be applied here: an
 * unbound product, a target or executable that does not exist, two products, or address
 * lists that cannot be combined. Returns 0 and *ret on success.
 */
int contract_rules__build(const struct plan *plan, binding_lookup lookup, void *ctx,
			  struct contract_rules *ret, struct pol_errors *errs);
void contract_rules__free(struct contract_rules *r);

/*
 * Which policy and action of a contract each kernel check comes from, so that a record of a
 * decision names them (the kernel only knows the slot, the kind and the reason).
 */
enum rule_origin {
	ORIGIN_USE,	  /* the use itself: the permission whose action the kernel enforces */
	ORIGIN_APP,	  /* application constraint, or a prohibition of read/access */
	ORIGIN_COUNT,	  /* count constraint */
	ORIGIN_FREQ,	  /* frequency constraint */
	ORIGIN_TIME,	  /* time or timeWindow constraint (validity) */
	ORIGIN_EGRESS,	  /* networkAddress constraint, or a prohibition of sending the data */
	ORIGIN_NO_DELETE, /* prohibition of delete */
	ORIGIN_COPIES,	  /* delete obligation: derived copies tracked */
	ORIGIN_N
};

struct origin {
	const char *policy; /* policyId; NULL: no entry of the plan is this check */
	const char *action; /* the action's name as the standard spells it */
};

/* Fills ret[ORIGIN_N] from the plan's kernel and agent entries, the first entry of each
 * origin winning. The strings point into the plan's contract. */
void rule_origins(const struct plan *plan, struct origin ret[ORIGIN_N]);

/* Parses "tcp://127.0.0.1:8080" or "tcp://[::1]:8080"; returns 0 or -EINVAL. */
int endpoint__parse(const char *s, struct endpoint *ret);

#endif /* PEP_AGENT_RULES_H */
