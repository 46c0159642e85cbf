// SPDX-License-Identifier: Apache-2.0
/*
 * pepctl verify: is this contract well-formed and authentic, and what would this node do with
 * each of its clauses? Needs no root and no agent: it runs policy/ in-process.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"
#include "tools/pepctl.h"

#define DEFAULT_TRUST "/etc/pep/trust"

struct verify_args {
	const char *file;
	struct verify_opts vopts;
	struct parse_opts popts;
	struct node_caps caps;
	bool json;
};

struct verify_result {
	struct contract *contract;
	struct plan *plan;
	struct pol_errors errs;
	char hash[65];
	int io_error; /* -errno when the trust store or the file could not be read */
};

static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
}

static const char *signatory_role(enum signatory_type t)
{
	static const char *const roles[] = { "?", "provider", "consumer", "service party",
					     "other" };

	return t <= SIGNATORY_OTHER ? roles[t] : "?";
}

/* ---- plain words ---------------------------------------------------------------------- */

/* Whether an error is about `path` or something inside it ("signatories[1].signature"). */
static bool has_errors_under(const struct pol_errors *errs, const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < errs->n; i++)
		if (!strncmp(errs->v[i].path, path, len) && strchr(".[", errs->v[i].path[len]))
			return true;
	return false;
}

static void print_errors(const struct pol_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		printf("  %s%s%s\n", errs->v[i].path, *errs->v[i].path ? ": " : "",
		       errs->v[i].msg);
}

static void print_plan(const struct plan *plan, const char *backend)
{
	printf("\nplan for the %s backend: %zu entries, %zu refused\n", backend, plan->n,
	       plan->n_refused);
	for (size_t i = 0; i < plan->n; i++) {
		const struct plan_entry *e = &plan->entries[i];

		printf("  [%s] %s (%s)\n      %s\n", enforcer__name(e->enforcer), e->what,
		       e->policy->id, e->how);
	}
	if (plan->n_refused)
		printf("\nThis node refuses to apply the contract: %zu entr%s marked [refused] "
		       "above cannot be honoured here.\n",
		       plan->n_refused, plan->n_refused == 1 ? "y" : "ies");
	else
		printf("\nThis node can apply the contract.\n");
}

static void print_text(const struct verify_args *a, const struct verify_result *r)
{
	const struct contract *c = r->contract;
	char from[32], to[32];

	if (!c) {
		printf("%s: INVALID: not a well-formed contract (%zu error%s)\n", a->file, r->errs.n,
		       r->errs.n == 1 ? "" : "s");
		print_errors(&r->errs);
		return;
	}
	format_time(c->activation_time, from, sizeof(from));
	format_time(c->end_time, to, sizeof(to));
	printf("contract %s \"%s\"\n", c->id, c->name);
	printf("  hash (%s): %s\n  in force: %s .. %s\n",
	       contract__digest_alg(c) == DIGEST_SM3 ? "SM3" : "SHA-256", r->hash, from, to);
	for (size_t i = 0; i < c->n_signatories; i++)
		printf("  %s %s (%s)\n",
		       has_errors_under(&r->errs, c->signatories[i].path) ? "NOT verified:" :
									  "signed by",
		       c->signatories[i].entity_id, signatory_role(c->signatories[i].type));
	if (r->errs.n) {
		printf("%s: INVALID: %zu error%s\n", a->file, r->errs.n, r->errs.n == 1 ? "" : "s");
		print_errors(&r->errs);
		return;
	}
	printf("%s: VALID: well-formed, signed by every party, in force now\n", a->file);
	if (r->plan)
		print_plan(r->plan, a->caps.backend);
}

/* ---- JSON ----------------------------------------------------------------------------- */

static cJSON *errors_json(const struct pol_errors *errs)
{
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; list && i < errs->n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "path", errs->v[i].path);
		cJSON_AddStringToObject(e, "message", errs->v[i].msg);
		cJSON_AddItemToArray(list, e);
	}
	return list;
}

static cJSON *entry_json(const struct plan_entry *e)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "policy", e->policy->id);
	cJSON_AddStringToObject(o, "action", action__name(e->action));
	if (e->constraint) {
		cJSON *k = cJSON_AddObjectToObject(o, "constraint");

		cJSON_AddStringToObject(k, "name", constraint_name__str(e->constraint->name));
		cJSON_AddStringToObject(k, "operator", op__name(e->constraint->op));
		if (e->constraint->text)
			cJSON_AddStringToObject(k, "value", e->constraint->text);
	}
	cJSON_AddStringToObject(o, "enforcer", enforcer__name(e->enforcer));
	cJSON_AddStringToObject(o, "what", e->what);
	cJSON_AddStringToObject(o, "how", e->how);
	return o;
}

static cJSON *plan_json(const struct plan *plan, const char *backend)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *entries = cJSON_AddArrayToObject(o, "entries");

	cJSON_AddStringToObject(o, "backend", backend);
	for (size_t i = 0; i < plan->n; i++)
		cJSON_AddItemToArray(entries, entry_json(&plan->entries[i]));
	cJSON_AddNumberToObject(o, "refused", (double)plan->n_refused);
	cJSON_AddBoolToObject(o, "applicable", plan->n_refused == 0);
	return o;
}

static void print_json(const struct verify_args *a, const struct verify_result *r)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddBoolToObject(o, "valid", r->contract && !r->errs.n);
	if (r->contract) {
		cJSON_AddStringToObject(o, "contractId", r->contract->id);
		cJSON_AddStringToObject(o, "contractHash", r->hash);
	}
	cJSON_AddItemToObject(o, "errors", errors_json(&r->errs));
	if (r->plan)
		cJSON_AddItemToObject(o, "plan", plan_json(r->plan, a->caps.backend));
	text = cJSON_Print(o);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

/* ---- the command ---------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	static const struct option longopts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "backend", required_argument, NULL, 'b' },
		{ "at", required_argument, NULL, 'a' },
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "no-id-check-char", no_argument, NULL, 'n' },
		{ 0 },
	};
	int opt;

	a->vopts.trust_path = DEFAULT_TRUST;
	a->json = pepctl_json;
	a->caps.backend = "portable";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			a->vopts.trust_path = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'b':
			if (strcmp(optarg, "lsm") && strcmp(optarg, "portable"))
				return -EINVAL;
			a->caps.backend = optarg;
			break;
		case 'a': /* verify as of another time: for tests and audits */
			if (pol_time__parse(optarg, &a->vopts.now) < 0)
				return -EINVAL;
			break;
		case 'm':
			a->popts.max_bytes = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			a->popts.skip_id_check_char = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1)
		return -EINVAL;
	a->file = argv[optind];
	return 0;
}

static void verify(const struct verify_args *a, const char *buf, size_t len,
		   struct verify_result *r)
{
	r->contract = policy__parse(buf, len, &a->popts, &r->errs);
	if (!r->contract)
		return;
	if (contract__hash(r->contract, r->hash) < 0)
		snprintf(r->hash, sizeof(r->hash), "-");
	r->io_error = policy__verify(r->contract, &a->vopts, &r->errs);
	if (r->io_error == -EINVAL)
		r->io_error = 0;
	if (!r->errs.n)
		r->plan = policy__plan(r->contract, &a->caps);
}

int cmd_verify(int argc, char **argv)
{
	struct verify_args a = { 0 };
	struct verify_result r = { 0 };
	size_t len;
	char *buf;
	int err, code;

	if (parse_args(argc, argv, &a) < 0)
		return pepctl_usage("verify");
	err = read_file(a.file, &buf, &len);
	if (err < 0) {
		fprintf(stderr, "pepctl verify: %s: %s\n", a.file, strerror(-err));
		return EXIT_USAGE;
	}
	verify(&a, buf, len, &r);
	if (a.json)
		print_json(&a, &r);
	else
		print_text(&a, &r);
	code = r.io_error ? EXIT_USAGE : (r.contract && !r.errs.n) ? EXIT_OK : EXIT_INVALID;
	plan__free(r.plan);
	contract__free(r.contract);
	pol_errors__clear(&r.errs);
	free(buf);
	return code;
}
