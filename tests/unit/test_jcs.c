// SPDX-License-Identifier: Apache-2.0
/* RFC 8785 (JCS): the examples of sections 3.2.2-3.2.3 and the number table of Appendix B. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"

/* Canonicalises `in` (JSON text) and checks the result is exactly `want`. */
static void assert_jcs(const char *in, const char *want)
{
	cJSON *doc = cJSON_Parse(in);
	size_t len = 0;
	char *out;

	assert_non_null(doc);
	out = jcs__serialize(doc, &len);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
	cJSON_Delete(doc);
}

/* Canonicalises `doc` (consumed) and checks it is refused with EINVAL. */
static void assert_jcs_rejects(cJSON *doc)
{
	size_t len = 0;

	assert_non_null(doc);
	errno = 0;
	assert_null(jcs__serialize(doc, &len));
	assert_int_equal(errno, EINVAL);
	cJSON_Delete(doc);
}

static double from_bits(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* RFC 8785 3.2.2: literals, numbers and strings together, white space removed. */
static void test_rfc_primitives(void **state)
{
	assert_jcs("{\n  \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
		   "0.000000000000000000000000001],\n"
		   "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
		   "  \"literals\": [null, true, false]\n}",
		   "{\"literals\":[null,true,false],"
		   "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
		   "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* RFC 8785 3.2.3: names sorted by UTF-16 code units, so U+1F600 (D83D DE00) sorts before
 * U+FB33 although its code point is larger. */
static void test_rfc_sorting(void **state)
{
	assert_jcs("{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\","
		   " \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\","
		   " \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\","
		   " \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}",
		   "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
		   "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
		   "\"\xe2\x82\xac\":\"Euro Sign\","
		   "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
		   "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

/* U+10000 is D800 DC00 in UTF-16: before U+E000, after U+D7FF; a prefix sorts first. */
static void test_sorting_utf16_boundaries(void **state)
{
	assert_jcs("{\"\\ue000\":1,\"\\ud800\\udc00\":2,\"\\ud7ff\":3,\"ab\":4,\"a\":5,\"B\":6}",
		   "{\"B\":6,\"a\":5,\"ab\":4,\"\xed\x9f\xbf\":3,\"\xf0\x90\x80\x80\":2,"
		   "\"\xee\x80\x80\":1}");
}

static void test_nested_and_empty(void **state)
{
	assert_jcs(" { \"b\" : [ { \"y\":1, \"x\":[] } , {} ], \"a\" : { } } ",
		   "{\"a\":{},\"b\":[{\"x\":[],\"y\":1},{}]}");
	assert_jcs("[]", "[]");
	assert_jcs("\"\"", "\"\"");
}

/* Only \" \\ \b \f \n \r \t are short escapes; other controls are \u00xx in lower case;
 * DEL, '/' and non-ASCII are written as they are. */
static void test_string_escapes(void **state)
{
	assert_jcs("\"\\b\\f\\n\\r\\t\\u0001x\\u001F\\u007f\\/\\u00e9\"",
		   "\"\\b\\f\\n\\r\\t\\u0001x\\u001f\x7f/\xc3\xa9\"");
}

/* The double with IEEE 754 bits `bits` is written as `want`. */
static void assert_number(uint64_t bits, const char *want)
{
	cJSON *n = cJSON_CreateNumber(from_bits(bits));
	size_t len;
	char *out = jcs__serialize(n, &len);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
	cJSON_Delete(n);
}

struct number_case {
	uint64_t bits;
	const char *want;
};

/* RFC 8785 Appendix B: IEEE 754 bits and their ECMAScript form. */
static void test_rfc_numbers(void **state)
{
	static const struct number_case cases[] = {
		{ 0x0000000000000000, "0" },
		{ 0x8000000000000000, "0" },
		{ 0x0000000000000001, "5e-324" },
		{ 0x8000000000000001, "-5e-324" },
		{ 0x7fefffffffffffff, "1.7976931348623157e+308" },
		{ 0xffefffffffffffff, "-1.7976931348623157e+308" },
		{ 0x4340000000000000, "9007199254740992" },
		{ 0xc340000000000000, "-9007199254740992" },
		{ 0x4430000000000000, "295147905179352830000" },
		{ 0x44b52d02c7e14af5, "9.999999999999997e+22" },
		{ 0x44b52d02c7e14af6, "1e+23" },
		{ 0x44b52d02c7e14af7, "1.0000000000000001e+23" },
		{ 0x444b1ae4d6e2ef4e, "999999999999999700000" },
		{ 0x444b1ae4d6e2ef4f, "999999999999999900000" },
		{ 0x444b1ae4d6e2ef50, "1e+21" },
		{ 0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7" },
		{ 0x3eb0c6f7a0b5ed8d, "0.000001" },
		{ 0x41b3de4355555553, "333333333.3333332" },
		{ 0x41b3de4355555554, "333333333.33333325" },
		{ 0x41b3de4355555555, "333333333.3333333" },
		{ 0x41b3de4355555556, "333333333.3333334" },
		{ 0x41b3de4355555557, "333333333.33333343" },
		{ 0xbecbf647612f3696, "-0.0000033333333333333333" },
		{ 0x43143ff3c1cb0959, "1424953923781206.2" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_number(cases[i].bits, cases[i].want);
}

/* At a power of two the gap to the double below is half the gap above: the shortest digits
 * may then be above the nearest 16-digit decimal, which does not read back (Python's repr and
 * ECMAScript agree on these). */
static void test_numbers_at_powers_of_two(void **state)
{
	static const struct number_case cases[] = {
		{ 0x7220000000000000, "5.334411546303884e+241" },
		{ 0x0100000000000000, "7.291122019556398e-304" },
		{ 0x39e0000000000000, "6.310887241768095e-30" },
		{ 0x5120000000000000, "6.070840288205404e+82" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_number(cases[i].bits, cases[i].want);
}

/* Integers have no ".0"; the ES6 switch to exponent form is at 1e21 and below 1e-6. */
static void test_number_forms(void **state)
{
	assert_jcs("[1.0, -1, 100, 1e20, 1e21, 0.1, 1e-6, 1e-7, 123e-9, -0.0, 1.5e300]",
		   "[1,-1,100,100000000000000000000,1e+21,0.1,0.000001,1e-7,1.23e-7,0,1.5e+300]");
}

/* Every output reads back as the same double (shortest digits, yet exact). */
static void test_numbers_round_trip(void **state)
{
	srand(8785);
	for (int i = 0; i < 20000; i++) {
		uint64_t bits = (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
		double x = from_bits(bits);
		cJSON *n;
		size_t len;
		char *out;

		if (!isfinite(x))
			continue;
		n = cJSON_CreateNumber(x);
		out = jcs__serialize(n, &len);
		assert_non_null(out);
		assert_true(strtod(out, NULL) == x);
		assert_true(len <= 25);
		free(out);
		cJSON_Delete(n);
	}
}

static void test_rejects_nan_and_infinity(void **state)
{
	assert_jcs_rejects(cJSON_CreateNumber(NAN));
	assert_jcs_rejects(cJSON_CreateNumber(INFINITY));
	assert_jcs_rejects(cJSON_CreateNumber(-INFINITY));
}

/* Names and strings must be Unicode: stray continuation bytes, overlong forms and encoded
 * surrogates are refused rather than signed. */
static void test_rejects_invalid_utf8(void **state)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddNumberToObject(obj, "\xc0\xaf", 1);
	assert_jcs_rejects(obj);
	assert_jcs_rejects(cJSON_CreateString("a\x80"));
	assert_jcs_rejects(cJSON_CreateString("\xed\xa0\x80"));
	assert_jcs_rejects(cJSON_CreateString("\xf4\x90\x80\x80"));
	assert_jcs_rejects(cJSON_CreateString("\xe2\x82"));
}

/* Duplicate names have no canonical form (I-JSON, RFC 7493). */
static void test_rejects_duplicate_names(void **state)
{
	assert_jcs_rejects(cJSON_Parse("{\"a\":1,\"b\":2,\"a\":3}"));
	assert_jcs_rejects(cJSON_CreateRaw("1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_primitives),
		cmocka_unit_test(test_rfc_sorting),
		cmocka_unit_test(test_sorting_utf16_boundaries),
		cmocka_unit_test(test_nested_and_empty),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_rfc_numbers),
		cmocka_unit_test(test_numbers_at_powers_of_two),
		cmocka_unit_test(test_number_forms),
		cmocka_unit_test(test_numbers_round_trip),
		cmocka_unit_test(test_rejects_nan_and_infinity),
		cmocka_unit_test(test_rejects_invalid_utf8),
		cmocka_unit_test(test_rejects_duplicate_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
