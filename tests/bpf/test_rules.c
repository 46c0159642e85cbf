// SPDX-License-Identifier: Apache-2.0
/*
 * agent/rules.c: a plan's prohibition of `delete` becomes the file rule's no-delete flag on
 * the lsm backend, and is refused by the plan on the portable one; each kernel check is
 * traced back to its policy and action, for the records. Pure (no BPF, no root);
 * here rather than in tests/unit because rules.c is the agent's.
 */
#include "tests/unit/fixture.h"

#include "agent/rules.h"

static int lookup_here(const char *product, char ***ret, size_t *ret_n, void *ctx)
{
	*ret = calloc(1, sizeof(char *));
	assert_non_null(*ret);
	(*ret)[0] = strdup("/tmp"); /* a target that exists */
	*ret_n = 1;
	return 0;
}

/* The sample contract with one more prohibition: delete, without constraints. */
static struct contract *with_delete_prohibited(void)
{
	cJSON *doc = fixture_load("file-app-count-delete.json");
	cJSON *list = fixture_at(doc, "contractPolicies.prohibitionPolicies");
	cJSON *x2 = cJSON_Duplicate(cJSON_GetArrayItem(list, 0), 1);
	const char *actions[] = {"delete"};
	struct pol_errors errs = {0};
	struct contract *c;

	fixture_set(x2, "", "policyId", cJSON_CreateString("x2"));
	fixture_set(x2, "", "actions", cJSON_CreateStringArray(actions, 1));
	fixture_set(x2, "", "constraints", cJSON_CreateArray());
	cJSON_AddItemToArray(list, x2);
	c = fixture_parse(doc, &errs);
	cJSON_Delete(doc);
	assert_non_null(c);
	return c;
}

static void test_lsm_no_delete(void **state)
{
	struct node_caps caps = {.backend = "lsm"};
	struct contract *c = with_delete_prohibited();
	struct plan *plan = policy__plan(c, &caps);
	struct contract_rules r = {0};
	struct pol_errors errs = {0};

	assert_non_null(plan);
	assert_int_equal(plan->n_refused, 0);
	assert_int_equal(contract_rules__build(plan, lookup_here, NULL, &r, &errs), 0);
	assert_true(r.no_delete);
	assert_int_equal(r.egress, EGRESS_DENY_LIST); /* x1's isNoneOf, not changed by x2 */
	contract_rules__free(&r);
	plan__free(plan);
	contract__free(c);
}

static void test_portable_refuses(void **state)
{
	struct node_caps caps = {.backend = "portable"};
	struct contract *c = with_delete_prohibited();
	struct plan *plan = policy__plan(c, &caps);

	assert_non_null(plan);
	assert_int_equal(plan->n_refused, 1);
	plan__free(plan);
	contract__free(c);
}

/* Without the prohibition nothing is protected from deletion. */
static void test_default_allows_delete(void **state)
{
	struct node_caps caps = {.backend = "lsm"};
	cJSON *doc = fixture_load("file-app-count-delete.json");
	struct pol_errors errs = {0};
	struct contract *c = fixture_parse(doc, &errs);
	struct plan *plan = c ? policy__plan(c, &caps) : NULL;
	struct contract_rules r = {0};

	assert_non_null(plan);
	assert_int_equal(contract_rules__build(plan, lookup_here, NULL, &r, &errs), 0);
	assert_false(r.no_delete);
	contract_rules__free(&r);
	plan__free(plan);
	contract__free(c);
	cJSON_Delete(doc);
}

static void assert_origin(const struct origin *o, const char *policy, const char *action)
{
	assert_string_equal(o->policy ? o->policy : "(none)", policy);
	assert_string_equal(o->action ? o->action : "(none)", action);
}

/* The sample: p1 read with application and count, x1 distribute with networkAddress, o1
 * delete (copies), x2 delete (no deletion, lsm). Nothing sets a frequency or a time. */
static void test_origins(void **state)
{
	struct node_caps caps = {.backend = "lsm"};
	struct contract *c = with_delete_prohibited();
	struct plan *plan = policy__plan(c, &caps);
	struct origin o[ORIGIN_N];

	assert_non_null(plan);
	rule_origins(plan, o);
	assert_origin(&o[ORIGIN_USE], "p1", "read");
	assert_origin(&o[ORIGIN_APP], "p1", "read");
	assert_origin(&o[ORIGIN_COUNT], "p1", "read");
	assert_origin(&o[ORIGIN_EGRESS], "x1", "distribute");
	assert_origin(&o[ORIGIN_COPIES], "o1", "delete");
	assert_origin(&o[ORIGIN_NO_DELETE], "x2", "delete");
	assert_null(o[ORIGIN_FREQ].policy);
	assert_null(o[ORIGIN_TIME].policy);
	plan__free(plan);
	contract__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lsm_no_delete),
	    cmocka_unit_test(test_portable_refuses),
	    cmocka_unit_test(test_default_allows_delete),
	    cmocka_unit_test(test_origins),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
