// SPDX-License-Identifier: Apache-2.0
/*
 * Strict JSON: what a signed document must satisfy before anything reads it.
 * cJSON accepts duplicate member names (it keeps both) and unchecked UTF-8, and nests up to
 * 1000 levels; a signature must cover exactly what is enforced, so all three are refused here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"
#include "policy/internal.h"

/* Length of the UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
 * or 0 when it is not valid. */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	/* The second byte's range excludes overlongs, surrogates and values above U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Returns the offset of the first invalid byte, or len when all of buf is UTF-8. */
size_t utf8_invalid_at(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);

		if (!n)
			return i;
		i += n;
	}
	return len;
}

/* JSON allows no control characters but white space between tokens, and none inside strings;
 * cJSON lets them through. An escaped NUL (\u0000) is refused too: cJSON ends the string
 * there, so what follows would be neither canonicalised nor signed yet still be read.
 * Returns the offset of the first such byte or escape, or len. */
static size_t control_char_at(const char *buf, size_t len)
{
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch < 0x20 && (in_string || !ch || !strchr("\t\n\r", ch)))
			return i;
		if (escaped && ch == 'u' && len - i > 4 && !memcmp(buf + i + 1, "0000", 4))
			return i - 1;
		if (escaped)
			escaped = false;
		else if (in_string && ch == '\\')
			escaped = true;
		else if (ch == '"')
			in_string = !in_string;
	}
	return len;
}

size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void check_tree(const cJSON *node, const char *path, unsigned depth,
		       struct pol_errors *errs)
{
	const cJSON *child, *other;
	size_t i = 0;

	if (depth > POLICY_MAX_DEPTH) {
		pol_errors__add(errs, path, "nested deeper than %d levels", POLICY_MAX_DEPTH);
		return;
	}
	cJSON_ArrayForEach(child, node) {
		char *child_path = cJSON_IsArray(node) ? path_index(path, i) :
							 path_member(path, child->string);

		if (!child_path) {
			pol_errors__add(errs, path, "out of memory");
			return;
		}
		if (cJSON_IsObject(node)) {
			for (other = node->child; other != child; other = other->next)
				if (strcmp(other->string, child->string) == 0) {
					pol_errors__add(errs, child_path,
							"duplicate member name: a signature must "
							"cover exactly one value");
					break;
				}
		}
		check_tree(child, child_path, depth + 1, errs);
		free(child_path);
		i++;
	}
}

cJSON *strict_json__parse(const char *buf, size_t len, size_t max_bytes, struct pol_errors *errs)
{
	size_t before = pol_errors__count(errs), bad;
	const char *end = NULL;
	cJSON *doc;

	if (len > max_bytes) {
		pol_errors__add(errs, "", "document is %zu bytes, over the limit of %zu", len,
				max_bytes);
		return NULL;
	}
	bad = utf8_invalid_at(buf, len);
	if (bad < len) {
		pol_errors__add(errs, "", "invalid UTF-8 at byte %zu", bad);
		return NULL;
	}
	bad = control_char_at(buf, len);
	if (bad < len) {
		pol_errors__add(errs, "", "%s at byte %zu",
				buf[bad] == '\\' ? "escaped NUL (\\u0000)" : "control character", bad);
		return NULL;
	}
	doc = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!doc) {
		pol_errors__add(errs, "", "malformed JSON at byte %td", end ? end - buf : 0);
		return NULL;
	}
	/* cJSON stops after the first value: anything but white space after it is an error. */
	while (end && end < buf + len && strchr(" \t\r\n", *end) && *end)
		end++;
	if (end && end < buf + len)
		pol_errors__add(errs, "", "trailing data after the JSON value at byte %td",
				end - buf);
	if (!cJSON_IsObject(doc))
		pol_errors__add(errs, "", "a contract is a JSON object");
	check_tree(doc, "", 1, errs);
	if (pol_errors__count(errs) != before) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}
