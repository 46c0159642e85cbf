// SPDX-License-Identifier: Apache-2.0
/*
 * Timestamps and durations as contracts write them. The process time zone is never consulted:
 * a time without an offset is China Standard Time (UTC+08:00), the standard's jurisdiction,
 * and the conversion to the epoch is plain arithmetic (days_from_civil), not mktime().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/values.h"

#define CST_OFFSET (8 * 3600)

static const char time_forms[] =
	"expected YYYYMMDDHHMMSS or YYYY-MM-DD HH:MM:SS (both China Standard Time, UTC+08:00), "
	"or YYYY-MM-DDTHH:MM:SS followed by Z, +hh:mm or -hh:mm";

struct civil {
	int year, month, day, hour, minute, second;
	int offset; /* seconds east of UTC */
};

/* Value of the n decimal digits at s, or -1 when one of them is not a digit (or is the NUL). */
static int digits_at(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD?HH:MM:SS" at s (19 bytes, already known to be there); sep is ' ' or 'T'. */
static bool parse_dashed(const char *s, struct civil *t)
{
	t->year = digits_at(s, 4);
	t->month = digits_at(s + 5, 2);
	t->day = digits_at(s + 8, 2);
	t->hour = digits_at(s + 11, 2);
	t->minute = digits_at(s + 14, 2);
	t->second = digits_at(s + 17, 2);
	return s[4] == '-' && s[7] == '-' && s[13] == ':' && s[16] == ':' && t->year >= 0 &&
	       t->month >= 0 && t->day >= 0 && t->hour >= 0 && t->minute >= 0 && t->second >= 0;
}

/* What follows "YYYY-MM-DDTHH:MM:SS": "Z", "+hh:mm" or "-hh:mm", and nothing else. */
static const char *parse_zone(const char *z, struct civil *t)
{
	int hh, mm;

	if (z[0] == '.')
		return "fractional seconds are not supported: write whole seconds";
	if (z[0] == '\0')
		return "a time written with T needs a zone: add Z or an offset such as +08:00";
	if (z[0] == 'Z' && z[1] == '\0') {
		t->offset = 0;
		return NULL;
	}
	if ((z[0] != '+' && z[0] != '-') || strlen(z) != 6 || z[3] != ':')
		return time_forms;
	hh = digits_at(z + 1, 2);
	mm = digits_at(z + 4, 2);
	if (hh < 0 || mm < 0)
		return time_forms;
	if (hh > 23 || mm > 59)
		return "the zone offset is not within -23:59..+23:59";
	t->offset = (z[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
	return NULL;
}

/* Splits s into fields; returns NULL or why it is not one of the three forms. */
static const char *parse_fields(const char *s, struct civil *t)
{
	size_t len = strlen(s);

	t->offset = CST_OFFSET;
	if (len == 14 && strspn(s, "0123456789") == 14) {
		t->year = digits_at(s, 4);
		t->month = digits_at(s + 4, 2);
		t->day = digits_at(s + 6, 2);
		t->hour = digits_at(s + 8, 2);
		t->minute = digits_at(s + 10, 2);
		t->second = digits_at(s + 12, 2);
		return NULL;
	}
	if (len < 19 || (s[10] != ' ' && s[10] != 'T') || !parse_dashed(s, t))
		return time_forms;
	if (s[10] == 'T')
		return parse_zone(s + 19, t);
	if (s[19] == '.')
		return "fractional seconds are not supported: write whole seconds";
	if (s[19] != '\0')
		return "a time written with a space takes no zone (it is UTC+08:00): "
		       "write YYYY-MM-DDTHH:MM:SS+hh:mm for another zone";
	return NULL;
}

static const char *check_ranges(const struct civil *t)
{
	if (t->month < 1 || t->month > 12)
		return "the month is not 01-12";
	if (t->day < 1 || t->day > days_in_month(t->year, t->month))
		return "that day does not exist in that month";
	if (t->hour > 23)
		return "the hour is not 00-23";
	if (t->minute > 59)
		return "the minute is not 00-59";
	if (t->second > 59)
		return "the second is not 00-59 (leap seconds are not supported)";
	return NULL;
}

int pol_time__parse_why(const char *s, int64_t *ret, const char **ret_why)
{
	struct civil t = { 0 };
	const char *why;

	if (!s)
		why = time_forms;
	else if (!(why = parse_fields(s, &t)))
		why = check_ranges(&t);
	if (why) {
		if (ret_why)
			*ret_why = why;
		return -EINVAL;
	}
	*ret = days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 +
	       t.second - t.offset;
	return 0;
}

int pol_time__parse(const char *s, int64_t *ret)
{
	return pol_time__parse_why(s, ret, NULL);
}

/* ---- durations ------------------------------------------------------------------------- */

static const char duration_form[] =
	"expected an ISO 8601 duration P[nW][nD][T[nH][nM][nS]], e.g. P1D, P7D, PT8H, P1DT12H";

/* Seconds per unit for the designators allowed before and after T, in the order they must
 * appear; 'M' is minutes after T and refused before it. */
static const char date_units[] = "WD", time_units[] = "HMS";
static const int64_t date_secs[] = { 7 * 86400, 86400 }, time_secs[] = { 3600, 60, 1 };

/*
 * One "nX" component at *p. `order` is how far into units[] we already are, so components come
 * in order and at most once. Returns NULL and adds to *total, or why not.
 */
static const char *duration_part(const char **p, bool in_time, size_t *order, int64_t *total)
{
	const char *units = in_time ? time_units : date_units;
	const int64_t *secs = in_time ? time_secs : date_secs;
	size_t n = strspn(*p, "0123456789");
	const char *u;
	int64_t v = 0;

	if (n == 0)
		return duration_form;
	if (!in_time && ((*p)[n] == 'Y' || (*p)[n] == 'M'))
		return "years and months have no fixed length: write days, e.g. P365D";
	u = (*p)[n] ? strchr(units, (*p)[n]) : NULL;
	if (!u)
		return duration_form;
	if ((size_t)(u - units) < *order)
		return "duration components are repeated or out of order: "
		       "write W, D, then T H, M, S";
	for (size_t i = 0; i < n; i++) /* at most 9 digits: the whole value is 10 characters */
		v = v * 10 + ((*p)[i] - '0');
	*total += v * secs[u - units];
	*order = (size_t)(u - units) + 1;
	*p += n + 1;
	return NULL;
}

int pol_duration__parse(const char *s, int64_t *ret, const char **ret_why)
{
	const char *p = s + 1, *why = NULL;
	size_t order = 0, parts = 0, time_parts = 0;
	bool in_time = false;
	int64_t total = 0;

	if (strlen(s) > 10)
		why = "a duration is at most 10 characters (C..10)";
	else if (s[0] != 'P')
		why = duration_form;
	while (!why && *p) {
		if (*p == 'T' && !in_time) {
			in_time = true;
			order = 0;
			p++;
			continue;
		}
		why = duration_part(&p, in_time, &order, &total);
		parts++;
		time_parts += in_time;
	}
	if (!why && (parts == 0 || (in_time && time_parts == 0)))
		why = duration_form;
	if (!why && total <= 0)
		why = "a duration must be longer than zero";
	if (why) {
		*ret_why = why;
		return -EINVAL;
	}
	*ret = total;
	return 0;
}
