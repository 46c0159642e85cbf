/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared inside policy/ only; not part of the library's API. */
#ifndef PEP_POLICY_INTERNAL_H
#define PEP_POLICY_INTERNAL_H

#include <stddef.h>

struct cJSON;
struct pol_errors;

#define POLICY_MAX_DEPTH     16
#define POLICY_DEFAULT_BYTES (4u << 20)

/* The lists whose entries carry a `signature`: the profile's form and the two of Annex B. */
#define N_SIGNATORY_LISTS 3
extern const char *const signatory_lists[N_SIGNATORY_LISTS];

/* JSON paths: "a.b[2].c". Both return a malloc'd string or NULL. */
char *path_member(const char *parent, const char *name);
char *path_index(const char *parent, size_t index);

/* Offset of the first byte that is not UTF-8 (RFC 3629), or len. */
size_t utf8_invalid_at(const char *buf, size_t len);
/* Code points in a valid UTF-8 string: what the dictionary's C..n counts. */
size_t utf8_chars(const char *s);

/* Size limit, UTF-8, JSON syntax, depth and duplicate member names. */
struct cJSON *strict_json__parse(const char *buf, size_t len, size_t max_bytes,
				 struct pol_errors *errs);

#endif /* PEP_POLICY_INTERNAL_H */
