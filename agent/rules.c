// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "agent/rules.h"

#define INT64_MAX_S 0x7fffffffffffffffLL

static int push(void **v, size_t *n, size_t size, const void *item)
{
	char *p = realloc(*v, (*n + 1) * size);

	if (!p)
		return -ENOMEM;
	memcpy(p + *n * size, item, size);
	*v = p;
	(*n)++;
	return 0;
}

static int push_inode(struct inode_id **v, size_t *n, const struct stat *st)
{
	struct inode_id id = { .dev = st->st_dev, .ino = st->st_ino };

	return push((void **)v, n, sizeof(id), &id);
}

/* ---- bindings ------------------------------------------------------------------------- */

int endpoint__parse(const char *s, struct endpoint *ret)
{
	char host[64];
	const char *colon;
	char *end;
	unsigned long port;
	struct endpoint e = { 0 };
	size_t len;

	if (strncmp(s, "tcp://", 6))
		return -EINVAL;
	s += 6;
	colon = strrchr(s, ':');
	if (!colon || colon == s)
		return -EINVAL;
	len = (size_t)(colon - s);
	if (s[0] == '[' && colon[-1] == ']') { /* [v6]:port */
		s++;
		len -= 2;
	}
	if (len >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, len);
	host[len] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || !port || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, e.addr.addr) == 1)
		e.addr.family = AF_INET, e.addr.prefixlen = 32;
	else if (inet_pton(AF_INET6, host, e.addr.addr) == 1)
		e.addr.family = AF_INET6, e.addr.prefixlen = 128;
	else
		return -EINVAL;
	e.port = (uint16_t)port;
	*ret = e;
	return 0;
}

static int bind_target(struct contract_rules *r, const char *target, struct pol_errors *errs)
{
	struct endpoint e;
	struct stat st;
	char *copy;

	if (!strncmp(target, "tcp://", 6)) {
		if (endpoint__parse(target, &e) < 0) {
			pol_errors__add(errs, r->product, "binding %s: expected tcp://ADDR:PORT",
					target);
			return -EINVAL;
		}
		return push((void **)&r->endpoints, &r->n_endpoints, sizeof(e), &e);
	}
	if (stat(target, &st) < 0) {
		pol_errors__add(errs, r->product, "binding %s: %s", target, strerror(errno));
		return -ENOENT;
	}
	copy = strdup(target);
	if (!copy || push((void **)&r->paths, &r->n_paths, sizeof(copy), &copy) < 0) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

static int bind_product(struct contract_rules *r, binding_lookup lookup, void *ctx,
			struct pol_errors *errs)
{
	char **targets = NULL;
	size_t n = 0;
	int err;

	err = lookup(r->product, &targets, &n, ctx);
	if (!err && !n) {
		pol_errors__add(errs, r->product,
				"product is not bound on this node: pepctl bind %s PATH|tcp://ADDR:PORT",
				r->product);
		err = -ENOENT;
	}
	for (size_t i = 0; !err && i < n; i++)
		err = bind_target(r, targets[i], errs);
	for (size_t i = 0; i < n; i++)
		free(targets[i]);
	free(targets);
	return err;
}

/* ---- constraints ---------------------------------------------------------------------- */

static bool is_deny_list(enum op op)
{
	return op == OP_NEQ || op == OP_IS_NONE_OF;
}

static int add_apps(struct contract_rules *r, const struct constraint *k, const char *path,
		    struct pol_errors *errs)
{
	struct stat st;

	r->app_rule = true;
	r->app_deny_list = is_deny_list(k->op);
	for (size_t i = 0; i < k->value.n; i++) {
		/* stat follows symlinks: /usr/bin/python3 is the binary the kernel runs. */
		const char *why = stat(k->value.strings[i], &st) < 0 ? strerror(errno) :
				  !S_ISREG(st.st_mode)			 ? "not a regular file" :
									   NULL;

		if (why) {
			pol_errors__add(errs, path, "application %s: %s", k->value.strings[i], why);
			return -ENOENT;
		}
		if (push_inode(&r->apps, &r->n_apps, &st) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int set_egress(struct contract_rules *r, enum egress_mode mode,
		      const struct constraint *k, const char *path, struct pol_errors *errs)
{
	if (r->egress != EGRESS_ANY && (r->egress != mode || mode == EGRESS_DENY_LIST)) {
		pol_errors__add(errs, path, "a second address list for the same product: this node "
					    "enforces one allow-list or one deny-list");
		return -EINVAL;
	}
	r->egress = mode;
	r->holders = true;
	for (size_t i = 0; k && i < k->value.n; i++)
		if (push((void **)&r->egress_prefixes, &r->n_egress, sizeof(struct net_prefix),
			 &k->value.prefixes[i]) < 0)
			return -ENOMEM;
	return 0;
}

static uint64_t window_of(const struct policy *p, const struct constraint *k)
{
	if (k->value.period)
		return k->value.period;
	for (size_t i = 0; i < p->n_constraints; i++)
		if (p->constraints[i].name == CN_TIME_WINDOW &&
		    p->constraints[i].value.type == VAL_DURATION)
			return (uint64_t)p->constraints[i].value.seconds;
	return 0;
}

static void narrow_time(struct contract_rules *r, const struct constraint *k, int64_t start)
{
	int64_t from = 0, to = INT64_MAX_S;

	if (k->value.type == VAL_TIME_RANGE)
		from = k->value.from, to = k->value.to;
	else if (k->value.type == VAL_TIME && (k->op == OP_GT || k->op == OP_GTEQ))
		from = k->value.from + (k->op == OP_GT);
	else if (k->value.type == VAL_TIME)
		to = k->value.from - (k->op == OP_LT);
	else if (k->op == OP_LT || k->op == OP_LTEQ) /* timeWindow lteq P365D */
		to = start + k->value.seconds;
	else
		return; /* a count window: read by window_of() */
	if (from > r->not_before)
		r->not_before = from;
	if (to < r->not_after)
		r->not_after = to;
}

/* One kernel entry of the plan into the rules. */
static int apply_kernel_entry(struct contract_rules *r, const struct plan_entry *e,
			      int64_t start, struct pol_errors *errs)
{
	const struct constraint *k = e->constraint;
	const struct policy *p = e->policy;

	if (!k) {
		if (p->kind == POLICY_PROHIBITION && e->action == ACTION_DELETE)
			r->no_delete = true; /* the plan keeps this entry for the lsm backend only */
		else if (p->kind == POLICY_PROHIBITION && (e->action == ACTION_READ ||
							   e->action == ACTION_ACCESS))
			r->app_rule = true, r->app_deny_list = false, r->n_apps = 0;
		else if (p->kind == POLICY_PROHIBITION && !p->n_constraints)
			return set_egress(r, EGRESS_ALLOW_LIST, NULL, p->path, errs);
		return 0;
	}
	switch (k->name) {
	case CN_APPLICATION:
		return add_apps(r, k, p->path, errs);
	case CN_COUNT:
		r->count_limit = k->value.integer - (k->op == OP_LT);
		r->count_window = window_of(p, k);
		return 0;
	case CN_FREQUENCY:
		r->freq_limit = k->value.integer - (k->op == OP_LT);
		r->freq_window = window_of(p, k);
		return 0;
	case CN_TIME:
	case CN_TIME_WINDOW:
		narrow_time(r, k, start);
		return 0;
	case CN_NETWORK_ADDRESS:
		return set_egress(r, is_deny_list(k->op) ? EGRESS_DENY_LIST : EGRESS_ALLOW_LIST, k,
				  p->path, errs);
	default:
		return 0; /* executionEnv 01: what this node is */
	}
}

static void apply_agent_entry(struct contract_rules *r, const struct plan_entry *e)
{
	if (e->constraint || e->policy->kind != POLICY_OBLIGATION)
		return;
	if (e->action == ACTION_DELETE)
		r->delete_at_end = r->track_copies = r->holders = true;
	else if (e->action == ACTION_SELL)
		r->delete_at_end = true;
}

/* Kernel and agent entries must all be about one product; recorded ones may name others. */
static int pick_product(const struct plan *plan, struct contract_rules *r, struct pol_errors *errs)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct plan_entry *e = &plan->entries[i];

		if (e->enforcer != ENFORCE_KERNEL && e->enforcer != ENFORCE_AGENT)
			continue;
		if (!r->product)
			r->product = e->policy->product_id;
		else if (strcmp(r->product, e->policy->product_id)) {
			pol_errors__add(errs, e->policy->path, "the contract controls two products "
					"(%s, %s): this node applies contracts over one product",
					r->product, e->policy->product_id);
			return -EINVAL;
		}
	}
	return 0;
}

int contract_rules__build(const struct plan *plan, binding_lookup lookup, void *ctx,
			  struct contract_rules *ret, struct pol_errors *errs)
{
	const struct contract *c = plan->contract;
	struct contract_rules r = { .not_before = c->activation_time, .not_after = c->end_time };
	int err;

	if (plan->n_refused) {
		pol_errors__add(errs, "", "the plan has %zu refused entr%s", plan->n_refused,
				plan->n_refused == 1 ? "y" : "ies");
		return -EINVAL;
	}
	err = pick_product(plan, &r, errs);
	if (!err && !r.product) {
		pol_errors__add(errs, "", "nothing for this node to enforce");
		err = -EINVAL;
	}
	for (size_t i = 0; !err && i < plan->n; i++) {
		const struct plan_entry *e = &plan->entries[i];

		if (e->enforcer == ENFORCE_KERNEL)
			err = apply_kernel_entry(&r, e, c->activation_time, errs);
		else if (e->enforcer == ENFORCE_AGENT)
			apply_agent_entry(&r, e);
	}
	if (!err)
		err = bind_product(&r, lookup, ctx, errs);
	/* A connection to an endpoint makes the process a holder: the net guard marks it. */
	r.holders |= r.n_endpoints > 0;
	if (err) {
		contract_rules__free(&r);
		return err;
	}
	*ret = r;
	return 0;
}

/* The check a kernel or agent entry of the plan becomes; -1 for none. */
static int origin_of(const struct plan_entry *e)
{
	const struct constraint *k = e->constraint;
	const struct policy *p = e->policy;

	if (e->enforcer == ENFORCE_AGENT)
		return !k && p->kind == POLICY_OBLIGATION && e->action == ACTION_DELETE ?
			       ORIGIN_COPIES : -1;
	if (e->enforcer != ENFORCE_KERNEL)
		return -1;
	if (!k && p->kind == POLICY_PROHIBITION) /* as apply_kernel_entry reads them */
		return e->action == ACTION_DELETE ? ORIGIN_NO_DELETE :
		       e->action == ACTION_READ || e->action == ACTION_ACCESS ? ORIGIN_APP :
		       !p->n_constraints ? ORIGIN_EGRESS : -1;
	switch (k ? k->name : 0) {
	case CN_APPLICATION:
		return ORIGIN_APP;
	case CN_COUNT:
		return ORIGIN_COUNT;
	case CN_FREQUENCY:
		return ORIGIN_FREQ;
	case CN_TIME:
	case CN_TIME_WINDOW:
		return ORIGIN_TIME;
	case CN_NETWORK_ADDRESS:
		return ORIGIN_EGRESS;
	default:
		return -1;
	}
}

void rule_origins(const struct plan *plan, struct origin ret[ORIGIN_N])
{
	memset(ret, 0, ORIGIN_N * sizeof(*ret));
	for (size_t i = 0; i < plan->n; i++) {
		const struct plan_entry *e = &plan->entries[i];
		int o = origin_of(e);

		if (o >= 0 && !ret[o].policy)
			ret[o] = (struct origin){ e->policy->id, action__name(e->action) };
		if (!ret[ORIGIN_USE].policy && e->enforcer == ENFORCE_KERNEL &&
		    e->policy->kind == POLICY_PERMISSION)
			ret[ORIGIN_USE] = (struct origin){ e->policy->id, action__name(e->action) };
	}
}

void contract_rules__free(struct contract_rules *r)
{
	for (size_t i = 0; i < r->n_paths; i++)
		free(r->paths[i]);
	free(r->paths);
	free(r->apps);
	free(r->endpoints);
	free(r->egress_prefixes);
	memset(r, 0, sizeof(*r));
}
