// SPDX-License-Identifier: Apache-2.0
/*
 * policy__parse(): strict JSON, Annex C member rules, then the contract model with typed
 * constraint values. Both document forms of the profile are read here: the `contractPolicies`
 * form and the Annex B form (one `strategy` object, `signatoryEntities` or `signatureList`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"
#include "policy/internal.h"
#include "policy/schema.h"

#define REQ true

static const struct field contract_fields[] = {
	{ "contractId", NULL, REQ, T_STRING, 47 },
	{ "contractName", NULL, REQ, T_STRING, 128 },
	{ "contractAbstract", NULL, 0, T_STRING, 1024 },
	{ "contractStatus", NULL, REQ, T_CODE, 4, contract_status_codes },
	{ "createTime", NULL, 0, T_TIMESTAMP },
	{ "signMode", NULL, REQ, T_CODE, 2, sign_mode_codes },
	{ "activationTime", NULL, 0, T_TIMESTAMP },
	{ "endTime", NULL, 0, T_TIMESTAMP },
	{ "signTime", NULL, REQ, T_TIMESTAMP },
	{ "indate", NULL, REQ, T_TIMESTAMP },
	{ "signatories", NULL, REQ, T_ARRAY },
	{ "contractPolicies", NULL, REQ, T_OBJECT },
	{ "expansionItem", NULL, 0, T_OBJECT },
	{ NULL },
};

/* Annex B (/contractRegistrate, /contractNegotiate) plus the validity of /contractCreate. */
static const struct field annex_b_fields[] = {
	{ "contractId", NULL, REQ, T_STRING, 47 },
	{ "contractName", NULL, REQ, T_STRING, 128 },
	{ "contractAbstract", NULL, 0, T_STRING, 1024 },
	{ "contractStatus", NULL, 0, T_CODE, 4, contract_status_codes },
	{ "signMode", NULL, 0, T_CODE, 2, sign_mode_codes },
	{ "createTime", NULL, 0, T_TIMESTAMP },
	{ "issueTime", NULL, 0, T_TIMESTAMP },
	{ "activationTime", NULL, 0, T_TIMESTAMP },
	{ "endTime", NULL, 0, T_TIMESTAMP },
	{ "signTime", "signatoryTime", 0, T_TIMESTAMP },
	{ "indate", NULL, 0, T_TIMESTAMP },
	{ "strategy", NULL, REQ, T_OBJECT },
	{ "signatoryEntities", "signatureList", REQ, T_ARRAY },
	{ "contractExpansionItem", "expansionItem", 0, T_FREE },
	{ NULL },
};

static const struct field signatory_fields[] = {
	{ "signatoryEntityId", "entityId", REQ, T_STRING, 18 },
	{ "signatoryEntityName", NULL, 0, T_STRING, 128 },
	/* Not in the Annex B lists, but the node must know who is provider and consumer. */
	{ "signatorytype", "signatoryType", REQ, T_CODE, 2, signatory_type_codes },
	{ "signTime", "signatoryTime", 0, T_TIMESTAMP },
	{ "certificate", NULL, REQ, T_STRING },
	{ "signature", NULL, REQ, T_STRING },
	{ "expansionItem", NULL, 0, T_OBJECT },
	{ NULL },
};

static const struct field policy_lists_fields[] = {
	{ "permissionPolicies", NULL, 0, T_ARRAY },
	{ "prohibitionPolicies", NULL, 0, T_ARRAY },
	{ "obligationPolicies", NULL, 0, T_ARRAY },
	{ NULL },
};

static const struct field policy_fields[] = {
	{ "policyId", NULL, 0, T_STRING, 64 },
	{ "subjectInfo", NULL, REQ, T_OBJECT },
	{ "executionNodeInfo", NULL, REQ, T_OBJECT },
	{ "actions", NULL, REQ, T_ARRAY },
	{ "constraints", NULL, 0, T_ARRAY },
	{ "policyExpansion", NULL, 0, T_FREE },
	{ NULL },
};

static const struct field subject_fields[] = {
	{ "dataProductId", NULL, REQ, T_STRING, 65 },
	{ "dataProductName", NULL, 0, T_STRING, 128 },
	{ "dataProductAbstract", NULL, 0, T_STRING, 1024 },
	{ "dataProductEntityId", NULL, REQ, T_STRING, 18 },
	{ "expansionItem", NULL, 0, T_OBJECT },
	{ NULL },
};

/* Annex B names first, Annex C.3 names as aliases. */
static const struct field node_fields[] = {
	{ "providerNodeId", "assignerId", REQ, T_STRING, 32 },
	{ "providerNodeName", "assignerName", 0, T_STRING, 128 },
	{ "consumerNodeId", "assigneeId", REQ, T_STRING, 32 },
	{ "consumerNodeName", "assigneeName", 0, T_STRING, 128 },
	{ "expansionItem", NULL, 0, T_OBJECT },
	{ NULL },
};

static const struct field constraint_fields[] = {
	{ "constraintName", NULL, REQ, T_STRING },
	{ "constraintOperator", NULL, REQ, T_STRING },
	{ "constraintValue", NULL, REQ, T_FREE },
	{ NULL },
};

static const char *const policy_list_names[] = {
	[POLICY_PERMISSION] = "permissionPolicies",
	[POLICY_PROHIBITION] = "prohibitionPolicies",
	[POLICY_OBLIGATION] = "obligationPolicies",
};

/* calloc/strdup that record an allocation failure as an error, so the parse fails cleanly. */
static void *zalloc(size_t n, size_t size, struct pol_errors *errs)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		pol_errors__add(errs, "", "out of memory");
	return p;
}

static char *dup_or_fail(const char *s, struct pol_errors *errs)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		pol_errors__add(errs, "", "out of memory");
	return d;
}

static int64_t time_member(const cJSON *obj, const struct field *fields, const char *name)
{
	const char *s = schema__get_string(obj, fields, name);
	int64_t t = 0;

	if (s && pol_time__parse(s, &t) < 0)
		t = 0; /* already reported by schema__check() */
	return t;
}

/* ---- contractId ----------------------------------------------------------------------- */

char contract_id__check_char(const char *s, size_t len)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned p = 36;

	/* ISO/IEC 7064 hybrid system MOD 37,36 over digits and upper-case letters. */
	for (size_t i = 0; i < len; i++) {
		const char *at = s[i] ? strchr(alphabet, s[i]) : NULL;
		unsigned sum;

		if (!at)
			return 0;
		sum = (p + (unsigned)(at - alphabet)) % 36;
		p = (2 * (sum ? sum : 36)) % 37;
	}
	return alphabet[(37 - p) % 36];
}

static bool all_of(const char *s, size_t len, const char *set)
{
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

/* type (1) + node type (1) + entity id (18) + region/industry (4) + time (14) + random (8)
 * + check character (1) = 47. */
static void check_contract_id(const char *id, bool skip_check_char, struct pol_errors *errs)
{
	static const char upper_alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char stamp[15];
	int64_t t;
	char want;

	if (strlen(id) != 47) {
		pol_errors__add(errs, "contractId", "%zu characters: a contract id has exactly 47",
				strlen(id));
		return;
	}
	if (!all_of(id, 47, upper_alnum)) {
		pol_errors__add(errs, "contractId", "only digits and upper-case letters allowed");
		return;
	}
	memcpy(stamp, id + 24, 14);
	stamp[14] = '\0';
	if (!all_of(stamp, 14, "0123456789") || pol_time__parse(stamp, &t) < 0)
		pol_errors__add(errs, "contractId",
				"characters 25-38 \"%s\" are not a time code YYYYMMDDHHMMSS", stamp);
	want = contract_id__check_char(id, 46);
	if (!skip_check_char && want != id[46])
		pol_errors__add(errs, "contractId",
				"check character '%c' is wrong: ISO/IEC 7064 MOD 37,36 gives '%c'",
				id[46], want);
}

/* ---- signatories ---------------------------------------------------------------------- */

static void parse_signatory(const cJSON *obj, const char *path, struct signatory *s,
			    struct pol_errors *errs)
{
	const char *type;

	schema__check(obj, path, signatory_fields, errs);
	s->path = dup_or_fail(path, errs);
	s->entity_id = dup_or_fail(schema__get_string(obj, signatory_fields, "signatoryEntityId"),
				   errs);
	s->name = dup_or_fail(schema__get_string(obj, signatory_fields, "signatoryEntityName"),
			      errs);
	s->certificate_pem =
		dup_or_fail(schema__get_string(obj, signatory_fields, "certificate"), errs);
	s->signature_b64 = dup_or_fail(schema__get_string(obj, signatory_fields, "signature"),
				       errs);
	s->sign_time = time_member(obj, signatory_fields, "signTime");
	type = schema__get_string(obj, signatory_fields, "signatorytype");
	if (type && strlen(type) == 2 && type[0] == '0' && type[1] >= '1' && type[1] <= '4')
		s->type = (enum signatory_type)(type[1] - '0');
}

static void parse_signatories(struct contract *c, const cJSON *list, const char *list_name,
			      struct pol_errors *errs)
{
	const cJSON *item;
	size_t i = 0;

	if (!cJSON_IsArray(list))
		return; /* reported by schema__check() */
	if (!cJSON_GetArraySize(list)) {
		pol_errors__add(errs, list_name, "no signatories: every party must sign");
		return;
	}
	c->signatories = zalloc((size_t)cJSON_GetArraySize(list), sizeof(*c->signatories), errs);
	if (!c->signatories)
		return;
	cJSON_ArrayForEach(item, list) {
		char *path = path_index(list_name, i);

		parse_signatory(item, path ? path : list_name, &c->signatories[i], errs);
		free(path);
		for (size_t j = 0; j < i; j++)
			if (c->signatories[i].entity_id && c->signatories[j].entity_id &&
			    !strcmp(c->signatories[i].entity_id, c->signatories[j].entity_id))
				pol_errors__add(errs, c->signatories[i].path,
						"signatory %s is listed twice",
						c->signatories[i].entity_id);
		c->n_signatories = ++i;
	}
}

/* ---- actions -------------------------------------------------------------------------- */

static void parse_action(const cJSON *item, const char *path, struct policy *p,
			 struct pol_errors *errs)
{
	const char *name = cJSON_IsString(item) ? item->valuestring : NULL;
	enum action a;

	/* A custom action is an object holding only an expansionItem (Annex C.5 #21). */
	if (cJSON_IsObject(item) && cJSON_GetArraySize(item) == 1 &&
	    cJSON_GetObjectItemCaseSensitive(item, "expansionItem")) {
		a = ACTION_CUSTOM;
		name = "expansionItem";
	} else if (!name) {
		pol_errors__add(errs, path, "an action is a string or {\"expansionItem\": ...}");
		return;
	} else if (action__parse(name, &a) < 0) {
		pol_errors__add(errs, path,
				"unknown action \"%.40s\": expected an Annex C.5 key (read, "
				"access, ..., delete, alert) or an expansionItem object",
				name);
		return;
	}
	for (size_t i = 0; i < p->n_actions; i++)
		if (!strcmp(p->action_names[i], name))
			pol_errors__add(errs, path, "action %s is listed twice", name);
	p->actions[p->n_actions] = a;
	p->action_names[p->n_actions] = dup_or_fail(name, errs);
	if (p->action_names[p->n_actions])
		p->n_actions++;
}

static void parse_actions(const cJSON *list, const char *path, struct policy *p,
			  struct pol_errors *errs)
{
	const cJSON *item;
	size_t n, i = 0;

	if (!cJSON_IsArray(list))
		return;
	n = (size_t)cJSON_GetArraySize(list);
	if (!n) {
		pol_errors__add(errs, path, "a policy needs at least one action");
		return;
	}
	p->actions = zalloc(n, sizeof(*p->actions), errs);
	p->action_names = zalloc(n, sizeof(*p->action_names), errs);
	if (!p->actions || !p->action_names)
		return;
	cJSON_ArrayForEach(item, list) {
		char *item_path = path_index(path, i++);

		parse_action(item, item_path ? item_path : path, p, errs);
		free(item_path);
	}
}

/* ---- constraints ---------------------------------------------------------------------- */

#define O(op)	 (1u << (op))
#define MEMBERSHIP (O(OP_EQ) | O(OP_IS_A) | O(OP_IS_ANY_OF) | O(OP_IS_PART_OF) | O(OP_NEQ) | \
		    O(OP_IS_NONE_OF))
#define UPPER_BOUND (O(OP_LT) | O(OP_LTEQ))
#define ORDER (O(OP_EQ) | O(OP_GT) | O(OP_GTEQ) | O(OP_LT) | O(OP_LTEQ))
#define RANGE (O(OP_EQ) | O(OP_IS_A) | O(OP_IS_PART_OF))

/* The operators each constraint defines (see docs/contract-format.md). Membership operators
 * compare one subject (an address, an executable, a code) with a set of values; set
 * operators (isAllOf, hasPart) need a set-valued subject, which only dataField has. */
static unsigned allowed_ops(enum constraint_name name, enum value_type type)
{
	switch (name) {
	case CN_TIME:
		return type == VAL_TIME_RANGE ? RANGE : (O(OP_GT) | O(OP_GTEQ) | O(OP_LT) | O(OP_LTEQ));
	case CN_TIME_WINDOW:
		return type == VAL_TIME_RANGE ? RANGE : (O(OP_EQ) | O(OP_IS_A) | UPPER_BOUND);
	case CN_COUNT:
	case CN_FREQUENCY:
	case CN_DATA_SIZE:
	case CN_DATE_RECORD:
		return UPPER_BOUND;
	case CN_DATA_FIELD:
		return MEMBERSHIP | O(OP_IS_ALL_OF) | O(OP_HAS_PART);
	case CN_VALUE_EXPRESSION:
		return O(OP_EQ) | O(OP_IS_A);
	case CN_PAY_AMOUNT:
		return ORDER;
	case CN_EXPANSION:
		return ~0u;
	default:
		return MEMBERSHIP;
	}
}

static void describe_ops(char *buf, size_t size, unsigned ops)
{
	buf[0] = '\0';
	for (int op = OP_EQ; op <= OP_NEQ; op++)
		if (ops & O(op)) {
			strncat(buf, buf[0] ? ", " : "", size - strlen(buf) - 1);
			strncat(buf, op__name((enum op)op), size - strlen(buf) - 1);
		}
}

static void check_operator(const struct constraint *k, const char *path, struct pol_errors *errs)
{
	unsigned ops = allowed_ops(k->name, k->value.type);
	char list[96];

	if (!(ops & O(k->op))) {
		describe_ops(list, sizeof(list), ops);
		pol_errors__add(errs, path, "operator %s is not defined for %s: use %s",
				op__name(k->op), constraint_name__str(k->name), list);
	} else if ((k->op == OP_EQ || k->op == OP_NEQ) && k->value.n > 1) {
		pol_errors__add(errs, path, "%s compares with one value, the value lists %zu: use %s",
				op__name(k->op), k->value.n,
				k->op == OP_EQ ? "isAnyOf" : "isNoneOf");
	}
}

static void parse_constraint(const cJSON *obj, const char *path, struct constraint *k,
			     struct pol_errors *errs)
{
	const char *name = schema__get_string(obj, constraint_fields, "constraintName");
	const char *op = schema__get_string(obj, constraint_fields, "constraintOperator");
	const cJSON *value = schema__get(obj, constraint_fields, "constraintValue");
	char *name_path = path_member(path, "constraintName");
	char *op_path = path_member(path, "constraintOperator");
	char *value_path = path_member(path, "constraintValue");
	size_t before = pol_errors__count(errs);

	schema__check(obj, path, constraint_fields, errs);
	if (name && constraint_name__parse(name, &k->name) < 0)
		pol_errors__add(errs, name_path,
				"unknown constraint \"%.40s\": expected an Annex C.6 name (time, "
				"timeWindow, ..., payAmount) or expansionItem",
				name);
	if (op && op__parse(op, &k->op) < 0)
		pol_errors__add(errs, op_path,
				"unknown operator \"%.20s\": expected eq, gt, gteq, hasPart, isA, "
				"isAllOf, isAnyOf, isNoneOf, isPartOf, lt, lteq, neq or codes 01-12",
				op);
	if (pol_errors__count(errs) != before || !value)
		goto out;
	if (k->name == CN_EXPANSION)
		goto out; /* free-form: any JSON value, not interpreted */
	if (!cJSON_IsString(value)) {
		pol_errors__add(errs, value_path, "must be a string (lists are written \"[a, b]\")");
		goto out;
	}
	k->text = dup_or_fail(value->valuestring, errs);
	if (constraint_value__parse(k->name, value->valuestring, value_path, &k->value, errs) == 0)
		check_operator(k, op_path, errs);
out:
	free(name_path);
	free(op_path);
	free(value_path);
}

/* Two constraints of one name in one policy would need a combination rule the standard does
 * not give; a rate written with its period ("10000 次/天") must agree with a timeWindow. */
static void check_constraint_set(const struct policy *p, const char *path,
				 struct pol_errors *errs)
{
	const struct constraint *window = NULL;

	for (size_t i = 0; i < p->n_constraints; i++) {
		const struct constraint *k = &p->constraints[i];

		for (size_t j = 0; j < i && k->name != CN_EXPANSION; j++)
			if (p->constraints[j].name == k->name)
				pol_errors__add(errs, path,
						"constraint %s is given twice in one policy: "
						"merge the values into one",
						constraint_name__str(k->name));
		if (k->name == CN_TIME_WINDOW && k->value.type == VAL_DURATION)
			window = k;
	}
	for (size_t i = 0; window && i < p->n_constraints; i++) {
		const struct constraint *k = &p->constraints[i];

		if (k->value.type == VAL_INTEGER && k->value.period &&
		    (int64_t)k->value.period != window->value.seconds)
			pol_errors__add(errs, path,
					"%s \"%s\" names a period that differs from timeWindow "
					"\"%s\"",
					constraint_name__str(k->name), k->text, window->text);
	}
}

static void parse_constraints(const cJSON *list, const char *path, struct policy *p,
			      struct pol_errors *errs)
{
	const cJSON *item;
	size_t i = 0;

	if (!cJSON_IsArray(list))
		return;
	p->constraints = zalloc((size_t)cJSON_GetArraySize(list), sizeof(*p->constraints), errs);
	if (!p->constraints)
		return;
	cJSON_ArrayForEach(item, list) {
		char *item_path = path_index(path, i);

		parse_constraint(item, item_path ? item_path : path, &p->constraints[i], errs);
		free(item_path);
		p->n_constraints = ++i;
	}
	check_constraint_set(p, path, errs);
}

/* ---- policies ------------------------------------------------------------------------- */

static void parse_policy(const cJSON *obj, const char *path, const char *default_id,
			 struct policy *p, struct pol_errors *errs)
{
	const cJSON *subject = schema__get(obj, policy_fields, "subjectInfo");
	const cJSON *node = schema__get(obj, policy_fields, "executionNodeInfo");
	const char *id = schema__get_string(obj, policy_fields, "policyId");
	char *sub_path;

	schema__check(obj, path, policy_fields, errs);
	p->path = dup_or_fail(path, errs);
	p->id = dup_or_fail(id && *id ? id : default_id, errs);
	if (cJSON_IsObject(subject)) {
		sub_path = path_member(path, "subjectInfo");
		schema__check(subject, sub_path, subject_fields, errs);
		free(sub_path);
		p->product_id = dup_or_fail(
			schema__get_string(subject, subject_fields, "dataProductId"), errs);
		p->product_entity_id = dup_or_fail(
			schema__get_string(subject, subject_fields, "dataProductEntityId"), errs);
	}
	if (cJSON_IsObject(node)) {
		sub_path = path_member(path, "executionNodeInfo");
		schema__check(node, sub_path, node_fields, errs);
		free(sub_path);
		p->provider_node_id =
			dup_or_fail(schema__get_string(node, node_fields, "providerNodeId"), errs);
		p->consumer_node_id =
			dup_or_fail(schema__get_string(node, node_fields, "consumerNodeId"), errs);
	}
	sub_path = path_member(path, "actions");
	parse_actions(schema__get(obj, policy_fields, "actions"), sub_path, p, errs);
	free(sub_path);
	sub_path = path_member(path, "constraints");
	parse_constraints(schema__get(obj, policy_fields, "constraints"), sub_path, p, errs);
	free(sub_path);
}

static size_t count_policies(const cJSON *lists)
{
	size_t n = 0;

	for (int kind = POLICY_PERMISSION; kind <= POLICY_OBLIGATION; kind++) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(lists, policy_list_names[kind]);

		n += cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 0;
	}
	return n;
}

static void parse_policy_lists(struct contract *c, const cJSON *lists, struct pol_errors *errs)
{
	if (!cJSON_IsObject(lists))
		return;
	schema__check(lists, "contractPolicies", policy_lists_fields, errs);
	if (!count_policies(lists)) {
		pol_errors__add(errs, "contractPolicies", "no policies: nothing to enforce");
		return;
	}
	c->policies = zalloc(count_policies(lists), sizeof(*c->policies), errs);
	if (!c->policies)
		return;
	for (int kind = POLICY_PERMISSION; kind <= POLICY_OBLIGATION; kind++) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(lists, policy_list_names[kind]);
		const cJSON *item;
		size_t i = 0;

		if (!cJSON_IsArray(list))
			continue;
		cJSON_ArrayForEach(item, list) {
			char *path = NULL, *default_id = path_index(policy_list_names[kind], i++);
			struct policy *p = &c->policies[c->n_policies++];

			if (default_id)
				path = path_member("contractPolicies", default_id);
			p->kind = (enum policy_kind)kind;
			parse_policy(item, path ? path : "contractPolicies", default_id, p, errs);
			free(path);
			free(default_id);
		}
	}
}

/* The Annex B form holds one `strategy`: one permission policy. */
static void parse_strategy(struct contract *c, const cJSON *strategy, struct pol_errors *errs)
{
	if (!cJSON_IsObject(strategy))
		return;
	c->policies = zalloc(1, sizeof(*c->policies), errs);
	if (!c->policies)
		return;
	c->n_policies = 1;
	c->policies[0].kind = POLICY_PERMISSION;
	parse_policy(strategy, "strategy", "strategy", &c->policies[0], errs);
}

/* ---- the document --------------------------------------------------------------------- */

static void parse_validity(struct contract *c, const cJSON *doc, const struct field *fields,
			   struct pol_errors *errs)
{
	c->create_time = time_member(doc, fields, "createTime");
	c->sign_time = time_member(doc, fields, "signTime");
	c->indate = time_member(doc, fields, "indate");
	c->activation_time = time_member(doc, fields, "activationTime");
	c->end_time = time_member(doc, fields, "endTime");
	/* The dictionary's validity runs from signing to `indate`; the interfaces name it
	 * activationTime..endTime. Use what the document gives. */
	if (!c->activation_time)
		c->activation_time = c->sign_time;
	if (!c->end_time)
		c->end_time = c->indate;
	if (!schema__get(doc, fields, "endTime") && !schema__get(doc, fields, "indate"))
		pol_errors__add(errs, "endTime", "the validity has no end: give endTime or indate");
	else if (c->activation_time && c->end_time && c->end_time < c->activation_time)
		pol_errors__add(errs, "endTime", "the validity ends before it begins");
}

static void parse_document(struct contract *c, const struct parse_opts *opts,
			   struct pol_errors *errs)
{
	const struct field *fields = c->annex_b_form ? annex_b_fields : contract_fields;
	const cJSON *doc = c->doc;
	const cJSON *signers = schema__get(doc, fields, c->annex_b_form ? "signatoryEntities" :
									"signatories");

	schema__check(doc, "", fields, errs);
	c->id = dup_or_fail(schema__get_string(doc, fields, "contractId"), errs);
	c->name = dup_or_fail(schema__get_string(doc, fields, "contractName"), errs);
	c->status = dup_or_fail(schema__get_string(doc, fields, "contractStatus"), errs);
	if (c->id)
		check_contract_id(c->id, opts && opts->skip_id_check_char, errs);
	parse_validity(c, doc, fields, errs);
	parse_signatories(c, signers, signers ? signers->string : "signatories", errs);
	if (c->annex_b_form)
		parse_strategy(c, cJSON_GetObjectItemCaseSensitive(doc, "strategy"), errs);
	else
		parse_policy_lists(c, cJSON_GetObjectItemCaseSensitive(doc, "contractPolicies"),
				   errs);
}

struct contract *policy__parse(const char *buf, size_t len, const struct parse_opts *opts,
			       struct pol_errors *errs)
{
	size_t max = opts && opts->max_bytes ? opts->max_bytes : POLICY_DEFAULT_BYTES;
	size_t before = pol_errors__count(errs);
	struct contract *c;
	cJSON *doc;

	doc = strict_json__parse(buf, len, max, errs);
	if (!doc) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		cJSON_Delete(doc);
		errno = ENOMEM;
		return NULL;
	}
	c->doc = doc;
	c->annex_b_form = cJSON_HasObjectItem(doc, "strategy");
	parse_document(c, opts, errs);
	if (pol_errors__count(errs) != before) {
		contract__free(c);
		errno = EINVAL;
		return NULL;
	}
	return c;
}

/* ---- freeing -------------------------------------------------------------------------- */

static void policy_free(struct policy *p)
{
	for (size_t i = 0; i < p->n_constraints; i++) {
		free(p->constraints[i].text);
		constraint_value__free(&p->constraints[i].value);
	}
	for (size_t i = 0; i < p->n_actions; i++)
		free(p->action_names[i]);
	free(p->constraints);
	free(p->actions);
	free(p->action_names);
	free(p->id);
	free(p->path);
	free(p->product_id);
	free(p->product_entity_id);
	free(p->provider_node_id);
	free(p->consumer_node_id);
}

static void signatory_free(struct signatory *s)
{
	free(s->entity_id);
	free(s->name);
	free(s->certificate_pem);
	free(s->signature_b64);
	free(s->path);
}

void contract__free(struct contract *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_policies; i++)
		policy_free(&c->policies[i]);
	for (size_t i = 0; i < c->n_signatories; i++)
		signatory_free(&c->signatories[i]);
	free(c->policies);
	free(c->signatories);
	free(c->id);
	free(c->name);
	free(c->status);
	cJSON_Delete(c->doc);
	free(c);
}
