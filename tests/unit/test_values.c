// SPDX-License-Identifier: Apache-2.0
/*
 * Typed constraint values: every form docs/constraint-values.md accepts, every form it refuses
 * (with the error at the value's path saying what was expected), and a property check that the
 * parser reads nothing past the NUL and survives arbitrary bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy/policy.h"
#include "policy/values.h"

#define PATH "contractPolicies.permissionPolicies[0].constraints[1].constraintValue"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers --------------------------------------------------------------------------- */

/* Parses text, which must be accepted without errors; the caller frees v. */
static void parse_ok(enum constraint_name name, const char *text, struct constraint_value *v)
{
	struct pol_errors errs = { 0 };
	int r = constraint_value__parse(name, text, PATH, v, &errs);

	if (r != 0 || errs.n != 0)
		fail_msg("\"%s\" refused: %s", text, errs.n ? errs.v[0].msg : "(no error)");
	pol_errors__clear(&errs);
}

static bool is_zero(const struct constraint_value *v)
{
	static const struct constraint_value zero;

	return memcmp(v, &zero, sizeof(zero)) == 0;
}

/* Parses text, which must be refused with n_errors errors, all at PATH; the first message must
 * contain `want`. Nothing may be left to free. */
static void parse_err_n(enum constraint_name name, const char *text, size_t n_errors,
			const char *want)
{
	struct pol_errors errs = { 0 };
	struct constraint_value v;

	memset(&v, 0xa5, sizeof(v));
	if (constraint_value__parse(name, text, PATH, &v, &errs) != -EINVAL)
		fail_msg("\"%s\" accepted as %s", text, constraint_name__str(name));
	assert_int_equal(errs.n, n_errors);
	for (size_t i = 0; i < errs.n; i++)
		assert_string_equal(errs.v[i].path, PATH);
	if (!strstr(errs.v[0].msg, want))
		fail_msg("error for \"%s\" is \"%s\", which lacks \"%s\"", text, errs.v[0].msg,
			 want);
	assert_true(is_zero(&v));
	pol_errors__clear(&errs);
}

static void parse_err(enum constraint_name name, const char *text, const char *want)
{
	parse_err_n(name, text, 1, want);
}

/* The whole first message, for the cases where its wording is the point. */
static void parse_err_exact(enum constraint_name name, const char *text, const char *want)
{
	struct pol_errors errs = { 0 };
	struct constraint_value v;

	assert_int_equal(constraint_value__parse(name, text, PATH, &v, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].path, PATH);
	assert_string_equal(errs.v[0].msg, want);
	pol_errors__clear(&errs);
}

static int64_t time_of(const char *s)
{
	int64_t t = 0;

	if (pol_time__parse(s, &t) != 0)
		fail_msg("\"%s\" is not a time", s);
	return t;
}

/* pol_time__parse refuses s, says why (containing `want`), and leaves *ret alone. */
static void time_err(const char *s, const char *want)
{
	const char *why = NULL;
	int64_t t = 42;

	assert_int_equal(pol_time__parse(s, &t), -EINVAL);
	assert_int_equal(t, 42);
	assert_int_equal(pol_time__parse_why(s, &t, &why), -EINVAL);
	assert_non_null(why);
	if (!strstr(why, want))
		fail_msg("reason for \"%s\" is \"%s\", which lacks \"%s\"", s, why, want);
}

static void assert_integer(enum constraint_name name, const char *text, uint64_t want,
			   enum rate_period period)
{
	struct constraint_value v;

	parse_ok(name, text, &v);
	assert_int_equal(v.type, VAL_INTEGER);
	assert_int_equal(v.integer, want);
	assert_int_equal(v.period, period);
	assert_false(v.is_list);
	constraint_value__free(&v);
}

static void assert_duration(const char *text, int64_t seconds)
{
	struct constraint_value v;

	parse_ok(CN_TIME_WINDOW, text, &v);
	assert_int_equal(v.type, VAL_DURATION);
	assert_int_equal(v.seconds, seconds);
	constraint_value__free(&v);
}

/* The value parses to exactly these strings, of this type. */
static void assert_strings(enum constraint_name name, const char *text, enum value_type type,
			   bool is_list, size_t n, ...)
{
	struct constraint_value v;
	va_list ap;

	parse_ok(name, text, &v);
	assert_int_equal(v.type, type);
	assert_int_equal(v.is_list, is_list);
	assert_int_equal(v.n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v.strings[i], va_arg(ap, const char *));
	va_end(ap);
	constraint_value__free(&v);
}

static void assert_prefix(const struct net_prefix *p, int family, const char *addr,
			  unsigned len)
{
	uint8_t want[16] = { 0 };

	assert_int_equal(p->family, family);
	assert_int_equal(p->prefixlen, len);
	assert_int_equal(inet_pton(family, addr, want), 1);
	assert_memory_equal(p->addr, want, family == AF_INET ? 4 : 16);
}

static void assert_amount(const char *text, int64_t minor, unsigned scale, const char *cur)
{
	struct constraint_value v;

	parse_ok(CN_PAY_AMOUNT, text, &v);
	assert_int_equal(v.type, VAL_AMOUNT);
	assert_int_equal(v.amount.minor_units, minor);
	assert_int_equal(v.amount.scale, scale);
	assert_string_equal(v.amount.currency, cur);
	constraint_value__free(&v);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* ---- timestamps ------------------------------------------------------------------------ */

/* 14 digits, the dictionary form, are China Standard Time. */
static void test_time_compact_is_cst(void **state)
{
	assert_int_equal(time_of("20240320235959"), 1710950399);
}

static void test_time_space_form_is_cst(void **state)
{
	assert_int_equal(time_of("2024-03-20 23:59:59"), 1710950399);
}

static void test_time_iso_z(void **state)
{
	assert_int_equal(time_of("2024-03-20T15:59:59Z"), 1710950399);
}

static void test_time_iso_offsets(void **state)
{
	assert_int_equal(time_of("2024-03-20T23:59:59+08:00"), 1710950399);
	assert_int_equal(time_of("2024-03-20T10:29:59-05:30"), 1710950399);
	assert_int_equal(time_of("2024-03-20T15:59:59+00:00"), 1710950399);
}

static void test_time_before_epoch(void **state)
{
	assert_int_equal(time_of("1969-12-31T23:59:59Z"), -1);
	assert_int_equal(time_of("1970-01-01T00:00:00Z"), 0);
}

/* The process time zone is never consulted. */
static void test_time_ignores_tz(void **state)
{
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	assert_int_equal(setenv("TZ", "America/New_York", 1), 0);
	tzset();
	assert_int_equal(time_of("20240320235959"), 1710950399);
	assert_int_equal(time_of("2024-03-20T15:59:59Z"), 1710950399);
	if (old)
		(void)setenv("TZ", old, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	free(old);
}

static void test_time_leap_years(void **state)
{
	assert_int_equal(time_of("2024-02-29T00:00:00Z"), 1709164800);
	assert_int_equal(time_of("2000-02-29T12:00:00Z"), 951825600);
	time_err("2023-02-29 00:00:00", "day does not exist");
	time_err("1900-02-29 00:00:00", "day does not exist");
}

static void test_time_field_ranges(void **state)
{
	time_err("2024-13-01 00:00:00", "month is not 01-12");
	time_err("2024-00-01 00:00:00", "month is not 01-12");
	time_err("2024-04-31 00:00:00", "day does not exist");
	time_err("2024-04-00 00:00:00", "day does not exist");
	time_err("20240320245959", "hour is not 00-23");
	time_err("2024-03-20 23:60:00", "minute is not 00-59");
	time_err("2024-03-20T23:59:60Z", "second is not 00-59");
	time_err("2024-03-20T23:59:59+24:00", "offset");
	time_err("2024-03-20T23:59:59+08:60", "offset");
}

static void test_time_iso_needs_zone(void **state)
{
	time_err("2024-03-20T23:59:59", "needs a zone");
}

static void test_time_fraction_refused(void **state)
{
	time_err("2024-03-20T23:59:59.123Z", "fractional seconds");
	time_err("2024-03-20 23:59:59.5", "fractional seconds");
}

static void test_time_space_form_takes_no_zone(void **state)
{
	time_err("2024-03-20 23:59:59+08:00", "takes no zone");
	time_err("2024-03-20 23:59:59Z", "takes no zone");
}

static void test_time_malformed(void **state)
{
	static const char *const bad[] = {
		"", "2024", "20240320", "202403202359590", "2024032023595a", "2024-3-20 23:59:59",
		"2024-03-20t23:59:59Z", "2024-03-20T23:59:59z", "2024/03/20 23:59:59",
		"2024-03-20T23:59:59+0800", "2024-03-20T23:59:59+08", "2024-03-20T23:59:59 +08:00",
		"+2024-03-20T23:59:59Z", " 20240320235959", "2024-03-20T23:59:59Z ",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		time_err(bad[i], "expected");
	assert_int_equal(pol_time__parse(NULL, &(int64_t){ 0 }), -EINVAL);
}

/* ---- time ------------------------------------------------------------------------------ */

static void test_time_constraint_single(void **state)
{
	struct constraint_value v;

	parse_ok(CN_TIME, "20240320235959", &v);
	assert_int_equal(v.type, VAL_TIME);
	assert_int_equal(v.from, 1710950399);
	assert_false(v.is_list);
	constraint_value__free(&v);
}

/* Annex D scenario 5 writes ranges like this. */
static void test_time_constraint_range(void **state)
{
	struct constraint_value v;

	parse_ok(CN_TIME, "2024-03-20 23:59:59--2025-03-20 23:59:59", &v);
	assert_int_equal(v.type, VAL_TIME_RANGE);
	assert_int_equal(v.from, 1710950399);
	assert_int_equal(v.to, 1742486399);
	constraint_value__free(&v);
}

static void test_time_constraint_range_spaces_and_zones(void **state)
{
	struct constraint_value v;

	parse_ok(CN_TIME, "2026-03-20T23:59:59+08:00 -- 2027-03-20T15:59:59Z", &v);
	assert_int_equal(v.type, VAL_TIME_RANGE);
	assert_int_equal(v.from, 1774022399);
	assert_int_equal(v.to, 1774022399 + 365 * 86400);
	constraint_value__free(&v);
	parse_ok(CN_TIME, "20240320235959--20240320235959", &v); /* one instant: B == A */
	assert_int_equal(v.from, v.to);
	constraint_value__free(&v);
	parse_ok(CN_TIME, "2024-03-20T23:59:59-08:00--2025-03-20T23:59:59-08:00", &v);
	assert_int_equal(v.to - v.from, 365 * 86400);
	constraint_value__free(&v);
}

static void test_time_constraint_range_backwards(void **state)
{
	parse_err(CN_TIME, "2025-03-20 23:59:59--2024-03-20 23:59:59", "ends before it starts");
}

static void test_time_constraint_range_bad_ends(void **state)
{
	parse_err_exact(CN_TIME, "2024-02-30 00:00:00--2025-03-20 23:59:59",
			"\"2024-02-30 00:00:00--2025-03-20 23:59:59\" is not a time range: "
			"its start \"2024-02-30 00:00:00\" is not a time: "
			"that day does not exist in that month");
	parse_err(CN_TIME, "2024-03-20 23:59:59--2025-03-20", "its end \"2025-03-20\"");
	parse_err(CN_TIME, "--2025-03-20 23:59:59", "its start \"\"");
	parse_err(CN_TIME, "2024-03-20 23:59:59--", "its end \"\"");
	parse_err(CN_TIME, "20240320235959--20250320235959--20260320235959", "one \"--\"");
}

static void test_time_constraint_bad_single(void **state)
{
	parse_err_exact(CN_TIME, "2024-03-20T23:59:59",
			"\"2024-03-20T23:59:59\" is not a time: a time written with T needs a "
			"zone: add Z or an offset such as +08:00");
	parse_err(CN_TIME, "yesterday", "expected YYYYMMDDHHMMSS");
}

static void test_time_constraint_not_a_list(void **state)
{
	parse_err(CN_TIME, "[20240320235959]", "takes a single value");
}

/* ---- timeWindow ------------------------------------------------------------------------ */

static void test_window_durations(void **state)
{
	assert_duration("P1D", 86400);
	assert_duration("P7D", 7 * 86400);
	assert_duration("P365D", 365 * 86400);
	assert_duration("P1W", 7 * 86400);
	assert_duration("P1W2D", 9 * 86400);
	assert_duration("PT8H", 8 * 3600);
	assert_duration("PT1M", 60); /* M after T is minutes */
	assert_duration("PT90S", 90);
	assert_duration("PT1H30M", 5400);
	assert_duration("P1DT12H", 129600);
	assert_duration("P1DT1H1M1S", 90061);
	assert_duration("P001D", 86400);
}

static void test_window_years_months_refused(void **state)
{
	parse_err_exact(CN_TIME_WINDOW, "P1Y",
			"\"P1Y\" is not a time window: years and months have no fixed length: "
			"write days, e.g. P365D");
	parse_err(CN_TIME_WINDOW, "P6M", "years and months have no fixed length");
	parse_err(CN_TIME_WINDOW, "P1Y2D", "years and months have no fixed length");
}

static void test_window_zero_refused(void **state)
{
	parse_err(CN_TIME_WINDOW, "P0D", "longer than zero");
	parse_err(CN_TIME_WINDOW, "PT0S", "longer than zero");
}

static void test_window_malformed(void **state)
{
	static const char *const bad[] = {
		"P", "PT", "P1DT", "PD", "P1.5D", "P1,5D", "P1D1W", "P1D1D", "PT1S1H", "P1H",
		"PT1D", "P-1D", "P1DT1HT1M", "P1DX", "P 1D",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		parse_err(CN_TIME_WINDOW, bad[i], "duration");
	parse_err(CN_TIME_WINDOW, "p1d", "expected an ISO 8601 duration");
}

/* C..10 applies to durations. */
static void test_window_length_limit(void **state)
{
	assert_duration("P99999999W", 99999999LL * 7 * 86400);
	assert_duration("PT86400S", 86400);
	parse_err(CN_TIME_WINDOW, "P1W1DT1H1M1S", "at most 10 characters");
}

/* Annex D scenario 5 writes a range under timeWindow. */
static void test_window_range(void **state)
{
	struct constraint_value v;

	parse_ok(CN_TIME_WINDOW, "2024-03-20 23:59:59--2025-03-20 23:59:59", &v);
	assert_int_equal(v.type, VAL_TIME_RANGE);
	assert_int_equal(v.from, 1710950399);
	assert_int_equal(v.to, 1742486399);
	constraint_value__free(&v);
	parse_err(CN_TIME_WINDOW, "2025-03-20 23:59:59--2024-03-20 23:59:59", "ends before");
}

static void test_window_single_time_refused(void **state)
{
	parse_err(CN_TIME_WINDOW, "2024-03-20 23:59:59", "or a time range A--B");
}

/* ---- count, frequency, dateRecord ------------------------------------------------------ */

static void test_count_plain(void **state)
{
	assert_integer(CN_COUNT, "10000", 10000, PERIOD_NONE);
	assert_integer(CN_COUNT, "1", 1, PERIOD_NONE);
	assert_integer(CN_COUNT, "9999999999999999", 9999999999999999ULL, PERIOD_NONE);
	assert_integer(CN_COUNT, "0010", 10, PERIOD_NONE);
}

static void test_count_with_unit(void **state)
{
	assert_integer(CN_COUNT, "1000 次", 1000, PERIOD_NONE);
	assert_integer(CN_COUNT, "1000次", 1000, PERIOD_NONE);
}

static void test_count_with_period(void **state)
{
	assert_integer(CN_COUNT, "10000 次/天", 10000, PERIOD_DAY);
	assert_integer(CN_COUNT, "10000次/天", 10000, PERIOD_DAY);
	assert_integer(CN_COUNT, "10000/day", 10000, PERIOD_DAY);
	assert_integer(CN_COUNT, "10000 /day", 10000, PERIOD_DAY);
	assert_integer(CN_COUNT, "10000 / day", 10000, PERIOD_DAY);
	assert_integer(CN_COUNT, "10000 次 / 天", 10000, PERIOD_DAY);
}

static void test_count_every_period_word(void **state)
{
	static const struct {
		const char *text;
		enum rate_period period;
	} cases[] = {
		{ "5 次/天", PERIOD_DAY },	{ "5 次/日", PERIOD_DAY },
		{ "5 次/小时", PERIOD_HOUR },	{ "5 次/时", PERIOD_HOUR },
		{ "5 次/分钟", PERIOD_MINUTE }, { "5 次/分", PERIOD_MINUTE },
		{ "5/day", PERIOD_DAY },	{ "5/hour", PERIOD_HOUR },
		{ "5/minute", PERIOD_MINUTE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_integer(CN_COUNT, cases[i].text, 5, cases[i].period);
}

static void test_count_words_refused(void **state)
{
	parse_err_exact(CN_COUNT, "10 times",
			"\"10 times\" is not a count: expected digits, optionally followed by "
			"\" 次\" and/or a period such as \"/天\" or \"/day\"");
	parse_err(CN_COUNT, "ten", "expected digits");
	parse_err(CN_COUNT, "10 条", "\" 次\"");
	parse_err(CN_COUNT, "1 0", "expected digits");
	parse_err(CN_COUNT, "10次次", "expected digits");
	parse_err(CN_COUNT, "10.5", "expected digits");
}

static void test_count_unknown_period(void **state)
{
	parse_err_exact(CN_COUNT, "10/week",
			"\"10/week\" is not a count: \"week\" is not a period: "
			"write /天 or /日 (day), /小时 or /时 (hour), /分钟 or /分 (minute), "
			"/day, /hour or /minute");
	parse_err(CN_COUNT, "10 次/周", "\"周\" is not a period");
	parse_err(CN_COUNT, "10 次/", "\"\" is not a period");
	parse_err(CN_COUNT, "10/Day", "is not a period");
	parse_err(CN_COUNT, "10/天/天", "is not a period");
}

static void test_count_zero_and_signs(void **state)
{
	parse_err(CN_COUNT, "0", "at least 1");
	parse_err(CN_COUNT, "0 次/天", "at least 1");
	parse_err(CN_COUNT, "+5", "expected digits");
	parse_err(CN_COUNT, "-5", "expected digits");
}

static void test_count_digit_limit(void **state)
{
	parse_err(CN_COUNT, "10000000000000000", "more than 16 digits");
	parse_err(CN_FREQUENCY, "00000000000000001", "more than 16 digits");
}

static void test_count_not_a_list(void **state)
{
	parse_err(CN_COUNT, "[1, 2]", "takes a single value");
}

static void test_date_record_units(void **state)
{
	assert_integer(CN_DATE_RECORD, "1000", 1000, PERIOD_NONE);
	assert_integer(CN_DATE_RECORD, "1000 条", 1000, PERIOD_NONE);
	assert_integer(CN_DATE_RECORD, "1000条/天", 1000, PERIOD_DAY);
	assert_integer(CN_DATE_RECORD, "1000/hour", 1000, PERIOD_HOUR);
	parse_err(CN_DATE_RECORD, "1000 次", "is not a record count: expected digits, "
					    "optionally followed by \" 条\"");
}

static void test_frequency_forms(void **state)
{
	assert_integer(CN_FREQUENCY, "600", 600, PERIOD_NONE);
	assert_integer(CN_FREQUENCY, "600/minute", 600, PERIOD_MINUTE);
	assert_integer(CN_FREQUENCY, "600 次/分钟", 600, PERIOD_MINUTE);
	parse_err(CN_FREQUENCY, "600 per minute", "is not a frequency: expected digits");
}

/* ---- dataSize -------------------------------------------------------------------------- */

static void test_size_plain_bytes(void **state)
{
	assert_integer(CN_DATA_SIZE, "1048576", 1048576, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "1B", 1, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "18446744073709551615", UINT64_MAX, PERIOD_NONE);
}

static void test_size_binary_units(void **state)
{
	assert_integer(CN_DATA_SIZE, "10G", 10ULL << 30, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "10 GiB", 10ULL << 30, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "5K", 5ULL << 10, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "5KiB", 5ULL << 10, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "3M", 3ULL << 20, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "3MiB", 3ULL << 20, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "2T", 2ULL << 40, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "2TiB", 2ULL << 40, PERIOD_NONE);
}

static void test_size_si_units(void **state)
{
	assert_integer(CN_DATA_SIZE, "10GB", 10000000000ULL, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "5 KB", 5000, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "3MB", 3000000, PERIOD_NONE);
	assert_integer(CN_DATA_SIZE, "2TB", 2000000000000ULL, PERIOD_NONE);
}

static void test_size_unknown_units(void **state)
{
	static const char *const bad[] = { "10g", "10kb", "10 PB", "10Gb", "10 G B", "10GBs",
					   "10 bytes", "G", "10/day" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		parse_err(CN_DATA_SIZE, bad[i], "optional unit: B; K, M, G, T");
}

static void test_size_overflow(void **state)
{
	assert_integer(CN_DATA_SIZE, "16777215T", 16777215ULL << 40, PERIOD_NONE);
	parse_err(CN_DATA_SIZE, "16777216T", "more than 2^64-1 bytes");
	parse_err(CN_DATA_SIZE, "18446744073709551616", "does not fit in 64 bits");
}

static void test_size_digit_limit(void **state)
{
	char *s = repeat('0', 65);

	s[63] = '1';
	s[64] = '\0';
	assert_integer(CN_DATA_SIZE, s, 1, PERIOD_NONE); /* 64 digits that fit */
	s[64] = '0';
	parse_err(CN_DATA_SIZE, s, "more than 64 digits");
	free(s);
}

static void test_size_zero(void **state)
{
	parse_err(CN_DATA_SIZE, "0G", "at least 1 byte");
}

/* ---- networkAddress -------------------------------------------------------------------- */

static void test_net_single_addresses(void **state)
{
	struct constraint_value v;

	parse_ok(CN_NETWORK_ADDRESS, "192.0.2.1", &v);
	assert_int_equal(v.type, VAL_PREFIXES);
	assert_int_equal(v.n, 1);
	assert_false(v.is_list);
	assert_prefix(&v.prefixes[0], AF_INET, "192.0.2.1", 32);
	constraint_value__free(&v);
	parse_ok(CN_NETWORK_ADDRESS, "::1", &v);
	assert_prefix(&v.prefixes[0], AF_INET6, "::1", 128);
	constraint_value__free(&v);
}

static void test_net_prefixes(void **state)
{
	struct constraint_value v;

	parse_ok(CN_NETWORK_ADDRESS, "[10.0.0.0/8, 2001:db8::/32, 0.0.0.0/0]", &v);
	assert_int_equal(v.type, VAL_PREFIXES);
	assert_true(v.is_list);
	assert_int_equal(v.n, 3);
	assert_prefix(&v.prefixes[0], AF_INET, "10.0.0.0", 8);
	assert_prefix(&v.prefixes[1], AF_INET6, "2001:db8::", 32);
	assert_prefix(&v.prefixes[2], AF_INET, "0.0.0.0", 0);
	constraint_value__free(&v);
}

static void test_net_mapped_v6_stays_v6(void **state)
{
	struct constraint_value v;

	parse_ok(CN_NETWORK_ADDRESS, "::ffff:10.0.0.1", &v);
	assert_prefix(&v.prefixes[0], AF_INET6, "::ffff:10.0.0.1", 128);
	constraint_value__free(&v);
}

static void test_net_host_bits(void **state)
{
	parse_err_exact(CN_NETWORK_ADDRESS, "10.0.0.1/8",
			"\"10.0.0.1/8\" is not a network prefix: host bits set: "
			"did you mean 10.0.0.0/8?");
	parse_err(CN_NETWORK_ADDRESS, "2001:db8::1/32", "did you mean 2001:db8::/32?");
	parse_err(CN_NETWORK_ADDRESS, "192.168.1.129/25", "did you mean 192.168.1.128/25?");
}

static void test_net_prefix_length(void **state)
{
	parse_err(CN_NETWORK_ADDRESS, "10.0.0.0/33", "prefix length is not 0-32");
	parse_err(CN_NETWORK_ADDRESS, "::/129", "prefix length is not 0-128");
	parse_err(CN_NETWORK_ADDRESS, "10.0.0.0/", "prefix length");
	parse_err(CN_NETWORK_ADDRESS, "10.0.0.0/8/8", "prefix length");
	parse_err(CN_NETWORK_ADDRESS, "10.0.0.0/-1", "prefix length");
	parse_err(CN_NETWORK_ADDRESS, "10.0.0.0/ 8", "prefix length");
}

static void test_net_bad_addresses(void **state)
{
	parse_err(CN_NETWORK_ADDRESS, "fe80::1%eth0", "not an IP address or CIDR prefix");
	parse_err(CN_NETWORK_ADDRESS, "1:2:3", "not an IP address or CIDR prefix");
	parse_err(CN_NETWORK_ADDRESS, "example.com/24", "not an IP address or CIDR prefix");
	parse_err(CN_NETWORK_ADDRESS, "10.0.0.256", "last label is all digits");
	parse_err(CN_NETWORK_ADDRESS, "010.0.0.1", "last label is all digits");
	parse_err(CN_NETWORK_ADDRESS, "10.1", "last label is all digits");
}

static void test_net_host_names(void **state)
{
	assert_strings(CN_NETWORK_ADDRESS, "api.example.com", VAL_HOSTS, false, 1,
		       "api.example.com");
	assert_strings(CN_NETWORK_ADDRESS, "[api.example.com, data-1.Example.org, localhost]",
		       VAL_HOSTS, true, 3, "api.example.com", "data-1.Example.org", "localhost");
	assert_strings(CN_NETWORK_ADDRESS, "1.example.123a", VAL_HOSTS, false, 1,
		       "1.example.123a");
}

static void test_net_bad_host_names(void **state)
{
	parse_err(CN_NETWORK_ADDRESS, "-bad.example.com", "does not start with a hyphen");
	parse_err(CN_NETWORK_ADDRESS, "bad-.example.com", "does not end with a hyphen");
	parse_err(CN_NETWORK_ADDRESS, "under_score.example.com", "only letters, digits");
	parse_err(CN_NETWORK_ADDRESS, "*.example.com", "only letters, digits");
	parse_err(CN_NETWORK_ADDRESS, "a..b", "no empty labels");
	parse_err(CN_NETWORK_ADDRESS, "example.com.", "no empty labels");
	parse_err(CN_NETWORK_ADDRESS, ".example.com", "no empty labels");
	parse_err(CN_NETWORK_ADDRESS, "例子.com", "only letters, digits");
}

static void test_net_element_limit(void **state)
{
	char *s = repeat('a', 46);

	parse_err(CN_NETWORK_ADDRESS, s, "is not a network address: it is longer than 45");
	s[45] = '\0';
	assert_strings(CN_NETWORK_ADDRESS, s, VAL_HOSTS, false, 1, s);
	free(s);
}

static void test_net_every_long_element_reported(void **state)
{
	char s[128];

	(void)snprintf(s, sizeof(s), "[%046d, 10.0.0.0/8, %046d]", 1, 2);
	parse_err_n(CN_NETWORK_ADDRESS, s, 2, "longer than 45 characters");
}

static void test_net_mixed_refused(void **state)
{
	parse_err(CN_NETWORK_ADDRESS, "[10.0.0.1, example.com]",
		  "mixes IP addresses and host names");
}

/* Every bad element is reported, not only the first. */
static void test_net_reports_every_element(void **state)
{
	parse_err_n(CN_NETWORK_ADDRESS, "[10.0.0.1/8, 127.0.0.1, ::1/129]", 2, "10.0.0.0/8");
}

/* ---- application ----------------------------------------------------------------------- */

static void test_app_paths(void **state)
{
	assert_strings(CN_APPLICATION, "/usr/bin/python3", VAL_PATHS, false, 1,
		       "/usr/bin/python3");
	assert_strings(CN_APPLICATION, "[/usr/bin/python3, /usr/bin/sqlite3]", VAL_PATHS, true,
		       2, "/usr/bin/python3", "/usr/bin/sqlite3");
	assert_strings(CN_APPLICATION, "/opt/My App/bin/run", VAL_PATHS, false, 1,
		       "/opt/My App/bin/run");
	assert_strings(CN_APPLICATION, "/opt/应用/bin/.hidden", VAL_PATHS, false, 1,
		       "/opt/应用/bin/.hidden");
}

static void test_app_relative_refused(void **state)
{
	parse_err_exact(CN_APPLICATION, "usr/bin/python3",
			"\"usr/bin/python3\" is not an executable path: an executable path is "
			"absolute: it starts with /");
	parse_err(CN_APPLICATION, "python3", "starts with /");
}

static void test_app_components_refused(void **state)
{
	parse_err(CN_APPLICATION, "/usr//bin/x", "no empty components");
	parse_err(CN_APPLICATION, "/usr/bin/", "no empty components");
	parse_err(CN_APPLICATION, "/", "no empty components");
	parse_err(CN_APPLICATION, "/usr/bin/../bin/sh", "no . or .. components");
	parse_err(CN_APPLICATION, "/./bin/sh", "no . or .. components");
	parse_err(CN_APPLICATION, "/bin/..", "no . or .. components");
	parse_err_n(CN_APPLICATION, "[/bin/sh, bin/ls, /usr/./x]", 2, "\"bin/ls\"");
}

static void test_app_control_chars_refused(void **state)
{
	parse_err(CN_APPLICATION, "/usr/bin/py\tthon", "control character");
	parse_err(CN_APPLICATION, "/usr/bin/py\x1bthon", "control character");
	parse_err(CN_APPLICATION, "/usr/bin/py\xc2\x85thon", "control character"); /* U+0085 */
}

static void test_app_length_limit(void **state)
{
	char *s = repeat('a', 1025);

	s[0] = '/';
	parse_err(CN_APPLICATION, s, "longer than 1024 characters");
	s[1024] = '\0';
	assert_strings(CN_APPLICATION, s, VAL_PATHS, false, 1, s);
	free(s);
}

/* ---- codes ----------------------------------------------------------------------------- */

static void test_codes_plain(void **state)
{
	assert_strings(CN_EXECUTION_ENV, "02", VAL_CODES, false, 1, "02");
	assert_strings(CN_ENCRYPT_MODE, "02", VAL_CODES, false, 1, "02");
	assert_strings(CN_DELIVERY_METHOD, "01", VAL_CODES, false, 1, "01");
	assert_strings(CN_EXECUTION_ENV, "[02, 05]", VAL_CODES, true, 2, "02", "05");
}

static void test_codes_with_labels(void **state)
{
	assert_strings(CN_EXECUTION_ENV, "02：数据沙箱", VAL_CODES, false, 1, "02");
	assert_strings(CN_EXECUTION_ENV, "02:数据沙箱", VAL_CODES, false, 1, "02");
	assert_strings(CN_EXECUTION_ENV, "02 ： 数据沙箱", VAL_CODES, false, 1, "02");
	assert_strings(CN_EXECUTION_ENV, "[02：数据沙箱, 06: 密态计算]", VAL_CODES, true, 2, "02",
		       "06");
	assert_strings(CN_DELIVERY_METHOD, "01：如文件传输", VAL_CODES, false, 1, "01");
	assert_strings(CN_DELIVERY_METHOD, "03：API 传输", VAL_CODES, false, 1, "03");
	assert_strings(CN_DELIVERY_METHOD, "03:API传输", VAL_CODES, false, 1, "03");
}

/* Every code of the standard with its own label. */
static void test_codes_every_label(void **state)
{
	static const struct {
		enum constraint_name name;
		const char *text;
	} cases[] = {
		{ CN_EXECUTION_ENV, "01：使用控制" },
		{ CN_EXECUTION_ENV, "02：数据沙箱" },
		{ CN_EXECUTION_ENV, "03：安全多方计算" },
		{ CN_EXECUTION_ENV, "04：联邦学习" },
		{ CN_EXECUTION_ENV, "05：可信执行环境" },
		{ CN_EXECUTION_ENV, "06：密态计算" },
		{ CN_EXECUTION_ENV, "07：其他" },
		{ CN_ENCRYPT_MODE, "01：明文使用" },
		{ CN_ENCRYPT_MODE, "02：密文使用" },
		{ CN_ENCRYPT_MODE, "03：其他" },
		{ CN_DELIVERY_METHOD, "01：文件传输" },
		{ CN_DELIVERY_METHOD, "02：数据流传输" },
		{ CN_DELIVERY_METHOD, "03：API 传输" },
		{ CN_DELIVERY_METHOD, "04：其他" },
	};
	char code[3] = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memcpy(code, cases[i].text, 2);
		assert_strings(cases[i].name, cases[i].text, VAL_CODES, false, 1, code);
	}
}

static void test_codes_unknown(void **state)
{
	parse_err_exact(CN_ENCRYPT_MODE, "04",
			"\"04\" is not an encryptMode code: expected one of 01 明文使用, "
			"02 密文使用, 03 其他");
	parse_err(CN_EXECUTION_ENV, "08", "expected one of 01 使用控制");
	parse_err(CN_EXECUTION_ENV, "00", "expected one of");
	parse_err(CN_EXECUTION_ENV, "2", "expected one of");
	parse_err(CN_EXECUTION_ENV, "002", "expected one of");
	parse_err(CN_EXECUTION_ENV, "数据沙箱", "expected one of");
	parse_err(CN_DELIVERY_METHOD, "05", "04 其他");
}

static void test_codes_wrong_label(void **state)
{
	parse_err_exact(CN_EXECUTION_ENV, "02：联邦学习",
			"\"02：联邦学习\" is not an executionEnv code: code 02 is \"数据沙箱\"; "
			"write 02 or 02：数据沙箱");
	parse_err(CN_EXECUTION_ENV, "02：", "code 02 is");
	parse_err(CN_EXECUTION_ENV, "02 数据沙箱", "code 02 is");
	parse_err(CN_EXECUTION_ENV, "02-数据沙箱", "code 02 is");
	parse_err(CN_EXECUTION_ENV, "02：data sandbox", "code 02 is");
	parse_err(CN_EXECUTION_ENV, "02：如如数据沙箱", "code 02 is");
	parse_err(CN_DELIVERY_METHOD, "03：api传输", "code 03 is");
	parse_err_n(CN_EXECUTION_ENV, "[02：联邦学习, 09]", 2, "code 02 is");
}

/* ---- payAmount ------------------------------------------------------------------------- */

static void test_amount_forms(void **state)
{
	assert_amount("100.00 CNY", 10000, 2, "CNY");
	assert_amount("10.00 CNY", 1000, 2, "CNY");
	assert_amount("100 CNY", 100, 0, "CNY");
	assert_amount("0.5 USD", 5, 1, "USD");
	assert_amount("1.2345 EUR", 12345, 4, "EUR");
	assert_amount("0.00 CNY", 0, 2, "CNY");
	assert_amount("922337203685477.5807 CNY", INT64_MAX, 4, "CNY");
}

static void test_amount_needs_currency(void **state)
{
	parse_err_exact(CN_PAY_AMOUNT, "100.00",
			"\"100.00\" is not an amount: amount needs a currency, e.g. 100.00 CNY");
}

static void test_amount_currency_form(void **state)
{
	parse_err(CN_PAY_AMOUNT, "100.00 cny", "three upper-case letters");
	parse_err(CN_PAY_AMOUNT, "100.00 CNYX", "three upper-case letters");
	parse_err(CN_PAY_AMOUNT, "100.00 CN", "three upper-case letters");
	parse_err(CN_PAY_AMOUNT, "100.00 元", "three upper-case letters");
	parse_err(CN_PAY_AMOUNT, "100.00  CNY", "a single space");
	parse_err(CN_PAY_AMOUNT, "100.00CNY", "e.g. 100.00 CNY");
}

static void test_amount_number_form(void **state)
{
	static const char *const bad[] = { "CNY 100.00", "-1.00 CNY", "+1.00 CNY", "100. CNY",
					   ".5 CNY", "1,000.00 CNY", "¥100", "1e3 CNY" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		parse_err(CN_PAY_AMOUNT, bad[i], "e.g. 100.00 CNY");
	parse_err(CN_PAY_AMOUNT, "1.23456 CNY", "at most 4 digits after the decimal point");
}

static void test_amount_overflow(void **state)
{
	parse_err(CN_PAY_AMOUNT, "922337203685477.5808 CNY", "too large");
	parse_err(CN_PAY_AMOUNT, "9223372036854775808 CNY", "too large");
	parse_err(CN_PAY_AMOUNT, "99999999999999999999999 CNY", "does not fit in 64 bits");
}

static void test_amount_length_limit(void **state)
{
	char *s = repeat('1', 130);

	memcpy(s + 125, " CNY", 5);
	parse_err(CN_PAY_AMOUNT, s, "longer than 128 characters");
	free(s);
}

/* ---- strings --------------------------------------------------------------------------- */

static void test_fields(void **state)
{
	assert_strings(CN_DATA_FIELD, "[age, region, diagnosis]", VAL_STRINGS, true, 3, "age",
		       "region", "diagnosis");
	assert_strings(CN_DATA_FIELD, "[f1,f2,f3]", VAL_STRINGS, true, 3, "f1", "f2", "f3");
	assert_strings(CN_DATA_FIELD, "age", VAL_STRINGS, false, 1, "age");
	assert_strings(CN_DATA_FIELD, "[姓名, 身份证号]", VAL_STRINGS, true, 2, "姓名", "身份证号");
	assert_strings(CN_DATA_FIELD, "[a]", VAL_STRINGS, true, 1, "a");
}

/* C..10 counts characters, not bytes. */
static void test_region(void **state)
{
	assert_strings(CN_REGION, "北京", VAL_STRINGS, false, 1, "北京");
	assert_strings(CN_REGION, "内蒙古自治区呼和浩特", VAL_STRINGS, false, 1,
		       "内蒙古自治区呼和浩特");
	parse_err(CN_REGION, "内蒙古自治区呼和浩特市", "longer than 10 characters");
	parse_err(CN_REGION, "[北京, 上海]", "takes a single value");
	parse_err(CN_REGION, "北京,上海", "comma but no brackets");
}

static void test_physical_address(void **state)
{
	char *s = repeat('A', 21);

	parse_err(CN_PHYSICAL_ADDRESS, s, "longer than 20 characters");
	s[20] = '\0';
	assert_strings(CN_PHYSICAL_ADDRESS, s, VAL_STRINGS, false, 1, s);
	free(s);
}

/* A value expression is one opaque string: brackets and commas are its own. */
static void test_value_expression(void **state)
{
	char *s = repeat('x', 129);

	assert_strings(CN_VALUE_EXPRESSION, "age >= 18, region in [11, 31]", VAL_STRINGS, false,
		       1, "age >= 18, region in [11, 31]");
	assert_strings(CN_VALUE_EXPRESSION, "[x] = 1", VAL_STRINGS, false, 1, "[x] = 1");
	parse_err(CN_VALUE_EXPRESSION, s, "longer than 128 characters");
	free(s);
}

static void test_algorithm_and_models(void **state)
{
	char *s = repeat('a', 1025);

	assert_strings(CN_ALGORITHM, "[SM2, SM3]", VAL_STRINGS, true, 2, "SM2", "SM3");
	assert_strings(CN_ALGORITHM, "logistic regression", VAL_STRINGS, false, 1,
		       "logistic regression");
	assert_strings(CN_ML_MODELS, "[resnet50, bert-base]", VAL_STRINGS, true, 2, "resnet50",
		       "bert-base");
	parse_err(CN_ALGORITHM, s, "longer than 1024 characters");
	parse_err(CN_ML_MODELS, s, "longer than 1024 characters");
	free(s);
}

static void test_expansion_not_interpreted(void **state)
{
	struct pol_errors errs = { 0 };
	struct constraint_value v;

	assert_int_equal(constraint_value__parse(CN_EXPANSION, "\xff[,]--", PATH, &v, &errs), 0);
	assert_int_equal(v.type, VAL_NONE);
	assert_int_equal(constraint_value__parse(CN_EXPANSION, NULL, PATH, &v, &errs), 0);
	assert_int_equal(v.type, VAL_NONE);
	assert_int_equal(errs.n, 0);
	constraint_value__free(&v);
}

/* ---- list syntax and common rules ------------------------------------------------------ */

static void test_list_trimming(void **state)
{
	assert_strings(CN_DATA_FIELD, "  [ a ,\tb , c ]\n", VAL_STRINGS, true, 3, "a", "b", "c");
	assert_integer(CN_COUNT, " 10000 次/天 ", 10000, PERIOD_DAY);
}

static void test_list_not_closed(void **state)
{
	parse_err_exact(CN_DATA_FIELD, "[a, b",
			"\"[a, b\" is not a valid dataField value: the list is not closed: "
			"write [a, b, c]");
	parse_err(CN_DATA_FIELD, "[", "not closed");
}

static void test_list_empty(void **state)
{
	parse_err(CN_DATA_FIELD, "[]", "the list is empty");
	parse_err(CN_DATA_FIELD, "[ ]", "the list is empty");
}

static void test_list_empty_element(void **state)
{
	parse_err(CN_DATA_FIELD, "[,]", "element 1 of the list is empty");
	parse_err(CN_DATA_FIELD, "[a,,b]", "element 2 of the list is empty");
	parse_err(CN_DATA_FIELD, "[a, b, ]", "element 3 of the list is empty");
}

static void test_list_nested_or_quoted(void **state)
{
	parse_err(CN_DATA_FIELD, "[a, [b]]", "lists do not nest");
	parse_err(CN_DATA_FIELD, "[[a]]", "lists do not nest");
	parse_err(CN_DATA_FIELD, "[\"a\", \"b\"]", "without quotes");
	parse_err(CN_DATA_FIELD, "['a']", "without quotes");
}

static void test_list_comma_without_brackets(void **state)
{
	parse_err(CN_DATA_FIELD, "a, b", "write a list as [a, b, c]");
	parse_err(CN_NETWORK_ADDRESS, "10.0.0.1, 10.0.0.2", "write a list as [a, b, c]");
}

static void test_empty_value(void **state)
{
	parse_err_exact(CN_COUNT, "", "\"\" is not a valid count value: the value is empty");
	parse_err(CN_DATA_FIELD, " \t ", "the value is empty");
}

static void test_null_value(void **state)
{
	parse_err(CN_COUNT, NULL, "count has no value");
}

static void test_unknown_constraint(void **state)
{
	parse_err(0, "1", "no known value form");
	parse_err((enum constraint_name)99, "1", "no known value form");
	parse_err((enum constraint_name)-1, "1", "no known value form");
}

static void test_invalid_utf8(void **state)
{
	parse_err(CN_DATA_FIELD, "[a\xff]", "not valid UTF-8");
	parse_err(CN_REGION, "\xe5\x8c", "not valid UTF-8");	       /* cut short */
	parse_err(CN_REGION, "\xc0\xaf", "not valid UTF-8");	       /* overlong '/' */
	parse_err(CN_REGION, "\xed\xa0\x80", "not valid UTF-8");       /* surrogate */
	parse_err(CN_REGION, "\xf4\x90\x80\x80", "not valid UTF-8");   /* > U+10FFFF */
}

/* Error messages show a bad value escaped and cut short, never raw control bytes. */
static void test_quote_in_messages(void **state)
{
	char q[QUOTE_MAX], *s = repeat('9', 200);

	assert_string_equal(value__quote("a\"b\\c\x1b\xff", q), "a\\\"b\\\\c\\x1b\\xff");
	assert_string_equal(value__quote("a\xc2\x85z", q), "a\\u0085z");
	value__quote(s, q);
	assert_int_equal(strlen(q), 67);
	assert_string_equal(q + 64, "...");
	parse_err(CN_REGION, "a\x1b[31m", "\"a\\x1b[31m\" is not a region");
	free(s);
	/* Cut on a character boundary: 21 three-byte characters are 63 bytes, the 22nd would
	 * not fit in 64. */
	s = malloc(3 * 30 + 1);
	for (int i = 0; i < 30; i++)
		memcpy(s + 3 * i, "北", 3);
	s[90] = '\0';
	value__quote(s, q);
	assert_int_equal(strlen(q), 63 + 3);
	free(s);
}

static void test_free_accepts_null_and_zero(void **state)
{
	struct constraint_value v = { 0 };

	constraint_value__free(NULL);
	constraint_value__free(&v);
	constraint_value__free(&v);
}

/* ---- robustness ------------------------------------------------------------------------ */

/*
 * A copy of s whose NUL is the last byte before an inaccessible page, so a read past the NUL
 * faults even without ASan. Returns the copy; *ret_map and *ret_size are for munmap().
 */
static char *guarded_copy(const char *s, size_t len, void **ret_map, size_t *ret_size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = ((len + 1 + page - 1) / page + 1) * page;
	char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst;

	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + size - page, page, PROT_NONE), 0);
	dst = m + size - page - (len + 1);
	memcpy(dst, s, len);
	dst[len] = '\0';
	*ret_map = m;
	*ret_size = size;
	return dst;
}

static bool type_fits(enum constraint_name name, enum value_type t)
{
	switch (name) {
	case CN_TIME:
		return t == VAL_TIME || t == VAL_TIME_RANGE;
	case CN_TIME_WINDOW:
		return t == VAL_DURATION || t == VAL_TIME_RANGE;
	case CN_NETWORK_ADDRESS:
		return t == VAL_PREFIXES || t == VAL_HOSTS;
	case CN_COUNT: case CN_FREQUENCY: case CN_DATA_SIZE: case CN_DATE_RECORD:
		return t == VAL_INTEGER;
	case CN_APPLICATION:
		return t == VAL_PATHS;
	case CN_EXECUTION_ENV: case CN_ENCRYPT_MODE: case CN_DELIVERY_METHOD:
		return t == VAL_CODES;
	case CN_PAY_AMOUNT:
		return t == VAL_AMOUNT;
	case CN_EXPANSION:
		return t == VAL_NONE;
	default:
		return t == VAL_STRINGS;
	}
}

/* Runs s (len bytes, may hold a NUL) through every constraint: 0 with no error and a value of
 * the right type, or -EINVAL with an error and nothing to free. Returns how many parsed. */
static int parse_everywhere(const char *s, size_t len)
{
	size_t map_size;
	void *map;
	char *copy = guarded_copy(s, len, &map, &map_size);
	int accepted = 0;

	for (int name = 0; name <= CN_EXPANSION + 1; name++) {
		struct pol_errors errs = { 0 };
		struct constraint_value v;
		int r = constraint_value__parse((enum constraint_name)name, copy, PATH, &v, &errs);

		if (r == 0) {
			assert_int_equal(errs.n, 0);
			assert_true(type_fits((enum constraint_name)name, v.type));
			accepted++;
		} else {
			assert_int_equal(r, -EINVAL);
			assert_true(errs.n > 0);
			assert_true(is_zero(&v));
		}
		constraint_value__free(&v);
		pol_errors__clear(&errs);
	}
	assert_int_equal(munmap(map, map_size), 0);
	return accepted;
}

static void test_nasty_inputs(void **state)
{
	static const char *const nasty[] = {
		"", "[", "]", "[,]", "[[", "--", " -- ", "----", "P", "PT", "T", "/", "//", ":",
		"::", "：", "[：]", "1.2.3.4/", "/0", "0/", "0 ", "0 次/", "次", "/天", "\xff",
		"\xe6\xac",
		"10 \xe6\xac", "10 次/\xe5", "02\xef\xbc", "02\xef\xbc\x9a\xe5", "\xc0\x80",
		"\xed\xbf\xbf", "[\xff, \xfe]", "100.", "100. ", "1.0000 ", "2024-02-29T", "2024-",
		"20240229", "2024-02-29 23:59:59--", "P1Y--P1D", "[a]--[b]", "P99999999W",
		"P9999999999999999999W", "99999999999999999999999999999999999999 CNY", "\\", "\"",
	};
	static const size_t lens[] = { 1000, 4096, 100000 };

	for (size_t i = 0; i < ARRAY_SIZE(nasty); i++)
		(void)parse_everywhere(nasty[i], strlen(nasty[i]));
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		char *s = repeat('9', lens[i]);

		(void)parse_everywhere(s, lens[i]);
		memset(s, '[', lens[i]);
		(void)parse_everywhere(s, lens[i]);
		memset(s, ',', lens[i]);
		s[0] = '[';
		s[lens[i] - 1] = ']';
		(void)parse_everywhere(s, lens[i]);
		free(s);
	}
}

/* Deterministic random strings over the bytes the grammar cares about: whatever the parser
 * makes of them, it answers 0 or -EINVAL as promised and never reads past the NUL. */
static void test_random_inputs(void **state)
{
	static const char *const atoms[] = {
		"0", "1", "9", "2024", "-", "--", ":", "：", ".", ",", " ", "[", "]", "/", "P", "T",
		"W", "D", "H", "M", "S", "Y", "Z", "+", "次", "条", "天", "分钟", "如", "数据沙箱",
		"CNY", "G", "KiB", "::", "ffff", "a", "-", "\xff", "\xe6", "\x80", "\t", "\"",
	};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[64];
	int accepted = 0;

	for (int i = 0; i < 20000; i++) {
		size_t len = 0;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		for (unsigned k = 0; k < (x >> 59) % 12; k++) {
			const char *a = atoms[(x >> (k * 5)) % ARRAY_SIZE(atoms)];

			if (len + strlen(a) >= sizeof(buf))
				break;
			memcpy(buf + len, a, strlen(a));
			len += strlen(a);
		}
		accepted += parse_everywhere(buf, len);
	}
	assert_true(accepted > 0); /* the generator does reach accepted forms */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_compact_is_cst),
		cmocka_unit_test(test_time_space_form_is_cst),
		cmocka_unit_test(test_time_iso_z),
		cmocka_unit_test(test_time_iso_offsets),
		cmocka_unit_test(test_time_before_epoch),
		cmocka_unit_test(test_time_ignores_tz),
		cmocka_unit_test(test_time_leap_years),
		cmocka_unit_test(test_time_field_ranges),
		cmocka_unit_test(test_time_iso_needs_zone),
		cmocka_unit_test(test_time_fraction_refused),
		cmocka_unit_test(test_time_space_form_takes_no_zone),
		cmocka_unit_test(test_time_malformed),
		cmocka_unit_test(test_time_constraint_single),
		cmocka_unit_test(test_time_constraint_range),
		cmocka_unit_test(test_time_constraint_range_spaces_and_zones),
		cmocka_unit_test(test_time_constraint_range_backwards),
		cmocka_unit_test(test_time_constraint_range_bad_ends),
		cmocka_unit_test(test_time_constraint_bad_single),
		cmocka_unit_test(test_time_constraint_not_a_list),
		cmocka_unit_test(test_window_durations),
		cmocka_unit_test(test_window_years_months_refused),
		cmocka_unit_test(test_window_zero_refused),
		cmocka_unit_test(test_window_malformed),
		cmocka_unit_test(test_window_length_limit),
		cmocka_unit_test(test_window_range),
		cmocka_unit_test(test_window_single_time_refused),
		cmocka_unit_test(test_count_plain),
		cmocka_unit_test(test_count_with_unit),
		cmocka_unit_test(test_count_with_period),
		cmocka_unit_test(test_count_every_period_word),
		cmocka_unit_test(test_count_words_refused),
		cmocka_unit_test(test_count_unknown_period),
		cmocka_unit_test(test_count_zero_and_signs),
		cmocka_unit_test(test_count_digit_limit),
		cmocka_unit_test(test_count_not_a_list),
		cmocka_unit_test(test_date_record_units),
		cmocka_unit_test(test_frequency_forms),
		cmocka_unit_test(test_size_plain_bytes),
		cmocka_unit_test(test_size_binary_units),
		cmocka_unit_test(test_size_si_units),
		cmocka_unit_test(test_size_unknown_units),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_size_digit_limit),
		cmocka_unit_test(test_size_zero),
		cmocka_unit_test(test_net_single_addresses),
		cmocka_unit_test(test_net_prefixes),
		cmocka_unit_test(test_net_mapped_v6_stays_v6),
		cmocka_unit_test(test_net_host_bits),
		cmocka_unit_test(test_net_prefix_length),
		cmocka_unit_test(test_net_bad_addresses),
		cmocka_unit_test(test_net_host_names),
		cmocka_unit_test(test_net_bad_host_names),
		cmocka_unit_test(test_net_element_limit),
		cmocka_unit_test(test_net_every_long_element_reported),
		cmocka_unit_test(test_net_mixed_refused),
		cmocka_unit_test(test_net_reports_every_element),
		cmocka_unit_test(test_app_paths),
		cmocka_unit_test(test_app_relative_refused),
		cmocka_unit_test(test_app_components_refused),
		cmocka_unit_test(test_app_control_chars_refused),
		cmocka_unit_test(test_app_length_limit),
		cmocka_unit_test(test_codes_plain),
		cmocka_unit_test(test_codes_with_labels),
		cmocka_unit_test(test_codes_every_label),
		cmocka_unit_test(test_codes_unknown),
		cmocka_unit_test(test_codes_wrong_label),
		cmocka_unit_test(test_amount_forms),
		cmocka_unit_test(test_amount_needs_currency),
		cmocka_unit_test(test_amount_currency_form),
		cmocka_unit_test(test_amount_number_form),
		cmocka_unit_test(test_amount_overflow),
		cmocka_unit_test(test_amount_length_limit),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_region),
		cmocka_unit_test(test_physical_address),
		cmocka_unit_test(test_value_expression),
		cmocka_unit_test(test_algorithm_and_models),
		cmocka_unit_test(test_expansion_not_interpreted),
		cmocka_unit_test(test_list_trimming),
		cmocka_unit_test(test_list_not_closed),
		cmocka_unit_test(test_list_empty),
		cmocka_unit_test(test_list_empty_element),
		cmocka_unit_test(test_list_nested_or_quoted),
		cmocka_unit_test(test_list_comma_without_brackets),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_null_value),
		cmocka_unit_test(test_unknown_constraint),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_quote_in_messages),
		cmocka_unit_test(test_free_accepts_null_and_zero),
		cmocka_unit_test(test_nasty_inputs),
		cmocka_unit_test(test_random_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
