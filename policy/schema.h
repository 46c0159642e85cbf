/* SPDX-License-Identifier: Apache-2.0 */
/* Member tables for the objects of Annex C; used by parse.c only. */
#ifndef PEP_POLICY_SCHEMA_H
#define PEP_POLICY_SCHEMA_H

#include <stdbool.h>

struct cJSON;
struct pol_errors;

enum field_type { T_STRING, T_TIMESTAMP, T_CODE, T_OBJECT, T_ARRAY, T_FREE };

struct field {
	const char *name;
	const char *alias; /* also accepted: a corrected spelling or the Annex C.3 name */
	bool required;
	enum field_type type;
	unsigned max_len;	  /* C..n in characters; 0 = no limit */
	const char *const *codes; /* T_CODE: NULL-terminated list */
};

extern const char *const contract_status_codes[];
extern const char *const sign_mode_codes[];
extern const char *const signatory_type_codes[];

/* Appends an error for every unknown, mistyped, too long, badly coded or missing member of
 * obj; fields ends with an entry whose name is NULL. */
void schema__check(const struct cJSON *obj, const char *path, const struct field *fields,
		   struct pol_errors *errs);
/* The member by its name or alias, or NULL. */
const struct cJSON *schema__member(const struct cJSON *obj, const struct field *f);
/* The member that `fields` names `name` (by its name or alias), or NULL. */
const struct cJSON *schema__get(const struct cJSON *obj, const struct field *fields,
				const char *name);
/* Its string, or NULL when absent or not a string. */
const char *schema__get_string(const struct cJSON *obj, const struct field *fields,
			       const char *name);

#endif /* PEP_POLICY_SCHEMA_H */
