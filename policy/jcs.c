// SPDX-License-Identifier: Apache-2.0
/*
 * RFC 8785 JSON Canonicalization Scheme: the exact bytes every party signs. Members are sorted
 * by the UTF-16 code units of their names, numbers are written as ECMAScript writes them, and
 * strings carry only the escapes JSON requires.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"

/* Output with a sticky error, as stdio's ferror(): writers go on without checking each call and
 * jcs__serialize() looks once at the end. */
struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_fail(struct buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* ---- strings --------------------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at *s into *cp and advances *s; returns -EINVAL on overlong forms,
 * surrogates and other byte sequences RFC 3629 forbids (JCS input must be valid Unicode). */
static int utf8_next(const unsigned char **s, unsigned *cp)
{
	static const unsigned min[] = { 0, 0x80, 0x800, 0x10000 };
	const unsigned char *p = *s;
	unsigned n = *p < 0x80 ? 0 : *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 4;
	unsigned c;

	if (n > 3 || *p > 0xf4)
		return -EINVAL;
	c = n ? *p & (0x3f >> n) : *p;
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -EINVAL;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -EINVAL;
	*cp = c;
	*s = p + n + 1;
	return 0;
}

static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;

	while (*p)
		if (utf8_next(&p, &cp) < 0)
			return -EINVAL;
	return 0;
}

/* A string must be valid UTF-8 (RFC 8785 3.2.2.2 works on Unicode code points). */
static void write_string(struct buf *b, const char *s)
{
	static const char esc[] = { ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f',
				    ['\r'] = 'r', ['"'] = '"', ['\\'] = '\\' };
	char u[8];

	if (utf8_valid(s) < 0)
		buf_fail(b, -EINVAL);
	buf_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c < sizeof(esc) && esc[c]) {
			char e[2] = { '\\', esc[c] };

			buf_put(b, e, 2);
		} else if (c < 0x20) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			buf_put(b, u, 6);
		} else {
			buf_put(b, s, 1);
		}
	}
	buf_put(b, "\"", 1);
}

/* ---- numbers --------------------------------------------------------------------------- */

/* Writes the decimal digits of c without trailing zeros; returns the exponent of the first
 * digit of c x 10^exp. */
static int digits_of(uint64_t c, int exp, char digits[21])
{
	int k = snprintf(digits, 21, "%" PRIu64, c);
	int first = exp + k - 1;

	while (k > 1 && digits[k - 1] == '0')
		digits[--k] = '\0';
	return first;
}

/*
 * The shortest digits that read back as `x` (x > 0, finite), as ECMAScript picks them. For each
 * length, "%.*e" gives the nearest decimal; when x is a power of two the gap below it is half the
 * gap above, and the next decimal up may read back when the nearest does not. Writes the digits
 * and returns the decimal exponent of the first one.
 */
static int shortest_digits(double x, char digits[21])
{
	char s[40];

	for (int prec = 1; prec <= 17; prec++) {
		uint64_t m = 0;
		const char *p;
		int exp;

		snprintf(s, sizeof(s), "%.*e", prec - 1, x);
		for (p = s; *p != 'e'; p++)
			if (*p != '.')
				m = m * 10 + (uint64_t)(*p - '0');
		exp = atoi(p + 1) - (prec - 1); /* x ~ m x 10^exp */
		for (uint64_t c = m; c <= m + 1; c++) {
			snprintf(s, sizeof(s), "%" PRIu64 "e%d", c, exp);
			if (strtod(s, NULL) == x)
				return digits_of(c, exp, digits);
		}
	}
	return digits_of(0, 0, digits); /* not reached: 17 digits always read back */
}

enum { NUM_LEN = 48 }; /* gcc's bound for the snprintf()s below; 25 bytes are enough */

/* ECMAScript Number::toString(x) for finite x > 0 (ECMA-262 7.1.12.1): with k digits d,
 * x = 0.d x 10^n. */
static void es6_format(double x, char out[NUM_LEN])
{
	char d[21];
	int n = shortest_digits(x, d) + 1, k = strlen(d);

	if (k <= n && n <= 21)
		snprintf(out, NUM_LEN, "%s%.*s", d, n - k, "00000000000000000000");
	else if (0 < n && n <= 21)
		snprintf(out, NUM_LEN, "%.*s.%s", n, d, d + n);
	else if (-6 < n && n <= 0)
		snprintf(out, NUM_LEN, "0.%.*s%s", -n, "000000", d);
	else
		snprintf(out, NUM_LEN, "%c%s%se%+d", d[0], k > 1 ? "." : "", d + 1, n - 1);
}

static void write_number(struct buf *b, double x)
{
	char s[NUM_LEN];

	if (!isfinite(x)) {
		buf_fail(b, -EINVAL); /* JSON has no NaN or Infinity */
		return;
	}
	if (x == 0) {
		buf_put(b, "0", 1); /* -0 too */
		return;
	}
	if (x < 0)
		buf_put(b, "-", 1);
	es6_format(fabs(x), s);
	buf_puts(b, s);
}

/* ---- arrays and objects ---------------------------------------------------------------- */

static void write_value(struct buf *b, const cJSON *v);

/* UTF-16 code unit order on code points: U+E000..U+FFFF sort after the surrogates that encode
 * U+10000 and above, everything else keeps its code point order. */
static unsigned utf16_key(unsigned cp)
{
	return cp >= 0xe000 && cp <= 0xffff ? cp + 0x110000 : cp;
}

/* Names are valid UTF-8 here: sorted_members() checks them before sorting. */
static int cmp_names(const void *pa, const void *pb)
{
	const unsigned char *a = (const unsigned char *)(*(const cJSON *const *)pa)->string;
	const unsigned char *b = (const unsigned char *)(*(const cJSON *const *)pb)->string;
	unsigned ca, cb;

	while (*a && *b) {
		(void)utf8_next(&a, &ca);
		(void)utf8_next(&b, &cb);
		if (ca != cb)
			return utf16_key(ca) < utf16_key(cb) ? -1 : 1;
	}
	return (*a != 0) - (*b != 0);
}

/* The members of `obj` in canonical order, or NULL with b->err set. Duplicate names have no
 * canonical form (RFC 8785 3.1 requires I-JSON), so they are rejected. */
static const cJSON **sorted_members(struct buf *b, const cJSON *obj, size_t *ret_n)
{
	const cJSON **m, *c;
	size_t n = 0, i = 0;

	cJSON_ArrayForEach(c, obj)
		n++;
	m = calloc(n + 1, sizeof(*m));
	if (!m) {
		buf_fail(b, -ENOMEM);
		return NULL;
	}
	cJSON_ArrayForEach(c, obj) {
		if (!c->string || utf8_valid(c->string) < 0)
			goto invalid;
		m[i++] = c;
	}
	qsort(m, n, sizeof(*m), cmp_names);
	for (i = 1; i < n; i++)
		if (strcmp(m[i - 1]->string, m[i]->string) == 0)
			goto invalid;
	*ret_n = n;
	return m;
invalid:
	free(m);
	buf_fail(b, -EINVAL);
	return NULL;
}

static void write_object(struct buf *b, const cJSON *obj)
{
	size_t n = 0;
	const cJSON **m = sorted_members(b, obj, &n);

	buf_put(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_put(b, ",", 1);
		write_string(b, m[i]->string);
		buf_put(b, ":", 1);
		write_value(b, m[i]);
	}
	buf_put(b, "}", 1);
	free(m);
}

static void write_array(struct buf *b, const cJSON *arr)
{
	const cJSON *c;

	buf_put(b, "[", 1);
	cJSON_ArrayForEach(c, arr) {
		if (c != arr->child)
			buf_put(b, ",", 1);
		write_value(b, c);
	}
	buf_put(b, "]", 1);
}

static void write_value(struct buf *b, const cJSON *v)
{
	switch (v->type & 0xff) {
	case cJSON_NULL:
		buf_puts(b, "null");
		break;
	case cJSON_False:
		buf_puts(b, "false");
		break;
	case cJSON_True:
		buf_puts(b, "true");
		break;
	case cJSON_Number:
		write_number(b, v->valuedouble);
		break;
	case cJSON_String:
		if (v->valuestring)
			write_string(b, v->valuestring);
		else
			buf_fail(b, -EINVAL);
		break;
	case cJSON_Array:
		write_array(b, v);
		break;
	case cJSON_Object:
		write_object(b, v);
		break;
	default:
		buf_fail(b, -EINVAL); /* cJSON_Raw, cJSON_Invalid: not JSON we can vouch for */
	}
}

char *jcs__serialize(const struct cJSON *doc, size_t *ret_len)
{
	struct buf b = { 0 };

	if (!doc)
		buf_fail(&b, -EINVAL);
	else
		write_value(&b, doc);
	if (b.err) {
		free(b.p);
		errno = -b.err;
		return NULL;
	}
	*ret_len = b.len;
	return b.p;
}
