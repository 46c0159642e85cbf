// SPDX-License-Identifier: Apache-2.0
/* policy__parse(): strict JSON and every Annex C rule, each error naming its path and rule. */
#include "tests/unit/fixture.h"

#define BASE "file-app-count-delete.json"
#define P0   "contractPolicies.permissionPolicies[0]"

/* Parses `doc` expecting failure with an error at `path` containing `needle`. */
static void expect_error(cJSON *doc, const char *path, const char *needle)
{
	struct pol_errors errs = { 0 };
	struct contract *c = fixture_parse(doc, &errs);

	assert_null(c);
	assert_true(has_error(&errs, path, needle));
	pol_errors__clear(&errs);
	cJSON_Delete(doc);
}

static void expect_ok(cJSON *doc)
{
	struct pol_errors errs = { 0 };
	struct contract *c = fixture_parse(doc, &errs);

	for (size_t i = 0; i < errs.n; i++)
		print_message("# unexpected: %s: %s\n", errs.v[i].path, errs.v[i].msg);
	assert_non_null(c);
	contract__free(c);
	cJSON_Delete(doc);
}

static struct contract *parse_text(const char *text, struct pol_errors *errs)
{
	return policy__parse(text, strlen(text), NULL, errs);
}

static void test_sample_parses_into_typed_model(void **state)
{
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);
	struct contract *c = fixture_parse(doc, &errs);

	assert_non_null(c);
	assert_string_equal(c->id, "C391310000MA1K00001B11002026010100000000000006S");
	assert_int_equal(c->n_signatories, 2);
	assert_int_equal(c->signatories[0].type, SIGNATORY_PROVIDER);
	assert_int_equal(c->n_policies, 4);
	assert_int_equal(c->policies[0].kind, POLICY_PERMISSION);
	assert_string_equal(c->policies[0].product_id, "P-RESEARCH-CSV");
	assert_int_equal(c->policies[0].actions[0], ACTION_READ);
	assert_int_equal(c->policies[0].constraints[0].name, CN_APPLICATION);
	assert_int_equal(c->policies[0].constraints[0].op, OP_IS_ANY_OF);
	assert_int_equal(c->policies[0].constraints[0].value.n, 2);
	assert_string_equal(c->policies[0].constraints[0].value.strings[1], "/usr/bin/sqlite3");
	assert_int_equal(c->policies[0].constraints[1].value.integer, 5);
	assert_int_equal(c->policies[1].kind, POLICY_PROHIBITION);
	assert_int_equal(c->policies[3].kind, POLICY_OBLIGATION);
	/* activationTime 2026-01-01T00:00:00+08:00 */
	assert_int_equal(c->activation_time, 1767196800);
	contract__free(c);
	cJSON_Delete(doc);
}

static void test_every_sample_template_parses(void **state)
{
	static const char *const names[] = {
		"file-app-count-delete.json", "scenario1-api-quota.json",
		"scenario2-joint-compute.json", "scenario3-sharing.json",
		"scenario4-purchase.json", "scenario5-ciphertext.json",
		"three-party-network.json",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect_ok(fixture_load(names[i]));
}

static void test_unknown_operator_names_path_and_rule(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, P0 ".constraints[1]", "constraintOperator", cJSON_CreateString("approx"));
	expect_error(doc, P0 ".constraints[1].constraintOperator", "unknown operator \"approx\"");
}

static void test_all_errors_reported_at_once(void **state)
{
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, "", "contractStatus", cJSON_CreateString("04"));
	fixture_set(doc, P0 ".constraints[1]", "constraintOperator", cJSON_CreateString("approx"));
	fixture_set(doc, P0, "actions", cJSON_Parse("[\"peek\"]"));
	assert_null(fixture_parse(doc, &errs));
	assert_true(has_error(&errs, "contractStatus", "unknown code \"04\""));
	assert_true(has_error(&errs, P0 ".constraints[1].constraintOperator", "unknown operator"));
	assert_true(has_error(&errs, P0 ".actions[0]", "unknown action \"peek\""));
	assert_int_equal(errs.n, 3);
	pol_errors__clear(&errs);
	cJSON_Delete(doc);
}

static void test_duplicate_member_refused(void **state)
{
	struct pol_errors errs = { 0 };

	assert_null(parse_text("{\"contractId\":\"a\",\"contractName\":\"x\",\"contractName\":\"y\"}",
			       &errs));
	assert_true(has_error(&errs, "contractName", "duplicate member name"));
	pol_errors__clear(&errs);
}

static void test_duplicate_member_deep_inside_refused(void **state)
{
	cJSON *doc = fixture_load(BASE);
	cJSON *k = fixture_at(doc, P0 ".constraints[1]");

	/* cJSON_AddItemToObject appends without looking: a real duplicate in the output. */
	cJSON_AddItemToObject(k, "constraintValue", cJSON_CreateString("500"));
	expect_error(doc, P0 ".constraints[1].constraintValue", "duplicate member name");
}

static void test_invalid_utf8_refused(void **state)
{
	struct pol_errors errs = { 0 };

	assert_null(parse_text("{\"contractName\":\"\xc3\x28\"}", &errs));
	assert_true(has_error(&errs, "", "invalid UTF-8 at byte 17"));
	pol_errors__clear(&errs);
	assert_null(parse_text("{\"contractName\":\"\xed\xa0\x80\"}", &errs)); /* surrogate */
	assert_true(has_error(&errs, "", "invalid UTF-8"));
	pol_errors__clear(&errs);
}

static void test_control_characters_and_escaped_nul_refused(void **state)
{
	struct pol_errors errs = { 0 };

	/* cJSON would end the string at \u0000: the rest would be read but never signed. */
	assert_null(parse_text("{\"contractName\":\"ok\\u0000 unsigned\"}", &errs));
	assert_true(has_error(&errs, "", "escaped NUL (\\u0000) at byte 19"));
	pol_errors__clear(&errs);
	assert_null(parse_text("{\"contractName\":\"a\tb\"}", &errs));
	assert_true(has_error(&errs, "", "control character at byte 18"));
	pol_errors__clear(&errs);
}

static void test_malformed_and_trailing_json_refused(void **state)
{
	struct pol_errors errs = { 0 };

	assert_null(parse_text("{\"contractName\": }", &errs));
	assert_true(has_error(&errs, "", "malformed JSON"));
	pol_errors__clear(&errs);
	assert_null(parse_text("{} {}", &errs));
	assert_true(has_error(&errs, "", "trailing data"));
	pol_errors__clear(&errs);
	assert_null(parse_text("[]", &errs));
	assert_true(has_error(&errs, "", "a contract is a JSON object"));
	pol_errors__clear(&errs);
}

static void test_deep_nesting_refused_even_in_free_form(void **state)
{
	cJSON *doc = fixture_load(BASE);
	cJSON *deep = cJSON_CreateObject(), *at = deep;

	for (int i = 0; i < 20; i++)
		at = cJSON_AddObjectToObject(at, "x");
	fixture_set(doc, "", "expansionItem", deep);
	expect_error(doc, "expansionItem.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x", "nested deeper than 16");
}

static void test_size_limit_is_configurable(void **state)
{
	struct pol_errors errs = { 0 };
	struct parse_opts opts = { .max_bytes = 10 };

	assert_null(policy__parse("{\"contractName\":\"x\"}", 20, &opts, &errs));
	assert_true(has_error(&errs, "", "over the limit of 10"));
	pol_errors__clear(&errs);
}

static void test_unknown_member_refused_but_free_in_expansion(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, P0 ".subjectInfo", "dataProductColour", cJSON_CreateString("red"));
	expect_error(doc, P0 ".subjectInfo.dataProductColour", "unknown member");

	doc = fixture_load(BASE);
	fixture_set(doc, "expansionItem", "anything", cJSON_Parse("{\"goes\":[1,2,{\"x\":null}]}"));
	fixture_set(doc, P0, "policyExpansion", cJSON_Parse("{\"remedy\":\"notify\"}"));
	expect_ok(doc);
}

static void test_required_member_missing(void **state)
{
	cJSON *doc = fixture_load(BASE);

	cJSON_DeleteItemFromObject(doc, "contractName");
	cJSON_DeleteItemFromObject(fixture_at(doc, P0 ".subjectInfo"), "dataProductEntityId");
	cJSON_DeleteItemFromObject(fixture_at(doc, "signatories[0]"), "signatorytype");
	{
		struct pol_errors errs = { 0 };

		assert_null(fixture_parse(doc, &errs));
		assert_true(has_error(&errs, "contractName", "required member missing"));
		assert_true(has_error(&errs, P0 ".subjectInfo.dataProductEntityId", "required"));
		assert_true(has_error(&errs, "signatories[0].signatorytype", "required"));
		pol_errors__clear(&errs);
	}
	cJSON_Delete(doc);
}

static void test_length_counts_characters_not_bytes(void **state)
{
	char name[128 * 3 + 2] = ""; /* 128 three-byte characters, an "x", the NUL */
	cJSON *doc = fixture_load(BASE);

	for (int i = 0; i < 128; i++)
		strcat(name, "数"); /* 3 bytes, one character */
	fixture_set(doc, "", "contractName", cJSON_CreateString(name));
	expect_ok(doc);

	doc = fixture_load(BASE);
	strcat(name, "x");
	fixture_set(doc, "", "contractName", cJSON_CreateString(name + 3 * 127));
	fixture_set(doc, P0 ".subjectInfo", "dataProductEntityId",
		    cJSON_CreateString("1234567890123456789"));
	expect_error(doc, P0 ".subjectInfo.dataProductEntityId", "19 characters, over the C..18");
}

static void test_code_lists(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, "", "signMode", cJSON_CreateString("03"));
	expect_error(doc, "signMode", "unknown code \"03\": expected one of 01, 02");

	doc = fixture_load(BASE);
	fixture_set(doc, "signatories[1]", "signatorytype", cJSON_CreateString("05"));
	expect_error(doc, "signatories[1].signatorytype", "expected one of 01, 02, 03, 04");

	doc = fixture_load(BASE);
	fixture_set(doc, "", "contractStatus", cJSON_CreateString("0301"));
	expect_ok(doc);
}

static void test_timestamps_in_both_forms(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, "", "signTime", cJSON_CreateString("2026-01-01T00:00:00+08:00"));
	fixture_set(doc, "", "createTime", cJSON_CreateString("20251231160000"));
	expect_ok(doc);

	doc = fixture_load(BASE);
	fixture_set(doc, "", "indate", cJSON_CreateString("20301331235959"));
	expect_error(doc, "indate", "is not a timestamp");
}

static void test_validity_must_end_after_it_begins(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, "", "endTime", cJSON_CreateString("2025-01-01T00:00:00+08:00"));
	expect_error(doc, "endTime", "ends before it begins");
}

static void test_contract_id_structure_and_check_character(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, "", "contractId",
		    cJSON_CreateString("C391310000MA1K00001B11002026010100000000000006T"));
	expect_error(doc, "contractId", "check character 'T' is wrong: ISO/IEC 7064 MOD 37,36 "
					"gives 'S'");

	doc = fixture_load(BASE);
	fixture_set(doc, "", "contractId", cJSON_CreateString("C3913100"));
	expect_error(doc, "contractId", "8 characters: a contract id has exactly 47");

	doc = fixture_load(BASE);
	fixture_set(doc, "", "contractId",
		    cJSON_CreateString("C391310000MA1K00001B11002026130100000000000006S"));
	expect_error(doc, "contractId", "are not a time code");

	doc = fixture_load(BASE);
	fixture_set(doc, "", "contractId",
		    cJSON_CreateString("c391310000MA1K00001B11002026010100000000000006S"));
	expect_error(doc, "contractId", "only digits and upper-case letters");
}

static void test_check_character_validation_can_be_switched_off(void **state)
{
	struct parse_opts opts = { .skip_id_check_char = true };
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);
	struct contract *c;
	char *text;

	fixture_set(doc, "", "contractId",
		    cJSON_CreateString("C391310000MA1K00001B11002026010100000000000006T"));
	text = cJSON_PrintUnformatted(doc);
	c = policy__parse(text, strlen(text), &opts, &errs);
	assert_non_null(c);
	contract__free(c);
	free(text);
	cJSON_Delete(doc);
	assert_int_equal(contract_id__check_char("C391310000MA1K00001B110020260101000000000000"
						 "06", 46), 'S');
	assert_int_equal(contract_id__check_char("c", 1), 0);
}

static void test_standard_misspellings_and_corrections_accepted(void **state)
{
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);
	struct contract *c;

	fixture_set(doc, P0, "actions", cJSON_Parse("[\"read\", \"plicyTransmit\"]"));
	fixture_set(doc, "contractPolicies.obligationPolicies[0]", "actions",
		    cJSON_Parse("[\"delete\", \"policyTransmit\"]"));
	c = fixture_parse(doc, &errs);
	assert_non_null(c);
	assert_int_equal(c->policies[0].actions[1], ACTION_POLICY_TRANSMIT);
	assert_int_equal(c->policies[2].actions[1], ACTION_POLICY_TRANSMIT);
	contract__free(c);
	cJSON_Delete(doc);

	doc = fixture_load(BASE);
	fixture_set(doc, P0 ".constraints[1]", "constraintName", cJSON_CreateString("dataRecord"));
	c = fixture_parse(doc, &errs);
	assert_non_null(c);
	assert_int_equal(c->policies[0].constraints[1].name, CN_DATE_RECORD);
	contract__free(c);
	cJSON_Delete(doc);
}

static void test_operator_codes_equal_names(void **state)
{
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);
	struct contract *c;

	fixture_set(doc, P0 ".constraints[1]", "constraintOperator", cJSON_CreateString("11"));
	c = fixture_parse(doc, &errs);
	assert_non_null(c);
	assert_int_equal(c->policies[0].constraints[1].op, OP_LTEQ);
	contract__free(c);
	cJSON_Delete(doc);

	doc = fixture_load(BASE);
	fixture_set(doc, P0 ".constraints[1]", "constraintOperator", cJSON_CreateString("13"));
	expect_error(doc, P0 ".constraints[1].constraintOperator", "unknown operator \"13\"");
}

static void test_operator_must_be_defined_for_constraint(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, P0 ".constraints[1]", "constraintOperator", cJSON_CreateString("gt"));
	expect_error(doc, P0 ".constraints[1].constraintOperator",
		     "operator gt is not defined for count: use lt, lteq");

	doc = fixture_load(BASE);
	fixture_set(doc, P0 ".constraints[0]", "constraintOperator", cJSON_CreateString("isAllOf"));
	expect_error(doc, P0 ".constraints[0].constraintOperator",
		     "operator isAllOf is not defined for application");

	doc = fixture_load(BASE);
	fixture_set(doc, P0 ".constraints[0]", "constraintOperator", cJSON_CreateString("eq"));
	expect_error(doc, P0 ".constraints[0].constraintOperator",
		     "eq compares with one value, the value lists 2: use isAnyOf");
}

static void test_same_constraint_twice_refused(void **state)
{
	cJSON *doc = fixture_load(BASE);

	cJSON_AddItemToArray(fixture_at(doc, P0 ".constraints"),
			     cJSON_Parse("{\"constraintName\":\"count\",\"constraintOperator\":"
					 "\"lteq\",\"constraintValue\":\"7\"}"));
	expect_error(doc, P0 ".constraints", "constraint count is given twice");
}

static void test_rate_period_must_agree_with_time_window(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, P0 ".constraints[1]", "constraintValue", cJSON_CreateString("10000 次/天"));
	cJSON_AddItemToArray(fixture_at(doc, P0 ".constraints"),
			     cJSON_Parse("{\"constraintName\":\"timeWindow\",\"constraintOperator\":"
					 "\"eq\",\"constraintValue\":\"PT1H\"}"));
	expect_error(doc, P0 ".constraints", "names a period that differs from timeWindow");
}

static void test_bad_constraint_value_names_value_path(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, P0 ".constraints[1]", "constraintValue", cJSON_CreateString("lots"));
	expect_error(doc, P0 ".constraints[1].constraintValue", "lots");

	doc = fixture_load(BASE);
	fixture_set(doc, P0 ".constraints[1]", "constraintValue", cJSON_CreateNumber(5));
	expect_error(doc, P0 ".constraints[1].constraintValue", "must be a string");
}

static void test_custom_actions(void **state)
{
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);
	struct contract *c;

	fixture_set(doc, P0, "actions",
		    cJSON_Parse("[\"read\", \"export\", {\"expansionItem\": {\"k\": \"v\"}}]"));
	c = fixture_parse(doc, &errs);
	assert_non_null(c);
	assert_int_equal(c->policies[0].actions[1], ACTION_CUSTOM);
	assert_string_equal(c->policies[0].action_names[1], "export");
	assert_int_equal(c->policies[0].actions[2], ACTION_CUSTOM);
	contract__free(c);
	cJSON_Delete(doc);

	doc = fixture_load(BASE);
	fixture_set(doc, P0, "actions", cJSON_Parse("[\"read\", \"read\"]"));
	expect_error(doc, P0 ".actions[1]", "action read is listed twice");
}

static void test_annex_c3_names_accepted_but_not_both(void **state)
{
	cJSON *doc = fixture_load(BASE);

	fixture_set(doc, P0, "executionNodeInfo",
		    cJSON_Parse("{\"assignerId\":\"n1\",\"assigneeId\":\"n2\"}"));
	expect_ok(doc);

	doc = fixture_load(BASE);
	fixture_set(doc, P0 ".executionNodeInfo", "assignerId", cJSON_CreateString("n1"));
	expect_error(doc, P0 ".executionNodeInfo.assignerId", "both providerNodeId and assignerId");
}

static void test_annex_b_strategy_form(void **state)
{
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);
	cJSON *b = cJSON_CreateObject();
	cJSON *signers = cJSON_DetachItemFromObject(doc, "signatories");
	struct contract *c;

	cJSON_AddStringToObject(b, "contractId", cJSON_GetObjectItem(doc, "contractId")->valuestring);
	cJSON_AddStringToObject(b, "contractName", "Annex B");
	cJSON_AddStringToObject(b, "activationTime", "2026-01-01T00:00:00+08:00");
	cJSON_AddStringToObject(b, "endTime", "2030-01-01T00:00:00+08:00");
	cJSON_AddItemToObject(b, "strategy",
			      cJSON_Duplicate(fixture_at(doc, P0), true));
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(b, "strategy"), "policyId");
	cJSON_AddItemToObject(b, "signatureList", signers);
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(signers, 0), "signatoryEntityId",
				  cJSON_CreateString("91110000100000000X"));
	cJSON_AddItemToObject(cJSON_GetArrayItem(signers, 1), "entityId",
			      cJSON_DetachItemFromObject(cJSON_GetArrayItem(signers, 1),
							 "signatoryEntityId"));
	c = fixture_parse(b, &errs);
	assert_non_null(c);
	assert_true(c->annex_b_form);
	assert_int_equal(c->n_policies, 1);
	assert_string_equal(c->policies[0].id, "strategy");
	assert_string_equal(c->signatories[1].entity_id, "91310000MA1K00001B");
	assert_string_equal(c->signatories[1].path, "signatureList[1]");
	contract__free(c);
	cJSON_Delete(b);
	cJSON_Delete(doc);
}

static void test_policy_without_id_named_by_list_and_index(void **state)
{
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load(BASE);
	struct contract *c;

	cJSON_DeleteItemFromObject(fixture_at(doc, P0), "policyId");
	c = fixture_parse(doc, &errs);
	assert_non_null(c);
	assert_string_equal(c->policies[0].id, "permissionPolicies[0]");
	contract__free(c);
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_parses_into_typed_model),
		cmocka_unit_test(test_every_sample_template_parses),
		cmocka_unit_test(test_unknown_operator_names_path_and_rule),
		cmocka_unit_test(test_all_errors_reported_at_once),
		cmocka_unit_test(test_duplicate_member_refused),
		cmocka_unit_test(test_duplicate_member_deep_inside_refused),
		cmocka_unit_test(test_invalid_utf8_refused),
		cmocka_unit_test(test_control_characters_and_escaped_nul_refused),
		cmocka_unit_test(test_malformed_and_trailing_json_refused),
		cmocka_unit_test(test_deep_nesting_refused_even_in_free_form),
		cmocka_unit_test(test_size_limit_is_configurable),
		cmocka_unit_test(test_unknown_member_refused_but_free_in_expansion),
		cmocka_unit_test(test_required_member_missing),
		cmocka_unit_test(test_length_counts_characters_not_bytes),
		cmocka_unit_test(test_code_lists),
		cmocka_unit_test(test_timestamps_in_both_forms),
		cmocka_unit_test(test_validity_must_end_after_it_begins),
		cmocka_unit_test(test_contract_id_structure_and_check_character),
		cmocka_unit_test(test_check_character_validation_can_be_switched_off),
		cmocka_unit_test(test_standard_misspellings_and_corrections_accepted),
		cmocka_unit_test(test_operator_codes_equal_names),
		cmocka_unit_test(test_operator_must_be_defined_for_constraint),
		cmocka_unit_test(test_same_constraint_twice_refused),
		cmocka_unit_test(test_rate_period_must_agree_with_time_window),
		cmocka_unit_test(test_bad_constraint_value_names_value_path),
		cmocka_unit_test(test_custom_actions),
		cmocka_unit_test(test_annex_c3_names_accepted_but_not_both),
		cmocka_unit_test(test_annex_b_strategy_form),
		cmocka_unit_test(test_policy_without_id_named_by_list_and_index),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
