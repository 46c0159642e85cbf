/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to policy/: the pieces of constraint_value__parse() that live in their own files
 * (timefmt.c, netaddr.c). Not part of the library's API; include policy/policy.h first.
 */
#ifndef PEP_POLICY_VALUES_H
#define PEP_POLICY_VALUES_H

/* Room for a value quoted into an error message: at most 64 bytes of it, escaped, plus "...". */
#define QUOTE_MAX 272

/* Copies `s` into `buf` for an error message: control bytes, invalid UTF-8, '"' and '\' are
 * escaped, and a long value is cut (on a character boundary) and ends in "...". Returns buf. */
const char *value__quote(const char *s, char buf[QUOTE_MAX]);

/* pol_time__parse(), and on failure a static sentence saying what was wrong in *ret_why. */
int pol_time__parse_why(const char *s, int64_t *ret, const char **ret_why);

/* ISO 8601 duration "P[nW][nD][T[nH][nM][nS]]", at most 10 characters, longer than zero.
 * Returns 0 and the seconds in *ret, or -EINVAL and a static sentence in *ret_why. */
int pol_duration__parse(const char *s, int64_t *ret, const char **ret_why);

/* One networkAddress element: an IPv4/IPv6 address or CIDR prefix (into *ret_prefix), or an
 * RFC 1123 host name (*ret_is_host = true). Returns 0, or -EINVAL with an error at `path`. */
int net_addr__parse(const char *s, struct net_prefix *ret_prefix, bool *ret_is_host,
		    const char *path, struct pol_errors *errs);

#endif /* PEP_POLICY_VALUES_H */
