// SPDX-License-Identifier: Apache-2.0
/*
 * Annex C, member by member: which members an object may have, which are required, their
 * JSON type, their length (C..n counts characters) and their code lists.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"
#include "policy/internal.h"
#include "policy/schema.h"

const char *const contract_status_codes[] = { "01", "02", "03", "0301", "0302", "05", "06", NULL };
const char *const sign_mode_codes[] = { "01", "02", NULL };
const char *const signatory_type_codes[] = { "01", "02", "03", "04", NULL };

static const char *const type_names[] = {
	[T_STRING] = "a string",   [T_TIMESTAMP] = "a timestamp string", [T_CODE] = "a code string",
	[T_OBJECT] = "an object",  [T_ARRAY] = "an array",		 [T_FREE] = "any value",
};

const cJSON *schema__member(const cJSON *obj, const struct field *f)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->name);

	if (!v && f->alias)
		v = cJSON_GetObjectItemCaseSensitive(obj, f->alias);
	return v;
}

static const struct field *find_field(const struct field *fields, const char *name)
{
	for (const struct field *f = fields; f->name; f++)
		if (strcmp(f->name, name) == 0 || (f->alias && strcmp(f->alias, name) == 0))
			return f;
	return NULL;
}

const cJSON *schema__get(const cJSON *obj, const struct field *fields, const char *name)
{
	const struct field *f = find_field(fields, name);

	return f ? schema__member(obj, f) : NULL;
}

const char *schema__get_string(const cJSON *obj, const struct field *fields, const char *name)
{
	const cJSON *v = schema__get(obj, fields, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool type_matches(const cJSON *v, enum field_type t)
{
	switch (t) {
	case T_STRING:
	case T_TIMESTAMP:
	case T_CODE:
		return cJSON_IsString(v);
	case T_OBJECT:
		return cJSON_IsObject(v);
	case T_ARRAY:
		return cJSON_IsArray(v);
	case T_FREE:
		return true;
	}
	return false;
}

static void join_codes(char *buf, size_t size, const char *const *codes)
{
	buf[0] = '\0';
	for (size_t i = 0; codes[i]; i++) {
		strncat(buf, i ? ", " : "", size - strlen(buf) - 1);
		strncat(buf, codes[i], size - strlen(buf) - 1);
	}
}

static bool in_codes(const char *s, const char *const *codes)
{
	for (size_t i = 0; codes[i]; i++)
		if (strcmp(s, codes[i]) == 0)
			return true;
	return false;
}

/* A string's value: length, non-empty when required, its timestamp form or code list. */
static void check_string(const cJSON *v, const struct field *f, const char *path,
			 struct pol_errors *errs)
{
	const char *s = v->valuestring;
	size_t chars = utf8_chars(s);
	int64_t t;
	char codes[128];

	if (f->required && !*s)
		pol_errors__add(errs, path, "must not be empty");
	if (f->max_len && chars > f->max_len)
		pol_errors__add(errs, path, "%zu characters, over the C..%u limit", chars,
				f->max_len);
	if (f->type == T_TIMESTAMP && pol_time__parse(s, &t) < 0)
		pol_errors__add(errs, path,
				"\"%.40s\" is not a timestamp: expected YYYYMMDDHHMMSS or "
				"ISO 8601 YYYY-MM-DDTHH:MM:SS+hh:mm",
				s);
	if (f->type == T_CODE && !in_codes(s, f->codes)) {
		join_codes(codes, sizeof(codes), f->codes);
		pol_errors__add(errs, path, "unknown code \"%.20s\": expected one of %s", s, codes);
	}
}

static void check_member(const cJSON *v, const struct field *f, const char *path,
			 struct pol_errors *errs)
{
	if (!type_matches(v, f->type)) {
		pol_errors__add(errs, path, "must be %s", type_names[f->type]);
		return;
	}
	if (cJSON_IsString(v))
		check_string(v, f, path, errs);
}

static void check_required(const cJSON *obj, const struct field *fields, const char *path,
			   struct pol_errors *errs)
{
	for (const struct field *f = fields; f->name; f++) {
		char *p;

		if (!f->required || schema__member(obj, f))
			continue;
		p = path_member(path, f->name);
		if (f->alias)
			pol_errors__add(errs, p, "required member missing (also accepted as %s)",
					f->alias);
		else
			pol_errors__add(errs, p, "required member missing");
		free(p);
	}
}

void schema__check(const cJSON *obj, const char *path, const struct field *fields,
		   struct pol_errors *errs)
{
	const cJSON *v;

	if (!cJSON_IsObject(obj)) {
		pol_errors__add(errs, path, "must be an object");
		return;
	}
	cJSON_ArrayForEach(v, obj) {
		const struct field *f = find_field(fields, v->string);
		char *p = path_member(path, v->string);

		if (!f)
			pol_errors__add(errs, p,
					"unknown member (free-form content belongs in "
					"expansionItem)");
		else if (f->alias && cJSON_GetObjectItemCaseSensitive(obj, f->name) &&
			 cJSON_GetObjectItemCaseSensitive(obj, f->alias) &&
			 strcmp(v->string, f->alias) == 0)
			pol_errors__add(errs, p, "both %s and %s given: they are the same member",
					f->name, f->alias);
		else
			check_member(v, f, p, errs);
		free(p);
	}
	check_required(obj, fields, path, errs);
}
