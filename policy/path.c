// SPDX-License-Identifier: Apache-2.0
/* JSON paths as errors print them: contractPolicies.permissionPolicies[0].actions[1] */
#include <stdio.h>

#include "policy/internal.h"

/* Member names come from the document: long ones are cut so an error stays readable. */
#define NAME_MAX_SHOWN 64

char *path_member(const char *parent, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s%.*s", parent, *parent ? "." : "", NAME_MAX_SHOWN, name) < 0)
		return NULL;
	return p;
}

char *path_index(const char *parent, size_t index)
{
	char *p;

	if (asprintf(&p, "%s[%zu]", parent, index) < 0)
		return NULL;
	return p;
}
