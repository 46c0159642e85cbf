// SPDX-License-Identifier: Apache-2.0
/* networkAddress elements: IPv4/IPv6 addresses and CIDR prefixes, or RFC 1123 host names. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/policy.h"
#include "policy/values.h"

static const char addr_forms[] =
	"expected an IPv4 or IPv6 address, a CIDR prefix such as 192.0.2.0/24 or 2001:db8::/32, "
	"or a host name";

/* Why `s` is not an RFC 1123 host name, or NULL when it is one. */
static const char *host_name_why(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool numeric = true;

	if (len > 253)
		return "a host name is at most 253 characters";
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0)
				return "a host name has no empty labels "
				       "(no leading, trailing or double dot)";
			if (p[-1] == '-')
				return "a host name label does not end with a hyphen";
			if (*p == '\0')
				break;
			label = 0;
			numeric = true;
			continue;
		}
		if (++label > 63)
			return "a host name label is at most 63 characters";
		if (*p == '-' && label == 1)
			return "a host name label does not start with a hyphen";
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return "a host name holds only letters, digits, hyphens and dots";
		numeric = numeric && *p >= '0' && *p <= '9';
	}
	if (numeric)
		return "its last label is all digits, so it is no host name "
		       "(a mistyped IPv4 address?)";
	return NULL;
}

/* The prefix length after '/': decimal digits, at most max. Returns it or -1. */
static int prefix_len(const char *s, int max)
{
	size_t n = strspn(s, "0123456789");
	int v = 0;

	if (n == 0 || n > 3 || s[n] != '\0')
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v <= max ? v : -1;
}

/* Zeroes the host bits of p; returns true when some were set. */
static bool clear_host_bits(struct net_prefix *p)
{
	size_t bytes = p->family == AF_INET ? 4 : 16;
	bool set = false;

	for (size_t i = 0; i < bytes; i++) {
		int keep = (int)p->prefixlen - (int)i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		set = set || (p->addr[i] & ~mask);
		p->addr[i] &= mask;
	}
	return set;
}

static int host_bits_error(struct net_prefix *p, const char *s, const char *path,
			   struct pol_errors *errs)
{
	char net[INET6_ADDRSTRLEN], q[QUOTE_MAX];

	(void)clear_host_bits(p);
	if (!inet_ntop(p->family, p->addr, net, sizeof(net)))
		net[0] = '\0';
	pol_errors__add(errs, path,
			"\"%s\" is not a network prefix: host bits set: did you mean %s/%u?",
			value__quote(s, q), net, p->prefixlen);
	return -EINVAL;
}

/*
 * Fills *ret from an address with an optional "/len". Returns 0, -ENOENT when the part before
 * '/' is no IP address at all (it may be a host name), or -EINVAL with the error added.
 */
static int parse_prefix(const char *s, struct net_prefix *ret, const char *path,
			struct pol_errors *errs)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct net_prefix p = { 0 };
	char addr[INET6_ADDRSTRLEN + 1], q[QUOTE_MAX];
	int max, len;

	if (alen >= sizeof(addr))
		return -ENOENT;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, p.addr) == 1)
		p.family = AF_INET6;
	else
		return -ENOENT;
	max = p.family == AF_INET ? 32 : 128;
	len = slash ? prefix_len(slash + 1, max) : max;
	if (len < 0) {
		pol_errors__add(errs, path,
				"\"%s\" is not a network prefix: the prefix length is not %s",
				value__quote(s, q), max == 32 ? "0-32" : "0-128");
		return -EINVAL;
	}
	p.prefixlen = (uint8_t)len;
	if (clear_host_bits(&p))
		return host_bits_error(&p, s, path, errs);
	*ret = p;
	return 0;
}

int net_addr__parse(const char *s, struct net_prefix *ret_prefix, bool *ret_is_host,
		    const char *path, struct pol_errors *errs)
{
	char q[QUOTE_MAX];
	const char *why;
	int r;

	/* 1. An address or prefix. */
	r = parse_prefix(s, ret_prefix, path, errs);
	if (r != -ENOENT) {
		if (r == 0)
			*ret_is_host = false;
		return r;
	}
	/* 2. Something that is meant as one but is not. */
	if (strchr(s, '/') || strchr(s, ':')) {
		pol_errors__add(errs, path, "\"%s\" is not an IP address or CIDR prefix: %s",
				value__quote(s, q), addr_forms);
		return -EINVAL;
	}
	/* 3. A host name. */
	why = host_name_why(s);
	if (why) {
		pol_errors__add(errs, path, "\"%s\" is not a network address: %s; %s",
				value__quote(s, q), why, addr_forms);
		return -EINVAL;
	}
	*ret_is_host = true;
	return 0;
}
