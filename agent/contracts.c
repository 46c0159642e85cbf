// SPDX-License-Identifier: Apache-2.0
/*
 * A contract's life at this node: bind its product, apply (verify, plan, enforce, file),
 * terminate (stop every use, delete, prove), restore after a restart.
 */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"
#include "agent/agent.h"
#include "agent/destruction.h"
#include "agent/guards.h"
#include "agent/log.h"
#include "agent/rules.h"
#include "agent/store.h"

/* ---- bindings ------------------------------------------------------------------------- */

struct target_list {
	char **v;
	size_t n;
};

static int collect_target(const char *product, const char *target, void *ctx)
{
	struct target_list *l = ctx;
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	v[l->n] = strdup(target);
	return v[l->n] ? (l->n++, 0) : -ENOMEM;
}

static int lookup_bindings(const char *product, char ***ret, size_t *ret_n, void *ctx)
{
	struct agent *a = ctx;
	struct target_list l = { 0 };
	int err = store__for_each_binding(a->store, product, collect_target, &l);

	if (err) {
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i]);
		free(l.v);
		return err;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

int agent_bind(struct agent *a, const char *product, char **targets, size_t n,
	       struct pol_errors *errs)
{
	struct endpoint e;
	struct stat st;
	int err = 0;

	/* Check every target before storing any: a bad one changes nothing. */
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(targets[i], "tcp://", 6) ? endpoint__parse(targets[i], &e) < 0 :
							 stat(targets[i], &st) < 0 || targets[i][0] != '/')
			pol_errors__add(errs, targets[i], "%s",
					!strncmp(targets[i], "tcp://", 6) ?
						"not an endpoint: expected tcp://ADDR:PORT" :
					targets[i][0] != '/' ? "not an absolute path" :
							       strerror(errno));
	}
	if (pol_errors__count(errs))
		return -EINVAL;
	for (size_t i = 0; !err && i < n; i++)
		err = store__add_binding(a->store, product, targets[i]);
	return err;
}

/* ---- apply ---------------------------------------------------------------------------- */

/* Every refused plan entry as an error: what it is and why this node cannot honour it. */
static int refuse_plan(const struct plan *plan, struct pol_errors *errs)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->entries[i].enforcer == ENFORCE_REFUSED)
			pol_errors__add(errs, plan->entries[i].policy->path, "refused: %s: %s",
					plan->entries[i].what, plan->entries[i].how);
	return plan->n_refused ? -EINVAL : 0;
}

struct stored {
	int found;
	int slot;
	int version;
	char state[8];
	char hash[65];
	char *body;
};

static int remember(const struct stored_contract *c, void *ctx)
{
	struct stored *s = ctx;

	s->found = 1;
	s->slot = c->slot;
	s->version = c->version;
	snprintf(s->state, sizeof(s->state), "%s", c->state);
	snprintf(s->hash, sizeof(s->hash), "%s", c->hash);
	free(s->body);
	s->body = strdup(c->body);
	return s->body ? 0 : -ENOMEM;
}

/* The slot for a contract: its own when it is a new version of one in execution. */
static int choose_slot(struct agent *a, const struct stored *old, bool replacing,
		       const struct contract_rules *r, struct pol_errors *errs)
{
	if (!replacing)
		return guards__free_slot(a->guards, r->holders);
	/* A new version replaces the rules in place, each guard's in one update. Holders keep
	 * their slot's bit, so a slot above the holder slots cannot take holder rules. */
	if (r->holders && !guards__holder_slot(old->slot)) {
		pol_errors__add(errs, "", "this version has holder rules (egress, copies) and the "
					  "one in execution has none: terminate it before applying "
					  "this one");
		return -EBUSY;
	}
	return old->slot;
}

static int enforce_again(struct agent *a, const struct stored_contract *sc);

/* A new version in the old one's slot; one that cannot be applied leaves the old one in
 * force (its rules again, as after a reboot). */
static int replace(struct agent *a, const char *id, const struct stored *old,
		   const struct contract_rules *r, struct pol_errors *errs)
{
	struct stored_contract sc = { .id = id, .slot = old->slot, .body = old->body };
	int err = guards__apply(a->guards, old->slot, r, errs);

	if (err && enforce_again(a, &sc))
		log_error("contract %s: neither its new version nor the old one is enforced", id);
	return err;
}

static int enforce_and_file(struct agent *a, const struct plan *plan, const char *text,
			    const struct contract_rules *r, int *ret_slot, int *ret_version,
			    struct pol_errors *errs)
{
	const struct contract *c = plan->contract;
	struct stored old = { 0 };
	bool replacing;
	char hash[65];
	int slot, err;

	err = contract__hash(c, hash);
	if (err)
		return err;
	err = store__get_contract(a->store, c->id, remember, &old);
	if (err && err != -ENOENT)
		goto out;
	err = 0;
	replacing = old.found && !strcmp(old.state, "05");
	if (replacing && !strcmp(old.hash, hash)) {
		*ret_slot = old.slot, *ret_version = old.version;
		goto out; /* the same contract again: nothing to change */
	}
	slot = err = choose_slot(a, &old, replacing, r, errs);
	if (slot == -ENOSPC)
		pol_errors__add(errs, "", "no free slot: too many contracts in execution");
	if (slot < 0)
		goto out;
	err = replacing ? replace(a, c->id, &old, r, errs) : guards__apply(a->guards, slot, r, errs);
	if (!err && (err = guards__add_workload(a->guards, slot, c->id))) {
		pol_errors__add(errs, "", "workload cgroup for pepctl run: %s", strerror(-err));
		(void)guards__release(a->guards, slot);
	}
	if (!err)
		err = store__add_contract(a->store, c->id, text, hash, "05", slot,
					  old.found ? "new version applied" : "applied");
	if (err)
		goto out;
	agent_name_slot(a, slot, c->id, plan);
	if (agent_expiry_arm(a, slot, c->end_time))
		log_error("contract %s: its end cannot be timed: it ends in the kernel at its "
			  "endTime, but is not terminated until a restart", c->id);
	*ret_slot = slot;
	*ret_version = old.version + 1;
	log_info("contract %s applied in slot %d", c->id, slot);
out:
	free(old.body);
	return err;
}

int agent_apply(struct agent *a, const char *text, int *ret_slot, int *ret_version,
		struct pol_errors *errs)
{
	struct verify_opts vo = { .trust = a->trust, .trust_path = a->cfg.trust };
	struct node_caps caps = { .backend = backend__name(a->backend) };
	struct contract_rules rules = { 0 };
	struct contract *c;
	struct plan *plan = NULL;
	int err;

	/* A contract's times go into the kernel from the wall clock: set back, it would grant
	 * uses the contract does not. */
	if (a->clock.behind) {
		pol_errors__add(errs, "", "this node's wall clock was set back by %lld s: no "
				"contract is applied until it is right again",
				(long long)(a->clock.behind / 1000000000LL));
		return -EAGAIN;
	}
	c = policy__parse(text, strlen(text), NULL, errs);
	if (!c)
		return -EINVAL;
	err = policy__verify(c, &vo, errs);
	if (!err) {
		plan = policy__plan(c, &caps);
		err = plan ? refuse_plan(plan, errs) : -ENOMEM;
	}
	if (!err)
		err = contract_rules__build(plan, lookup_bindings, a, &rules, errs);
	if (!err)
		err = enforce_and_file(a, plan, text, &rules, ret_slot, ret_version, errs);
	contract_rules__free(&rules);
	plan__free(plan);
	contract__free(c);
	return err;
}

/* The rules of a filed contract, rebuilt from its body: it was verified when applied. */
static int stored_rules(struct agent *a, const char *body, struct contract_rules *ret,
			struct contract **ret_c, struct plan **ret_plan, struct pol_errors *errs)
{
	struct node_caps caps = { .backend = backend__name(a->backend) };
	struct contract *c = policy__parse(body, strlen(body), NULL, errs);
	struct plan *plan = c ? policy__plan(c, &caps) : NULL;
	int err = plan ? contract_rules__build(plan, lookup_bindings, a, ret, errs) : -EINVAL;

	if (err) {
		plan__free(plan);
		contract__free(c);
		return err;
	}
	/* the rules point into the plan and the contract: they live as long */
	*ret_c = c;
	*ret_plan = plan;
	return 0;
}

/* ---- terminate ------------------------------------------------------------------------ */

struct doomed_list {
	struct agent *a;
	const char *id;
	struct doomed_file *v;
	size_t n;
};

static int doom(struct doomed_list *l, const char *path, uint64_t dev, uint64_t ino,
		const char *origin, bool under_dir)
{
	struct doomed_file *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	uint32_t gen;

	if (!v)
		return -ENOMEM;
	l->v = v;
	v[l->n] = (struct doomed_file){ strdup(path), dev, ino, -1, under_dir, origin };
	/* read now, while the programs still keep it: the file is unbound just before it goes */
	if (!guards__bound_generation(l->a->guards, dev, ino, &gen))
		v[l->n].generation = gen;
	return v[l->n].path ? (l->n++, 0) : -ENOMEM;
}

/* nftw has no context argument: the walk below fills this list, on this thread only. */
static __thread struct doomed_list *walking;

static int doom_tree_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return type == FTW_F ? doom(walking, path, st->st_dev, st->st_ino, "bound", true) : 0;
}

static int doom_copy(void *ctx, uint64_t dev, uint64_t ino)
{
	struct doomed_list *l = ctx;
	char *path = NULL;
	int err;

	/* A copy whose path was never seen is still listed: the proof says it was not found. */
	if (store__copy_path(l->a->store, l->id, dev, ino, &path) < 0)
		return doom(l, "(path unknown)", dev, ino, "derived", false);
	err = doom(l, path, dev, ino, "derived", false);
	free(path);
	return err;
}

static int collect_doomed(struct agent *a, int slot, const struct contract_rules *r,
			  struct doomed_list *l)
{
	struct stat st;
	int err = 0;

	for (size_t i = 0; !err && i < r->n_paths; i++) {
		if (lstat(r->paths[i], &st) < 0)
			continue; /* already gone */
		if (!S_ISDIR(st.st_mode)) {
			err = doom(l, r->paths[i], st.st_dev, st.st_ino, "bound", false);
			continue;
		}
		walking = l;
		err = nftw(r->paths[i], doom_tree_file, 16, FTW_PHYS) ? -EIO : 0;
		walking = NULL;
	}
	if (!err && r->track_copies)
		err = guards__for_each_copy(a->guards, slot, doom_copy, l);
	return err;
}

static int unbind_file(void *ctx, uint64_t dev, uint64_t ino)
{
	return guards__unbind(((struct agent *)ctx)->guards, dev, ino);
}

static int file_generation(void *ctx, int fd, uint32_t *ret_gen)
{
	return guards__generation(((struct agent *)ctx)->guards, fd, ret_gen);
}

/* Deletes the product's files and copies; the slot is given up only when all are gone,
 * since a terminated contract's files must stay unopenable while they exist. */
static int run_deletion(struct agent *a, const char *id, int slot, const struct contract_rules *r,
			cJSON **ret_proof)
{
	struct destruction_kernel k = { unbind_file, file_generation, a };
	struct doomed_list l = { a, id, NULL, 0 };
	cJSON *proof = NULL;
	char *text;
	int err;

	err = collect_doomed(a, slot, r, &l);
	if (!err) {
		proof = destruction__run(id, l.v, l.n, &k, a->node_key);
		err = proof ? 0 : -errno;
	}
	text = proof ? cJSON_PrintUnformatted(proof) : NULL;
	if (text)
		err = store__add_proof(a->store, id, text);
	if (!err && cJSON_IsTrue(cJSON_GetObjectItem(proof, "complete")))
		err = guards__release(a->guards, slot);
	free(text);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].path);
	free(l.v);
	if (err)
		cJSON_Delete(proof);
	else
		*ret_proof = proof;
	return err;
}

int agent_terminate(struct agent *a, const char *id, const char *cause, cJSON **ret_proof,
		    struct pol_errors *errs)
{
	struct contract_rules r = { 0 };
	struct contract *c = NULL;
	struct plan *plan = NULL;
	struct stored s = { 0 };
	int err;

	err = store__get_contract(a->store, id, remember, &s);
	if (!err && strcmp(s.state, "05")) {
		pol_errors__add(errs, id, "not in execution (state %s)", s.state);
		err = -EINVAL;
	} else if (err) {
		pol_errors__add(errs, id, "no such contract at this node");
	}
	/* 1. stop every use at once, and the workloads; 2. the obligations; 3. the record */
	if (!err)
		err = guards__terminate(a->guards, s.slot);
	if (!err)
		agent_expiry_disarm(a, s.slot);
	if (!err)
		(void)guards__remove_workload(a->guards, id); /* logged; the rule stops them anyway */
	if (!err)
		err = stored_rules(a, s.body, &r, &c, &plan, errs);
	if (!err && r.delete_at_end)
		err = run_deletion(a, id, s.slot, &r, ret_proof);
	if (!err)
		err = store__set_state(a->store, id, "06", s.slot, cause);
	if (!err)
		log_info("contract %s terminated: %s", id, cause);
	contract_rules__free(&r);
	plan__free(plan);
	contract__free(c);
	free(s.body);
	return err;
}

/* ---- restore -------------------------------------------------------------------------- */

static int bind_from_config(struct agent *a, char *line, struct pol_errors *errs)
{
	char *save = NULL, *product = strtok_r(line, " \t", &save), *targets[64];
	size_t n = 0;

	while (n < 64 && (targets[n] = strtok_r(NULL, " \t", &save)))
		n++;
	if (!product || !n) {
		pol_errors__add(errs, "bind", "expected `bind = PRODUCT TARGET...`");
		return -EINVAL;
	}
	return agent_bind(a, product, targets, n, errs);
}

/* After a reboot (no pins): a contract's rules enforced anew from the store. */
static int enforce_again(struct agent *a, const struct stored_contract *sc)
{
	struct pol_errors errs = { 0 };
	struct contract_rules r = { 0 };
	struct contract *c = NULL;
	struct plan *plan = NULL;
	int err;

	err = stored_rules(a, sc->body, &r, &c, &plan, &errs);
	if (!err)
		err = guards__apply(a->guards, sc->slot, &r, &errs);
	if (err)
		log_error("contract %s could not be enforced again: %s", sc->id,
			  errs.n ? errs.v[0].msg : strerror(-err));
	else
		log_info("contract %s enforced again in slot %d", sc->id, sc->slot);
	contract_rules__free(&r);
	plan__free(plan);
	contract__free(c);
	pol_errors__clear(&errs);
	return err;
}

/* A contract in execution: its slot is known again, its rules are enforced (adopted from the
 * pins, or anew) and `pepctl run` can start its workloads again. */
static int restore_one(const struct stored_contract *sc, void *ctx)
{
	struct agent *a = ctx;
	struct node_caps caps = { .backend = backend__name(a->backend) };
	struct pol_errors errs = { 0 };
	struct slot_status st;
	struct contract *c;
	struct plan *plan;
	int err;

	if (strcmp(sc->state, "05") || sc->slot < 0 || sc->slot >= AGENT_MAX_SLOTS)
		return 0;
	/* one that expired while the agent was down ends as soon as the loop runs */
	c = policy__parse(sc->body, strlen(sc->body), NULL, &errs);
	plan = c ? policy__plan(c, &caps) : NULL;
	agent_name_slot(a, sc->slot, sc->id, plan);
	if (!c || agent_expiry_arm(a, sc->slot, c->end_time))
		log_error("contract %s: its end cannot be timed", sc->id);
	plan__free(plan);
	contract__free(c);
	pol_errors__clear(&errs);
	/* pinned rules found: adopted, they kept enforcing it */
	if (guards__status(a->guards, sc->slot, &st) < 0 && enforce_again(a, sc))
		return 0; /* logged; one contract that fails must not keep the others down */
	err = guards__add_workload(a->guards, sc->slot, sc->id);
	if (err)
		log_error("contract %s: workloads cannot be started: %s", sc->id, strerror(-err));
	return 0;
}

int agent_restore(struct agent *a)
{
	struct pol_errors errs = { 0 };
	int err = 0;

	for (size_t i = 0; !err && i < a->cfg.n_binds; i++)
		err = bind_from_config(a, a->cfg.binds[i], &errs);
	if (err) {
		log_error("config bind: %s: %s", errs.v[0].path, errs.v[0].msg);
		pol_errors__clear(&errs);
		return err;
	}
	return store__for_each_contract(a->store, restore_one, a);
}
