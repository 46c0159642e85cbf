// SPDX-License-Identifier: Apache-2.0
/*
 * Typed constraint values (Annex C.6, and the forms Annex D writes). docs/constraint-values.md
 * is the table of what is accepted; anything else is an error that says what was expected,
 * because a usage-control node that guesses enforces a contract nobody signed.
 *
 * Every value goes through the same steps: trim, check it is clean UTF-8 without control
 * characters, check its length, split "[a, b]" into elements, then hand the elements to the
 * parser of its constraint (rules[] below).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/values.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define QUOTE_BYTES 64 /* bytes of a value shown in an error message */

/* ---- UTF-8 and quoting ----------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1-4) with its code point in *cp, or 0 when the bytes
 * there are not one (overlong, surrogate, beyond U+10FFFF, cut short by the NUL). */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
	*cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the NUL stops here too */
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* C0, DEL and C1 controls. */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

const char *value__quote(const char *s, char buf[QUOTE_MAX])
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, used = 0, n;
	uint32_t cp;

	while (*p) {
		n = utf8_decode(p, &cp);
		if (used + (n ? n : 1) > QUOTE_BYTES) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (n == 0 || (n == 1 && is_control(cp)))
			o += (size_t)snprintf(buf + o, QUOTE_MAX - o, "\\x%02x", *p);
		else if (is_control(cp))
			o += (size_t)snprintf(buf + o, QUOTE_MAX - o, "\\u%04x", (unsigned)cp);
		else if (cp == '"' || cp == '\\')
			o += (size_t)snprintf(buf + o, QUOTE_MAX - o, "\\%c", (char)cp);
		else
			memcpy(buf + o, p, n), o += n;
		p += n ? n : 1;
		used += n ? n : 1;
	}
	buf[o] = '\0';
	return buf;
}

/* ---- rules ----------------------------------------------------------------------------- */

struct vctx;
struct value_list;
typedef int (*value_parser)(struct vctx *c, const struct value_list *l,
			    struct constraint_value *ret);

enum {
	F_LIST = 1 << 0,     /* "[a, b]" is a list of elements */
	F_LITERAL = 1 << 1,  /* brackets and commas are part of the value (valueExpression) */
	F_NO_COMMA = 1 << 2, /* one opaque string: a comma means someone wrote a list */
};

struct value_rule {
	const char *noun;  /* "a count": what an element failed to be, in error messages */
	value_parser parse;
	unsigned max_chars; /* the whole value, in characters; 0 = no limit */
	unsigned max_elem;  /* each element, in characters; 0 = no limit */
	unsigned flags;
};

/* One parse: where errors go and what is being parsed. */
struct vctx {
	enum constraint_name name;
	const struct value_rule *rule;
	const char *text; /* the value as written, for whole-value errors */
	const char *path;
	struct pol_errors *errs;
};

/* The value trimmed and split; elements point into buf. */
struct value_list {
	char *buf;
	char **v;
	size_t n;
	bool is_list;
};

/* "<text>" is not a valid <name> value: <why>. About the value as a whole. */
static int value_error(struct vctx *c, const char *why)
{
	char q[QUOTE_MAX];

	pol_errors__add(c->errs, c->path, "\"%s\" is not a valid %s value: %s",
			value__quote(c->text, q), constraint_name__str(c->name), why);
	return -EINVAL;
}

/* "<s>" is not <noun>: <why>. About one element (or the only one). */
static int elem_error(struct vctx *c, const char *s, const char *why)
{
	char q[QUOTE_MAX];

	pol_errors__add(c->errs, c->path, "\"%s\" is not %s: %s", value__quote(s, q),
			c->rule->noun, why);
	return -EINVAL;
}

static int oom_error(struct vctx *c)
{
	pol_errors__add(c->errs, c->path, "out of memory");
	return -ENOMEM;
}

/* ---- splitting ------------------------------------------------------------------------- */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Trims s in place: returns the first non-space, and ends the string after the last one. */
static char *trim(char *s)
{
	size_t len;

	while (is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space(s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* Characters in s, or 0 with a reason in *why when s is not valid UTF-8 or, unless
 * controls_ok, holds a control character. */
static size_t count_chars(const char *s, bool controls_ok, const char **why)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0, n;
	uint32_t cp;

	for (; *p; p += n, chars++) {
		n = utf8_decode(p, &cp);
		if (n == 0) {
			*why = "it is not valid UTF-8";
			return 0;
		}
		if (is_control(cp) && !controls_ok) {
			*why = "it contains a control character";
			return 0;
		}
	}
	return chars;
}

/*
 * The whole value (whole = true: valid UTF-8, at most max characters; white space between list
 * elements is still there) or one trimmed element (no control characters either).
 */
static int check_text(struct vctx *c, const char *s, unsigned max, bool whole)
{
	const char *why = NULL;
	size_t chars = count_chars(s, whole, &why);
	char msg[64];

	if (why)
		return whole ? value_error(c, why) : elem_error(c, s, why);
	if (max && chars > max) {
		(void)snprintf(msg, sizeof(msg), "it is longer than %u characters", max);
		return whole ? value_error(c, msg) : elem_error(c, s, msg);
	}
	return 0;
}

/* One element of a bracketed list: trimmed, not empty, not itself a list or quoted. */
static int check_element(struct vctx *c, const char *e, size_t i, size_t n)
{
	char msg[64];

	if (*e == '\0' && n == 1)
		return value_error(c, "the list is empty: write [a] or [a, b, c]");
	if (*e == '\0') {
		(void)snprintf(msg, sizeof(msg), "element %zu of the list is empty", i + 1);
		return value_error(c, msg);
	}
	if (*e == '[')
		return value_error(c, "lists do not nest: write [a, b, c]");
	if (*e == '"' || *e == '\'')
		return value_error(c, "list elements are written without quotes: [a, b, c]");
	return 0;
}

/* "[a, b, c]" in l->buf (known to start with '[') into l->v. */
static int split_brackets(struct vctx *c, struct value_list *l)
{
	size_t len = strlen(l->buf), n = 1;
	char *p;
	int r = 0;

	if (!(c->rule->flags & F_LIST))
		return value_error(c, "it is a list, but this constraint takes a single value");
	if (len < 2 || l->buf[len - 1] != ']')
		return value_error(c, "the list is not closed: write [a, b, c]");
	l->buf[len - 1] = '\0';
	for (p = l->buf + 1; *p; p++)
		n += *p == ',';
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v)
		return oom_error(c);
	p = l->buf + 1;
	for (l->n = 0; l->n < n && !r; l->n++) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		l->v[l->n] = trim(p);
		r = check_element(c, l->v[l->n], l->n, n);
		p = comma ? comma + 1 : p + strlen(p);
	}
	l->is_list = true;
	return r;
}

static int value_list__split(struct vctx *c, struct value_list *l)
{
	const struct value_rule *rule = c->rule;
	char *s;
	int r;

	/* 1. A trimmed copy that is clean text of the allowed length. */
	l->buf = strdup(c->text);
	if (!l->buf)
		return oom_error(c);
	s = trim(l->buf);
	memmove(l->buf, s, strlen(s) + 1);
	if (*l->buf == '\0')
		return value_error(c, "the value is empty");
	r = check_text(c, l->buf, rule->max_chars, true);
	if (r)
		return r;
	/* 2. Elements. */
	if (!(rule->flags & F_LITERAL) && l->buf[0] == '[') {
		r = split_brackets(c, l);
	} else if ((rule->flags & (F_LIST | F_NO_COMMA)) && strchr(l->buf, ',')) {
		return value_error(c, "it has a comma but no brackets: write a list as [a, b, c]");
	} else {
		l->v = calloc(1, sizeof(*l->v));
		if (!l->v)
			return oom_error(c);
		l->v[l->n++] = l->buf;
	}
	if (r)
		return r;
	/* 3. Each element without control characters, within its own limit; all reported. */
	for (size_t i = 0; i < l->n; i++)
		if (check_text(c, l->v[i], rule->max_elem, false))
			r = -EINVAL;
	return r;
}

static void value_list__free(struct value_list *l)
{
	free(l->v);
	free(l->buf);
}

/* Copies the elements into ret->strings. */
static int copy_strings(struct vctx *c, const struct value_list *l, enum value_type type,
			struct constraint_value *ret)
{
	ret->strings = calloc(l->n, sizeof(*ret->strings));
	if (!ret->strings)
		return oom_error(c);
	for (ret->n = 0; ret->n < l->n; ret->n++) {
		ret->strings[ret->n] = strdup(l->v[ret->n]);
		if (!ret->strings[ret->n])
			return oom_error(c);
	}
	ret->type = type;
	return 0;
}

/* ---- times ----------------------------------------------------------------------------- */

/* "A--B" (sep points at the "--") into ret as VAL_TIME_RANGE. */
static int parse_time_range(struct vctx *c, char *s, char *sep, struct constraint_value *ret)
{
	char *a = s, *b = sep + 2, q[QUOTE_MAX], qs[QUOTE_MAX];
	const char *why = NULL, *which = "start";
	int64_t from = 0, to = 0;

	*sep = '\0';
	a = trim(a);
	b = trim(b);
	if (strstr(b, "--"))
		return value_error(c, "a time range has one \"--\": write A--B");
	if (pol_time__parse_why(a, &from, &why) == 0) {
		which = "end";
		(void)pol_time__parse_why(b, &to, &why);
	}
	if (why) {
		pol_errors__add(c->errs, c->path,
				"\"%s\" is not a time range: its %s \"%s\" is not a time: %s",
				value__quote(c->text, q), which,
				value__quote(*which == 's' ? a : b, qs), why);
		return -EINVAL;
	}
	if (to < from)
		return value_error(c, "the time range ends before it starts");
	ret->type = VAL_TIME_RANGE;
	ret->from = from;
	ret->to = to;
	return 0;
}

static int parse_time(struct vctx *c, const struct value_list *l, struct constraint_value *ret)
{
	char *s = l->v[0], *sep = strstr(s, "--");
	const char *why;

	if (sep)
		return parse_time_range(c, s, sep, ret);
	if (pol_time__parse_why(s, &ret->from, &why))
		return elem_error(c, s, why);
	ret->type = VAL_TIME;
	return 0;
}

static int parse_time_window(struct vctx *c, const struct value_list *l,
			     struct constraint_value *ret)
{
	char *s = l->v[0], *sep = strstr(s, "--");
	const char *why;

	if (s[0] == 'P') {
		if (pol_duration__parse(s, &ret->seconds, &why))
			return elem_error(c, s, why);
		ret->type = VAL_DURATION;
		return 0;
	}
	if (sep)
		return parse_time_range(c, s, sep, ret);
	return elem_error(c, s,
			  "expected an ISO 8601 duration such as P1D, P7D or PT8H, or a time "
			  "range A--B such as 2024-03-20 00:00:00--2025-03-20 23:59:59");
}

/* ---- counts, sizes, amounts ------------------------------------------------------------ */

static const char *skip_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Up to max_digits decimal digits at *s, at least one, that fit in 64 bits: into *ret, with *s
 * moved past them. Returns NULL or why not ("" when there are no digits at all).
 */
static const char *parse_u64(const char **s, size_t max_digits, uint64_t *ret)
{
	size_t n = strspn(*s, "0123456789");
	uint64_t v = 0;

	if (n == 0)
		return "";
	if (n > max_digits)
		return max_digits == 16	  ? "it has more than 16 digits (N..16)"
		       : max_digits == 64 ? "it has more than 64 digits (N..64)"
					  : "it has too many digits";
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)((*s)[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return "it does not fit in 64 bits";
		v = v * 10 + d;
	}
	*s += n;
	*ret = v;
	return NULL;
}

struct period_word {
	const char *word;
	enum rate_period period;
};

static const struct period_word periods[] = {
	{ "天", PERIOD_DAY },	   { "日", PERIOD_DAY },	{ "小时", PERIOD_HOUR },
	{ "时", PERIOD_HOUR },	   { "分钟", PERIOD_MINUTE }, { "分", PERIOD_MINUTE },
	{ "day", PERIOD_DAY },	   { "hour", PERIOD_HOUR },	{ "minute", PERIOD_MINUTE },
};

/* The period after '/', which must be all that is left of the value. */
static int parse_period(struct vctx *c, const char *s, const char *p, enum rate_period *ret)
{
	char q[QUOTE_MAX], qp[QUOTE_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(periods); i++) {
		if (strcmp(p, periods[i].word) == 0) {
			*ret = periods[i].period;
			return 0;
		}
	}
	pol_errors__add(c->errs, c->path,
			"\"%s\" is not %s: \"%s\" is not a period: write /天 or /日 (day), "
			"/小时 or /时 (hour), /分钟 or /分 (minute), /day, /hour or /minute",
			value__quote(s, q), c->rule->noun, value__quote(p, qp));
	return -EINVAL;
}

/*
 * count, frequency, dateRecord: "10000", "1000 次", "10000 次/天", "10000次/天", "600/minute".
 * dateRecord counts records, so its unit is 条 where the others write 次.
 */
static int parse_count(struct vctx *c, const struct value_list *l, struct constraint_value *ret)
{
	const char *s = l->v[0], *p = s, *unit = c->name == CN_DATE_RECORD ? "条" : "次";
	const char *why = parse_u64(&p, 16, &ret->integer);
	char form[160];

	(void)snprintf(form, sizeof(form),
		       "expected digits, optionally followed by \" %s\" and/or a period such as "
		       "\"/天\" or \"/day\"", unit);
	if (why)
		return elem_error(c, s, *why ? why : form);
	if (ret->integer == 0)
		return elem_error(c, s, "it must be at least 1");
	p = skip_spaces(p);
	if (starts_with(p, unit))
		p = skip_spaces(p + strlen(unit));
	if (*p == '/') {
		if (parse_period(c, s, skip_spaces(p + 1), &ret->period))
			return -EINVAL;
	} else if (*p) {
		return elem_error(c, s, form);
	}
	ret->type = VAL_INTEGER;
	return 0;
}

struct size_unit {
	const char *name;
	uint64_t bytes;
};

#define KI 1024ULL
static const struct size_unit size_units[] = {
	{ "B", 1 },
	{ "K", KI },		  { "KiB", KI },	   { "KB", 1000ULL },
	{ "M", KI * KI },	  { "MiB", KI * KI },	   { "MB", 1000000ULL },
	{ "G", KI * KI * KI },	  { "GiB", KI * KI * KI }, { "GB", 1000000000ULL },
	{ "T", KI * KI * KI * KI }, { "TiB", KI * KI * KI * KI }, { "TB", 1000000000000ULL },
};

static const char size_form[] =
	"expected digits with an optional unit: B; K, M, G, T or KiB, MiB, GiB, TiB (powers of "
	"1024); KB, MB, GB, TB (powers of 1000)";

/* dataSize: "10G", "10 GB", "1048576", "512 MiB": bytes. */
static int parse_data_size(struct vctx *c, const struct value_list *l,
			   struct constraint_value *ret)
{
	const char *s = l->v[0], *p = s;
	const char *why = parse_u64(&p, 64, &ret->integer);
	uint64_t mult = 1;
	size_t i;

	if (why)
		return elem_error(c, s, *why ? why : size_form);
	p = skip_spaces(p);
	for (i = 0; *p && i < ARRAY_SIZE(size_units); i++)
		if (strcmp(p, size_units[i].name) == 0)
			break;
	if (*p && i == ARRAY_SIZE(size_units))
		return elem_error(c, s, size_form);
	if (*p)
		mult = size_units[i].bytes;
	if (ret->integer == 0)
		return elem_error(c, s, "it must be at least 1 byte");
	if (ret->integer > UINT64_MAX / mult)
		return elem_error(c, s, "it is more than 2^64-1 bytes");
	ret->integer *= mult;
	ret->type = VAL_INTEGER;
	return 0;
}

static const char amount_form[] = "expected a decimal amount with at most 4 digits after the "
				  "point, one space and an ISO 4217 currency, e.g. 100.00 CNY";

/* The currency after the single space: three upper-case letters and nothing else. */
static const char *parse_currency(const char *p, struct amount *ret)
{
	if (*p == '\0')
		return "amount needs a currency, e.g. 100.00 CNY";
	if (*p != ' ')
		return amount_form;
	p++;
	if (*p == ' ')
		return "write a single space between the amount and the currency: 100.00 CNY";
	for (int i = 0; i < 3; i++)
		if (p[i] < 'A' || p[i] > 'Z')
			return "the currency is three upper-case letters (ISO 4217), e.g. CNY";
	if (p[3] != '\0')
		return "the currency is three upper-case letters (ISO 4217), e.g. CNY";
	memcpy(ret->currency, p, 4);
	return NULL;
}

/* payAmount: "100.00 CNY" -> 10000 minor units at scale 2. */
static int parse_amount(struct vctx *c, const struct value_list *l, struct constraint_value *ret)
{
	const char *s = l->v[0], *p = s, *why;
	struct amount a = { 0 };
	uint64_t units = 0, frac = 0;
	size_t n;

	if ((why = parse_u64(&p, 128, &units)))
		return elem_error(c, s, *why ? why : amount_form);
	if (*p == '.') {
		n = strspn(p + 1, "0123456789");
		if (n == 0 || n > 4)
			return elem_error(c, s, n ? "at most 4 digits after the decimal point"
						  : amount_form);
		p++;
		(void)parse_u64(&p, 4, &frac);
		a.scale = (uint8_t)n;
	}
	if ((why = parse_currency(p, &a)))
		return elem_error(c, s, why);
	for (n = 0; n < a.scale; n++) {
		if (units > (uint64_t)INT64_MAX / 10)
			return elem_error(c, s, "the amount is too large");
		units *= 10;
	}
	if (units > (uint64_t)INT64_MAX - frac)
		return elem_error(c, s, "the amount is too large");
	a.minor_units = (int64_t)(units + frac);
	ret->amount = a;
	ret->type = VAL_AMOUNT;
	return 0;
}

/* ---- lists of things ------------------------------------------------------------------- */

/* networkAddress: all prefixes (VAL_PREFIXES) or all host names (VAL_HOSTS). */
static int parse_network(struct vctx *c, const struct value_list *l,
			 struct constraint_value *ret)
{
	size_t n_hosts = 0, n_prefixes = 0;
	bool is_host, bad = false;
	struct net_prefix *pfx = calloc(l->n, sizeof(*pfx));

	if (!pfx)
		return oom_error(c);
	for (size_t i = 0; i < l->n; i++) {
		if (net_addr__parse(l->v[i], &pfx[n_prefixes], &is_host, c->path, c->errs)) {
			bad = true; /* report every bad element, not just the first */
			continue;
		}
		n_hosts += is_host;
		n_prefixes += !is_host;
	}
	if (!bad && n_hosts && n_prefixes) {
		(void)value_error(c, "it mixes IP addresses and host names: "
				     "write them as two constraints");
		bad = true;
	}
	if (bad || n_hosts) {
		free(pfx);
		return bad ? -EINVAL : copy_strings(c, l, VAL_HOSTS, ret);
	}
	ret->prefixes = pfx;
	ret->n = n_prefixes;
	ret->type = VAL_PREFIXES;
	return 0;
}

/* Why s is not an absolute path without empty, "." or ".." components, or NULL. */
static const char *path_why(const char *s)
{
	if (s[0] != '/')
		return "an executable path is absolute: it starts with /";
	for (const char *p = s + 1;; ) {
		size_t n = strcspn(p, "/");

		if (n == 0)
			return "an executable path has no empty components "
			       "(no // and no trailing /)";
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "an executable path has no . or .. components: write it resolved";
		if (p[n] == '\0')
			return NULL;
		p += n + 1;
	}
}

static int parse_paths(struct vctx *c, const struct value_list *l, struct constraint_value *ret)
{
	int r = 0;

	for (size_t i = 0; i < l->n; i++) {
		const char *why = path_why(l->v[i]);

		if (why)
			r = elem_error(c, l->v[i], why);
	}
	return r ? r : copy_strings(c, l, VAL_PATHS, ret);
}

static int parse_strings(struct vctx *c, const struct value_list *l,
			 struct constraint_value *ret)
{
	return copy_strings(c, l, VAL_STRINGS, ret);
}

/* ---- codes ----------------------------------------------------------------------------- */

struct code_label {
	const char *code, *label, *alt; /* alt: another spelling of the label, or NULL */
};

struct code_list {
	const struct code_label *v;
	size_t n;
	const char *all; /* for error messages */
};

static const struct code_label env_codes[] = {
	{ "01", "使用控制" }, { "02", "数据沙箱" }, { "03", "安全多方计算" },
	{ "04", "联邦学习" }, { "05", "可信执行环境" }, { "06", "密态计算" },
	{ "07", "其他" },
};
static const struct code_label encrypt_codes[] = {
	{ "01", "明文使用" }, { "02", "密文使用" }, { "03", "其他" },
};
static const struct code_label delivery_codes[] = {
	{ "01", "文件传输" }, { "02", "数据流传输" },
	{ "03", "API 传输", "API传输" }, { "04", "其他" },
};

static const struct code_list code_lists[] = {
	[CN_EXECUTION_ENV] = { env_codes, ARRAY_SIZE(env_codes),
			       "01 使用控制, 02 数据沙箱, 03 安全多方计算, 04 联邦学习, "
			       "05 可信执行环境, 06 密态计算, 07 其他" },
	[CN_ENCRYPT_MODE] = { encrypt_codes, ARRAY_SIZE(encrypt_codes),
			      "01 明文使用, 02 密文使用, 03 其他" },
	[CN_DELIVERY_METHOD] = { delivery_codes, ARRAY_SIZE(delivery_codes),
				 "01 文件传输, 02 数据流传输, 03 API 传输, 04 其他" },
};

/* After the code: nothing, or a colon (ASCII or full-width) and the code's own label, which
 * Annex D sometimes writes after 如 ("e.g."). Returns true when p is one of those. */
static bool label_matches(const char *p, const struct code_label *cl)
{
	p = skip_spaces(p);
	if (*p == '\0')
		return true;
	if (*p == ':')
		p++;
	else if (starts_with(p, "："))
		p += strlen("：");
	else
		return false;
	p = skip_spaces(p);
	if (starts_with(p, "如"))
		p += strlen("如");
	return strcmp(p, cl->label) == 0 || (cl->alt && strcmp(p, cl->alt) == 0);
}

/* One element: "02", "02：数据沙箱", "02: 数据沙箱", "01：如文件传输". */
static int check_code(struct vctx *c, const char *s, const struct code_list *cl)
{
	char q[QUOTE_MAX];
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (strncmp(s, cl->v[i].code, 2) == 0)
			break;
	if (i == cl->n || (s[2] >= '0' && s[2] <= '9')) {
		pol_errors__add(c->errs, c->path, "\"%s\" is not %s: expected one of %s",
				value__quote(s, q), c->rule->noun, cl->all);
		return -EINVAL;
	}
	if (!label_matches(s + 2, &cl->v[i])) {
		pol_errors__add(c->errs, c->path,
				"\"%s\" is not %s: code %s is \"%s\"; write %s or %s：%s",
				value__quote(s, q), c->rule->noun, cl->v[i].code, cl->v[i].label,
				cl->v[i].code, cl->v[i].code, cl->v[i].label);
		return -EINVAL;
	}
	return 0;
}

/* executionEnv, encryptMode, deliveryMethod: VAL_CODES holding the two digits. */
static int parse_codes(struct vctx *c, const struct value_list *l, struct constraint_value *ret)
{
	int r = 0;

	for (size_t i = 0; i < l->n; i++)
		if (check_code(c, l->v[i], &code_lists[c->name]))
			r = -EINVAL; /* report every bad element */
	if (r == 0)
		r = copy_strings(c, l, VAL_CODES, ret);
	for (size_t i = 0; r == 0 && i < ret->n; i++)
		ret->strings[i][2] = '\0'; /* keep the code, drop the label */
	return r;
}

/* ---- the dispatch ---------------------------------------------------------------------- */

static const struct value_rule rules[] = {
	[CN_TIME] = { "a time", parse_time, 0, 0, 0 },
	[CN_TIME_WINDOW] = { "a time window", parse_time_window, 0, 0, 0 },
	[CN_REGION] = { "a region", parse_strings, 10, 0, F_NO_COMMA },
	[CN_NETWORK_ADDRESS] = { "a network address", parse_network, 0, 45, F_LIST },
	[CN_PHYSICAL_ADDRESS] = { "a physical address", parse_strings, 20, 0, F_NO_COMMA },
	[CN_COUNT] = { "a count", parse_count, 0, 0, 0 },
	[CN_FREQUENCY] = { "a frequency", parse_count, 0, 0, 0 },
	[CN_DATA_SIZE] = { "a data size", parse_data_size, 0, 0, 0 },
	[CN_DATE_RECORD] = { "a record count", parse_count, 0, 0, 0 },
	[CN_DATA_FIELD] = { "a field name", parse_strings, 0, 0, F_LIST },
	[CN_VALUE_EXPRESSION] = { "a value expression", parse_strings, 128, 0, F_LITERAL },
	[CN_APPLICATION] = { "an executable path", parse_paths, 1024, 0, F_LIST },
	[CN_ALGORITHM] = { "an algorithm", parse_strings, 1024, 0, F_LIST },
	[CN_ML_MODELS] = { "a model", parse_strings, 1024, 0, F_LIST },
	[CN_EXECUTION_ENV] = { "an executionEnv code", parse_codes, 0, 0, F_LIST },
	[CN_ENCRYPT_MODE] = { "an encryptMode code", parse_codes, 0, 0, F_LIST },
	[CN_DELIVERY_METHOD] = { "a deliveryMethod code", parse_codes, 0, 0, F_LIST },
	[CN_PAY_AMOUNT] = { "an amount", parse_amount, 128, 0, 0 },
};

int constraint_value__parse(enum constraint_name name, const char *text, const char *path,
			    struct constraint_value *ret, struct pol_errors *errs)
{
	struct vctx c = { .name = name, .text = text, .path = path, .errs = errs };
	struct value_list l = { 0 };
	int r;

	memset(ret, 0, sizeof(*ret));
	if (name == CN_EXPANSION)
		return 0; /* VAL_NONE: free-form, not interpreted */
	if ((unsigned)name >= ARRAY_SIZE(rules) || !rules[name].parse) {
		pol_errors__add(errs, path, "constraint %d has no known value form", (int)name);
		return -EINVAL;
	}
	c.rule = &rules[name];
	if (!text) {
		pol_errors__add(errs, path, "%s has no value", constraint_name__str(name));
		return -EINVAL;
	}
	r = value_list__split(&c, &l);
	if (r == 0)
		r = c.rule->parse(&c, &l, ret);
	ret->is_list = l.is_list;
	value_list__free(&l);
	if (r)
		constraint_value__free(ret);
	return r;
}

void constraint_value__free(struct constraint_value *v)
{
	if (!v)
		return;
	free(v->prefixes);
	for (size_t i = 0; v->strings && i < v->n; i++)
		free(v->strings[i]);
	free(v->strings);
	memset(v, 0, sizeof(*v));
}
