// SPDX-License-Identifier: Apache-2.0
/*
 * policy__plan(): what this node does with each (policy, action, constraint) of a contract.
 * The table behind it is docs/contract-format.md; keep the two in step.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/* How an action is read at this node: the node sees opens of a product's files and
 * connections to its endpoints (uses), and egress of processes that hold its data. */
enum action_class {
	CLASS_USE,      /* the product is used: an open for reading or a connection */
	CLASS_TRANSFER, /* data leaves the node: distribute, download, delivery, ... */
	CLASS_SETTLED,  /* a transaction the parties settle: sell, compensate */
	CLASS_DUTY,     /* something the node itself does: delete, logRecordSend, alert */
	CLASS_OTHER,    /* nothing the node can observe */
};

static enum action_class action_class(enum action a)
{
	switch (a) {
	case ACTION_ACCESS:
	case ACTION_READ:
	case ACTION_PROCESS:
	case ACTION_COMPUTE:
	case ACTION_JOINT_DEVELOP:
	case ACTION_TRANSFORM:
	case ACTION_ANONYMIZE:
	case ACTION_DESENSITIZE:
	case ACTION_STORAGE:
	case ACTION_REPRODUCE:
		return CLASS_USE;
	case ACTION_DISTRIBUTE:
	case ACTION_DOWNLOAD:
	case ACTION_DELIVERY:
	case ACTION_GRANT_USE:
	case ACTION_POLICY_TRANSMIT:
		return CLASS_TRANSFER;
	case ACTION_SELL:
	case ACTION_COMPENSATE:
		return CLASS_SETTLED;
	case ACTION_DELETE:
	case ACTION_LOG_RECORD_SEND:
	case ACTION_ALERT:
		return CLASS_DUTY;
	default:
		return CLASS_OTHER;
	}
}

struct verdict {
	enum enforcer enforcer;
	char *how;
};

static struct verdict say(enum enforcer e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct verdict say(enum enforcer e, const char *fmt, ...)
{
	struct verdict v = { e, NULL };
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&v.how, fmt, ap) < 0)
		v.how = NULL;
	va_end(ap);
	return v;
}

static bool is_portable(const struct node_caps *caps)
{
	return !caps->backend || strcmp(caps->backend, "lsm") != 0;
}

static const char *open_hook(const struct node_caps *caps)
{
	return is_portable(caps) ?
		       "portable backend: an open the contract does not allow kills the opener "
		       "(SIGKILL at the openat exit tracepoint) before it can read a byte" :
		       "lsm backend: file_open returns EPERM";
}

static bool is_deny_list(enum op op)
{
	return op == OP_NEQ || op == OP_IS_NONE_OF;
}

/* ---- the action itself ---------------------------------------------------------------- */

static struct verdict permission_action(enum action a, const struct node_caps *caps)
{
	switch (action_class(a)) {
	case CLASS_USE:
		return say(ENFORCE_KERNEL,
			   "uses (opens of the product's files for reading, connections to its "
			   "endpoints) are admitted while the contract is in force and its "
			   "constraints hold; %s",
			   open_hook(caps));
	case CLASS_TRANSFER:
	case CLASS_SETTLED:
		return say(ENFORCE_RECORDED, "a transfer between the parties that the platform "
					     "settles: reported, nothing to enforce at this node");
	default:
		return say(ENFORCE_RECORDED, "granting %s has no effect at this node: reported",
			   action__name(a));
	}
}

static struct verdict prohibition_action(enum action a, const struct node_caps *caps)
{
	switch (a) {
	case ACTION_DISTRIBUTE:
	case ACTION_DOWNLOAD:
	case ACTION_DELIVERY:
	case ACTION_GRANT_USE:
	case ACTION_POLICY_TRANSMIT:
		return say(ENFORCE_KERNEL,
			   "processes holding the product's data (and their children) may not "
			   "send it out: connect/sendmsg refused with EPERM (cgroup socket hooks) "
			   "to the addresses the networkAddress constraint names, or everywhere "
			   "when it names none");
	case ACTION_DELETE:
		if (is_portable(caps))
			return say(ENFORCE_REFUSED,
				   "the portable backend cannot prevent an unlink: a kill lands "
				   "after the file is gone (needs the lsm backend)");
		return say(ENFORCE_KERNEL, "lsm backend: unlink, rename and truncate of the "
					   "product's files return EPERM");
	case ACTION_ACCESS:
	case ACTION_READ:
		return say(ENFORCE_KERNEL, "opens of the product's files are refused; %s",
			   open_hook(caps));
	case ACTION_REPRODUCE:
	case ACTION_STORAGE:
		return say(ENFORCE_REFUSED,
			   "copies cannot be prevented at the syscall level without stopping every "
			   "write of a holder; a delete obligation removes tracked copies instead");
	default:
		return say(ENFORCE_REFUSED, "this node cannot observe %s, so cannot prohibit it",
			   action__name(a));
	}
}

static struct verdict obligation_action(enum action a)
{
	switch (a) {
	case ACTION_DELETE:
		return say(ENFORCE_AGENT,
			   "at termination the agent removes every bound file and every derived "
			   "copy, checks they are gone and signs a destruction proof");
	case ACTION_SELL:
		return say(ENFORCE_AGENT, "ownership passes: at termination the agent removes "
					  "the original files and signs a destruction proof");
	case ACTION_LOG_RECORD_SEND:
		return say(ENFORCE_AGENT, "every decision is journalled (hash-chained, signed "
					  "checkpoints) and reported to the platform");
	case ACTION_ALERT:
		return say(ENFORCE_AGENT, "abnormal use (denied attempts, exhausted counts, the "
					  "clock going back) is reported to the platform at once");
	case ACTION_COMPENSATE:
		return say(ENFORCE_RECORDED,
			   "payment is settled by the parties, not by this node: reported");
	default:
		return say(ENFORCE_REFUSED, "this node cannot perform %s on a party's behalf",
			   action__name(a));
	}
}

/* ---- constraints ---------------------------------------------------------------------- */

static const struct constraint *find_constraint(const struct policy *p, enum constraint_name n)
{
	for (size_t i = 0; i < p->n_constraints; i++)
		if (p->constraints[i].name == n)
			return &p->constraints[i];
	return NULL;
}

static bool has_code(const struct constraint_value *v, const char *code)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->strings[i], code))
			return true;
	return false;
}

/* executionEnv: this node is a usage-control environment (01); a sandbox (02) when its
 * workloads can be confined; a TEE (05) when it says so; never MPC, FL or ciphertext. */
static struct verdict execution_env(const struct constraint *k, const struct node_caps *caps)
{
	bool env01 = has_code(&k->value, "01");
	bool env02 = has_code(&k->value, "02") && caps->sandbox;
	bool env05 = has_code(&k->value, "05") && caps->tee;

	if (is_deny_list(k->op))
		return env01 ? say(ENFORCE_REFUSED, "this node is a usage-control environment (01), "
						    "which the constraint excludes") :
			       say(ENFORCE_KERNEL, "this node is a usage-control environment (01), "
						   "not one the constraint excludes");
	if (env01)
		return say(ENFORCE_KERNEL, "this node is a usage-control environment (01)");
	if (env02)
		return say(ENFORCE_KERNEL, "uses only from workloads started with `pepctl run` in "
					   "the contract's cgroup under a seccomp filter (02)");
	if (env05)
		return say(ENFORCE_KERNEL, "this node runs the workload in a TEE (05)");
	return say(ENFORCE_REFUSED, "this node offers no %s environment (it offers 01 usage "
				    "control%s)",
		   k->text, caps->sandbox ? " and 02 sandbox" : "");
}

static struct verdict node_property(const struct constraint *k, const char *mine,
				    const char *what)
{
	bool listed;

	if (!mine)
		return say(ENFORCE_REFUSED, "this node's %s is not configured, so it cannot "
					    "show it satisfies the constraint", what);
	listed = false;
	for (size_t i = 0; i < k->value.n; i++)
		listed |= !strcmp(k->value.strings[i], mine);
	if (listed == is_deny_list(k->op))
		return say(ENFORCE_REFUSED, "this node's %s \"%s\" does not satisfy the constraint",
			   what, mine);
	return say(ENFORCE_AGENT, "checked when the contract is applied: this node's %s is "
				  "\"%s\"", what, mine);
}

static struct verdict rate(const struct policy *p, const struct constraint *k, const char *what)
{
	const struct constraint *w = find_constraint(p, CN_TIME_WINDOW);
	int64_t period = k->value.period;
	uint64_t n = k->value.integer - (k->op == OP_LT);

	if (!period && w && w->value.type == VAL_DURATION)
		period = w->value.seconds;
	if (!period && k->name == CN_FREQUENCY)
		return say(ENFORCE_REFUSED, "a frequency needs a period: write \"%s/minute\" "
					    "(or /hour, /day) or add a timeWindow constraint",
			   k->text);
	if (!period)
		return say(ENFORCE_KERNEL, "at most %llu %s while the contract is in force; "
					   "counted atomically in the kernel, exact under "
					   "concurrency", (unsigned long long)n, what);
	return say(ENFORCE_KERNEL, "at most %llu %s per %lld s window; counted atomically in "
				   "the kernel, exact under concurrency",
		   (unsigned long long)n, what, (long long)period);
}

static struct verdict time_limit(const struct policy *p, const struct constraint *k)
{
	if (k->value.type == VAL_TIME_RANGE || k->value.type == VAL_TIME)
		return say(ENFORCE_KERNEL, "uses are admitted only %s the given time%s (kernel "
					   "boot clock, which does not jump with the wall clock)",
			   k->value.type == VAL_TIME_RANGE ? "within" :
			   (k->op == OP_GT || k->op == OP_GTEQ) ? "after" : "before",
			   k->value.type == VAL_TIME_RANGE ? " range" : "");
	if (k->op == OP_LT || k->op == OP_LTEQ)
		return say(ENFORCE_KERNEL, "uses are admitted only within %lld s of activation",
			   (long long)k->value.seconds);
	if (find_constraint(p, CN_COUNT) || find_constraint(p, CN_FREQUENCY))
		return say(ENFORCE_KERNEL, "the window of the policy's count: it restarts every "
					   "%lld s", (long long)k->value.seconds);
	return say(ENFORCE_REFUSED, "a window without a count or frequency to apply it to");
}

static struct verdict network_address(const struct constraint *k)
{
	if (k->value.type == VAL_HOSTS)
		return say(ENFORCE_REFUSED, "host names cannot be enforced at the socket level "
					    "(DNS answers change): list addresses or CIDRs");
	return say(ENFORCE_KERNEL, "processes holding the data may connect/send %s the listed "
				   "%zu address range(s); others get EPERM (cgroup connect and "
				   "sendmsg hooks, LPM trie)",
		   is_deny_list(k->op) ? "anywhere but to" : "only to", k->value.n);
}

/* A constraint on the use of the product (a permission of a use action). */
static struct verdict use_constraint(const struct policy *p, const struct constraint *k,
				     const struct node_caps *caps)
{
	switch (k->name) {
	case CN_APPLICATION:
		return say(ENFORCE_KERNEL, "%s the listed executables (device and inode of the "
					   "binary, resolved when the contract is applied) may open "
					   "the product's files; %s",
			   is_deny_list(k->op) ? "all but" : "only", open_hook(caps));
	case CN_COUNT:
		return rate(p, k, "uses");
	case CN_FREQUENCY:
		return rate(p, k, "uses");
	case CN_TIME:
	case CN_TIME_WINDOW:
		return time_limit(p, k);
	case CN_NETWORK_ADDRESS:
		return network_address(k);
	case CN_EXECUTION_ENV:
		return execution_env(k, caps);
	case CN_REGION:
		return node_property(k, caps->region, "region");
	case CN_PHYSICAL_ADDRESS:
		return node_property(k, caps->physical_id, "hardware identity");
	case CN_ENCRYPT_MODE:
		if (k->value.n == 1 && has_code(&k->value, "01") && !is_deny_list(k->op))
			return say(ENFORCE_RECORDED, "plaintext use is allowed: nothing to restrict");
		return say(ENFORCE_REFUSED, "this node cannot keep data encrypted while it is used");
	case CN_DELIVERY_METHOD:
	case CN_PAY_AMOUNT:
		return say(ENFORCE_RECORDED, "settled between the parties: reported, not enforced");
	case CN_EXPANSION:
		return say(ENFORCE_REFUSED, "a free-form constraint: this node does not know what "
					    "it requires");
	default:
		return say(ENFORCE_REFUSED, "the node sees opens and connections, not the bytes, "
					    "records, fields or algorithms inside them");
	}
}

static struct verdict constraint_verdict(const struct policy *p, enum action a,
					 const struct constraint *k, const struct node_caps *caps)
{
	if (k->name == CN_PAY_AMOUNT || k->name == CN_DELIVERY_METHOD)
		return say(ENFORCE_RECORDED, "settled between the parties: reported, not enforced");
	if (p->kind == POLICY_PERMISSION && action_class(a) == CLASS_USE)
		return use_constraint(p, k, caps);
	if (p->kind == POLICY_PROHIBITION && k->name == CN_NETWORK_ADDRESS &&
	    action_class(a) == CLASS_TRANSFER)
		return network_address(k);
	if (p->kind == POLICY_PERMISSION && action_class(a) != CLASS_USE &&
	    (k->name == CN_TIME || k->name == CN_TIME_WINDOW))
		return say(ENFORCE_RECORDED, "limits a transfer the platform settles: reported");
	return say(ENFORCE_REFUSED, "a %s of %s conditioned on %s is not supported by this node",
		   p->kind == POLICY_PROHIBITION ? "prohibition" :
		   p->kind == POLICY_OBLIGATION ? "obligation" : "permission",
		   action__name(a), constraint_name__str(k->name));
}

static struct verdict action_verdict(const struct policy *p, enum action a,
				     const struct node_caps *caps)
{
	switch (p->kind) {
	case POLICY_PERMISSION:
		return permission_action(a, caps);
	case POLICY_PROHIBITION:
		return prohibition_action(a, caps);
	default:
		return obligation_action(a);
	}
}

/* ---- the plan ------------------------------------------------------------------------- */

static const char *const kind_names[] = {
	[POLICY_PERMISSION] = "permission",
	[POLICY_PROHIBITION] = "prohibition",
	[POLICY_OBLIGATION] = "obligation",
};

static int add_entry(struct plan *plan, const struct policy *p, size_t action_index,
		     const struct constraint *k, const struct node_caps *caps)
{
	struct plan_entry *e = &plan->entries[plan->n];
	enum action a = p->actions[action_index];
	struct verdict v = k ? constraint_verdict(p, a, k, caps) : action_verdict(p, a, caps);
	int r;

	if (k)
		r = asprintf(&e->what, "%s %s of %s: %s %s %s", kind_names[p->kind],
			     p->action_names[action_index], p->product_id,
			     constraint_name__str(k->name), op__name(k->op), k->text ? k->text : "{...}");
	else
		r = asprintf(&e->what, "%s %s of %s", kind_names[p->kind],
			     p->action_names[action_index], p->product_id);
	if (r < 0 || !v.how) {
		free(v.how);
		return -ENOMEM;
	}
	e->policy = p;
	e->action = a;
	e->constraint = k;
	e->enforcer = v.enforcer;
	e->how = v.how;
	plan->n_refused += v.enforcer == ENFORCE_REFUSED;
	plan->n++;
	return 0;
}

static size_t count_entries(const struct contract *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_policies; i++)
		n += c->policies[i].n_actions * (1 + c->policies[i].n_constraints);
	return n;
}

struct plan *policy__plan(const struct contract *c, const struct node_caps *caps)
{
	static const struct node_caps no_caps;
	struct plan *plan = calloc(1, sizeof(*plan));

	if (!caps)
		caps = &no_caps;
	if (!plan)
		return NULL;
	plan->contract = c;
	plan->entries = calloc(count_entries(c) + 1, sizeof(*plan->entries));
	if (!plan->entries)
		goto fail;
	for (size_t i = 0; i < c->n_policies; i++) {
		const struct policy *p = &c->policies[i];

		for (size_t a = 0; a < p->n_actions; a++) {
			if (add_entry(plan, p, a, NULL, caps) < 0)
				goto fail;
			for (size_t k = 0; k < p->n_constraints; k++)
				if (add_entry(plan, p, a, &p->constraints[k], caps) < 0)
					goto fail;
		}
	}
	return plan;
fail:
	plan__free(plan);
	errno = ENOMEM;
	return NULL;
}

void plan__free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->entries[i].what);
		free(p->entries[i].how);
	}
	free(p->entries);
	free(p);
}

const char *enforcer__name(enum enforcer e)
{
	static const char *const names[] = {
		[ENFORCE_KERNEL] = "kernel",
		[ENFORCE_AGENT] = "agent",
		[ENFORCE_RECORDED] = "recorded",
		[ENFORCE_REFUSED] = "refused",
	};

	return e <= ENFORCE_REFUSED ? names[e] : "?";
}
