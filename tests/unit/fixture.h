/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test fixtures for policy/: load an unsigned template from examples/contracts/, change one
 * member by its JSON path, parse it. Tests run from the repository root (prove does).
 */
#ifndef PEP_TEST_FIXTURE_H
#define PEP_TEST_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"

/* The template with placeholder certificates and signatures: parsing checks their presence,
 * not their content (that is policy__verify()'s job, tested in test_verify). */
static inline cJSON *fixture_load(const char *name)
{
	char path[256], *text;
	cJSON *doc, *s;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "examples/contracts/%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	doc = cJSON_Parse(text);
	free(text);
	assert_non_null(doc);
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(doc, "signatories")) {
		if (!cJSON_HasObjectItem(s, "certificate"))
			cJSON_AddStringToObject(s, "certificate", "-");
		if (!cJSON_HasObjectItem(s, "signature"))
			cJSON_AddStringToObject(s, "signature", "-");
	}
	return doc;
}

/* The member at `path` ("a.b[2].c"); with `create`, the last object member is added. */
static inline cJSON *fixture_at(cJSON *doc, const char *path)
{
	char buf[256], *tok, *save = NULL;
	cJSON *node = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && node; tok = strtok_r(NULL, ".", &save)) {
		char *bracket = strchr(tok, '[');

		if (bracket)
			*bracket = '\0';
		if (*tok)
			node = cJSON_GetObjectItemCaseSensitive(node, tok);
		while (node && bracket) {
			node = cJSON_GetArrayItem(node, atoi(bracket + 1));
			bracket = strchr(bracket + 1, '[');
		}
	}
	return node;
}

/* Replaces (or adds) member `name` of the object at `path` with `value`. */
static inline void fixture_set(cJSON *doc, const char *path, const char *name, cJSON *value)
{
	cJSON *obj = *path ? fixture_at(doc, path) : doc;

	assert_non_null(obj);
	if (cJSON_HasObjectItem(obj, name))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, value);
	else
		cJSON_AddItemToObject(obj, name, value);
}

static inline struct contract *fixture_parse(cJSON *doc, struct pol_errors *errs)
{
	char *text = cJSON_PrintUnformatted(doc);
	struct contract *c = policy__parse(text, strlen(text), NULL, errs);

	free(text);
	return c;
}

/* True when some error is at exactly `path` and its message contains `needle`. */
static inline int has_error(const struct pol_errors *errs, const char *path, const char *needle)
{
	for (size_t i = 0; i < errs->n; i++)
		if (!strcmp(errs->v[i].path, path) && strstr(errs->v[i].msg, needle))
			return 1;
	for (size_t i = 0; i < errs->n; i++)
		print_message("# error: %s: %s\n", errs->v[i].path, errs->v[i].msg);
	return 0;
}

#endif /* PEP_TEST_FIXTURE_H */
