// SPDX-License-Identifier: Apache-2.0
/* The error list every validation step appends to: path + rule, never the first one only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/* An error list that could not grow still reports that it is not empty. */
static struct pol_error out_of_memory = { .path = "", .msg = "out of memory" };

void pol_errors__add(struct pol_errors *errs, const char *path, const char *fmt, ...)
{
	struct pol_error e = { 0 };
	va_list ap;

	if (errs->n == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 8;
		struct pol_error *v = realloc(errs->v == &out_of_memory ? NULL : errs->v,
					      cap * sizeof(*v));

		if (!v)
			goto oom;
		errs->v = v;
		errs->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&e.msg, fmt, ap) < 0)
		e.msg = NULL;
	va_end(ap);
	e.path = strdup(path ? path : "");
	if (!e.msg || !e.path) {
		free(e.msg);
		free(e.path);
		goto oom;
	}
	errs->v[errs->n++] = e;
	return;
oom:
	pol_errors__clear(errs);
	errs->v = &out_of_memory;
	errs->n = 1;
}

size_t pol_errors__count(const struct pol_errors *errs)
{
	return errs->n;
}

void pol_errors__clear(struct pol_errors *errs)
{
	if (errs->v != &out_of_memory) {
		for (size_t i = 0; i < errs->n; i++) {
			free(errs->v[i].path);
			free(errs->v[i].msg);
		}
		free(errs->v);
	}
	memset(errs, 0, sizeof(*errs));
}
