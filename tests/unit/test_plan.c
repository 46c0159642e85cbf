// SPDX-License-Identifier: Apache-2.0
/* policy__plan(): what the node does with each (policy, action, constraint). */
#include "tests/unit/fixture.h"

static const struct node_caps portable = { .backend = "portable" };
static const struct node_caps lsm = { .backend = "lsm" };

struct planned {
	cJSON *doc;
	struct contract *contract;
	struct plan *plan;
};

static struct planned plan_of(cJSON *doc, const struct node_caps *caps)
{
	struct pol_errors errs = { 0 };
	struct planned p = { .doc = doc };

	p.contract = fixture_parse(doc, &errs);
	assert_non_null(p.contract);
	p.plan = policy__plan(p.contract, caps);
	assert_non_null(p.plan);
	return p;
}

static void planned_free(struct planned *p)
{
	plan__free(p->plan);
	contract__free(p->contract);
	cJSON_Delete(p->doc);
}

/* The entry of policy `policy_id` for `action` and constraint `name` (0 = the action). */
static const struct plan_entry *entry(const struct planned *p, const char *policy_id,
				      enum action action, enum constraint_name name)
{
	for (size_t i = 0; i < p->plan->n; i++) {
		const struct plan_entry *e = &p->plan->entries[i];

		if (!strcmp(e->policy->id, policy_id) && e->action == action &&
		    (name ? e->constraint && e->constraint->name == name : !e->constraint))
			return e;
	}
	fail_msg("no plan entry for %s action %d constraint %d", policy_id, action, name);
	return NULL;
}

static void expect(const struct planned *p, const char *policy_id, enum action action,
		   enum constraint_name name, enum enforcer want, const char *how_part)
{
	const struct plan_entry *e = entry(p, policy_id, action, name);

	if (e->enforcer != want || !strstr(e->how, how_part))
		fail_msg("%s: got [%s] %s; want [%s] ...%s...", e->what,
			 enforcer__name(e->enforcer), e->how, enforcer__name(want), how_part);
}

static void add_constraint(cJSON *doc, const char *policy_path, const char *name,
			   const char *op, const char *value)
{
	cJSON *k = cJSON_CreateObject();

	cJSON_AddStringToObject(k, "constraintName", name);
	cJSON_AddStringToObject(k, "constraintOperator", op);
	cJSON_AddStringToObject(k, "constraintValue", value);
	cJSON_AddItemToArray(cJSON_GetObjectItem(fixture_at(doc, policy_path), "constraints"), k);
}

static void test_core_contract_is_fully_enforceable(void **state)
{
	struct planned p = plan_of(fixture_load("file-app-count-delete.json"), &portable);

	/* one entry per action and per (action, constraint): 3 + 2 + 1 + 1 */
	assert_int_equal(p.plan->n, 7);
	assert_int_equal(p.plan->n_refused, 0);
	expect(&p, "p1", ACTION_READ, 0, ENFORCE_KERNEL, "SIGKILL");
	expect(&p, "p1", ACTION_READ, CN_APPLICATION, ENFORCE_KERNEL, "only the listed executables");
	expect(&p, "p1", ACTION_READ, CN_COUNT, ENFORCE_KERNEL, "at most 5 uses while");
	expect(&p, "x1", ACTION_DISTRIBUTE, 0, ENFORCE_KERNEL, "may not send it out");
	expect(&p, "x1", ACTION_DISTRIBUTE, CN_NETWORK_ADDRESS, ENFORCE_KERNEL,
	       "anywhere but to the listed 1");
	expect(&p, "o1", ACTION_DELETE, 0, ENFORCE_AGENT, "destruction proof");
	expect(&p, "o2", ACTION_LOG_RECORD_SEND, 0, ENFORCE_AGENT, "reported");
	planned_free(&p);
}

static void test_lsm_backend_named_in_plan(void **state)
{
	struct planned p = plan_of(fixture_load("file-app-count-delete.json"), &lsm);

	expect(&p, "p1", ACTION_READ, CN_APPLICATION, ENFORCE_KERNEL, "file_open returns EPERM");
	planned_free(&p);
}

static void test_ciphertext_scenario_refuses_what_node_cannot_do(void **state)
{
	struct planned p = plan_of(fixture_load("scenario5-ciphertext.json"), &portable);

	expect(&p, "p1", ACTION_PROCESS, CN_ENCRYPT_MODE, ENFORCE_REFUSED, "encrypted");
	expect(&p, "p1", ACTION_PROCESS, CN_EXECUTION_ENV, ENFORCE_REFUSED, "no 06 environment");
	expect(&p, "p1", ACTION_PROCESS, CN_COUNT, ENFORCE_KERNEL, "at most 1000 uses");
	expect(&p, "p1", ACTION_PROCESS, CN_TIME, ENFORCE_KERNEL, "within the given time range");
	assert_int_equal(p.plan->n_refused, 2);
	planned_free(&p);
}

static void test_purchase_terms_are_recorded_not_enforced(void **state)
{
	struct planned p = plan_of(fixture_load("scenario4-purchase.json"), &portable);

	expect(&p, "p1", ACTION_SELL, 0, ENFORCE_RECORDED, "platform settles");
	expect(&p, "p1", ACTION_SELL, CN_PAY_AMOUNT, ENFORCE_RECORDED, "not enforced");
	expect(&p, "o1", ACTION_COMPENSATE, 0, ENFORCE_RECORDED, "settled by the parties");
	assert_int_equal(p.plan->n_refused, 0);
	planned_free(&p);
}

static void test_frequency_needs_a_period(void **state)
{
	struct planned p = plan_of(fixture_load("three-party-network.json"), &portable);

	expect(&p, "p1", ACTION_READ, CN_FREQUENCY, ENFORCE_REFUSED, "needs a period");
	expect(&p, "p1", ACTION_COMPUTE, CN_NETWORK_ADDRESS, ENFORCE_KERNEL,
	       "only to the listed 2");
	planned_free(&p);

	p = plan_of(fixture_load("three-party-network.json"), &portable);
	plan__free(p.plan);
	contract__free(p.contract);
	cJSON_ReplaceItemInObject(fixture_at(p.doc, "contractPolicies.permissionPolicies[0]."
						    "constraints[1]"),
				  "constraintValue", cJSON_CreateString("600/minute"));
	p = plan_of(p.doc, &portable);
	expect(&p, "p1", ACTION_READ, CN_FREQUENCY, ENFORCE_KERNEL, "at most 600 uses per 60 s");
	planned_free(&p);
}

static void test_count_window_from_time_window(void **state)
{
	struct planned p = plan_of(fixture_load("scenario1-api-quota.json"), &portable);

	expect(&p, "p1", ACTION_READ, CN_COUNT, ENFORCE_KERNEL, "at most 10000 uses per 86400 s");
	expect(&p, "p1", ACTION_READ, CN_TIME_WINDOW, ENFORCE_KERNEL, "restarts every 86400 s");
	planned_free(&p);
}

static void test_count_lt_admits_one_less(void **state)
{
	cJSON *doc = fixture_load("file-app-count-delete.json");
	struct planned p;

	cJSON_ReplaceItemInObject(fixture_at(doc, "contractPolicies.permissionPolicies[0]."
						  "constraints[1]"),
				  "constraintOperator", cJSON_CreateString("lt"));
	p = plan_of(doc, &portable);
	expect(&p, "p1", ACTION_READ, CN_COUNT, ENFORCE_KERNEL, "at most 4 uses");
	planned_free(&p);
}

static void test_prohibited_delete_needs_lsm(void **state)
{
	cJSON *doc = fixture_load("file-app-count-delete.json");
	struct planned p;

	cJSON_ReplaceItemInObject(fixture_at(doc, "contractPolicies.prohibitionPolicies[0]"),
				  "actions", cJSON_Parse("[\"delete\"]"));
	cJSON_ReplaceItemInObject(fixture_at(doc, "contractPolicies.prohibitionPolicies[0]"),
				  "constraints", cJSON_CreateArray());
	p = plan_of(cJSON_Duplicate(doc, true), &portable);
	expect(&p, "x1", ACTION_DELETE, 0, ENFORCE_REFUSED, "cannot prevent an unlink");
	planned_free(&p);
	p = plan_of(doc, &lsm);
	expect(&p, "x1", ACTION_DELETE, 0, ENFORCE_KERNEL, "unlink, rename and truncate");
	planned_free(&p);
}

static void test_host_names_refused(void **state)
{
	cJSON *doc = fixture_load("scenario1-api-quota.json");
	struct planned p;

	cJSON_ReplaceItemInObject(fixture_at(doc, "contractPolicies.permissionPolicies[0]."
						  "constraints[2]"),
				  "constraintValue", cJSON_CreateString("api.example.com"));
	p = plan_of(doc, &portable);
	expect(&p, "p1", ACTION_READ, CN_NETWORK_ADDRESS, ENFORCE_REFUSED, "host names");
	planned_free(&p);
}

static void test_sandbox_and_node_properties_depend_on_caps(void **state)
{
	static const struct node_caps confined = { .backend = "portable", .sandbox = true,
						   .region = "110000" };
	cJSON *doc = fixture_load("scenario2-joint-compute.json");
	struct planned p;

	add_constraint(doc, "contractPolicies.permissionPolicies[0]", "region", "eq", "110000");
	p = plan_of(cJSON_Duplicate(doc, true), &portable);
	expect(&p, "p2", ACTION_JOINT_DEVELOP, CN_EXECUTION_ENV, ENFORCE_REFUSED, "no 02");
	expect(&p, "p1", ACTION_READ, CN_REGION, ENFORCE_REFUSED, "not configured");
	expect(&p, "p1", ACTION_READ, CN_DATA_FIELD, ENFORCE_REFUSED, "fields");
	planned_free(&p);
	p = plan_of(doc, &confined);
	expect(&p, "p2", ACTION_JOINT_DEVELOP, CN_EXECUTION_ENV, ENFORCE_KERNEL, "pepctl run");
	expect(&p, "p1", ACTION_READ, CN_REGION, ENFORCE_AGENT, "\"110000\"");
	planned_free(&p);
}

static void test_free_form_constraint_refused_not_ignored(void **state)
{
	cJSON *doc = fixture_load("file-app-count-delete.json");
	struct planned p;

	add_constraint(doc, "contractPolicies.permissionPolicies[0]", "expansionItem", "eq", "x");
	p = plan_of(doc, &portable);
	expect(&p, "p1", ACTION_READ, CN_EXPANSION, ENFORCE_REFUSED, "free-form");
	assert_int_equal(p.plan->n_refused, 1);
	planned_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_contract_is_fully_enforceable),
		cmocka_unit_test(test_lsm_backend_named_in_plan),
		cmocka_unit_test(test_ciphertext_scenario_refuses_what_node_cannot_do),
		cmocka_unit_test(test_purchase_terms_are_recorded_not_enforced),
		cmocka_unit_test(test_frequency_needs_a_period),
		cmocka_unit_test(test_count_window_from_time_window),
		cmocka_unit_test(test_count_lt_admits_one_less),
		cmocka_unit_test(test_prohibited_delete_needs_lsm),
		cmocka_unit_test(test_host_names_refused),
		cmocka_unit_test(test_sandbox_and_node_properties_depend_on_caps),
		cmocka_unit_test(test_free_form_constraint_refused_not_ignored),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
