// SPDX-License-Identifier: Apache-2.0
/*
 * Reading the journal: segments, entries, and the check of chain, sequence and checkpoints.
 * No logging and no agent state: pepctl links this file to verify a journal on its own.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "journal/journal.h"

/* ---- segments ------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "<20 digits>.jsonl" and nothing else (not the .torn files beside them). */
static bool segment_name(const char *name, uint64_t *ret_first)
{
	if (strlen(name) != 26 || strcmp(name + 20, ".jsonl"))
		return false;
	for (int i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	*ret_first = strtoull(name, NULL, 10);
	return *ret_first > 0;
}

int journal__segments(const char *dir, uint64_t **ret_first, size_t *ret_n)
{
	DIR *d = opendir(dir);
	uint64_t *v = NULL, *bigger, first;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!segment_name(de->d_name, &first))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			bigger = realloc(v, cap * sizeof(*v));
			if (!bigger) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = bigger;
		}
		v[n++] = first;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_u64);
	*ret_first = v;
	*ret_n = n;
	return 0;
}

/* ---- one entry ------------------------------------------------------------------------ */

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-case hex, exactly 2n digits (as the writer writes it). */
static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* "2026-11-23T13:09:28.123456789Z" -> ns since the epoch. */
static int parse_time(const char *s, int64_t *ret_ns)
{
	struct tm tm = { 0 };
	long ns;
	int used = 0;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%9ldZ%n", &tm.tm_year, &tm.tm_mon,
			 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ns, &used) != 7 ||
	    used != 30)
		return -EBADMSG;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ret_ns = (int64_t)timegm(&tm) * 1000000000 + ns;
	return 0;
}

static const char *str_of(const cJSON *doc, const char *name, bool *bad)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(doc, name));

	*bad |= !s;
	return s ? s : "";
}

static uint64_t num_of(const cJSON *doc, const char *name, bool *bad)
{
	const cJSON *n = cJSON_GetObjectItem(doc, name);

	*bad |= !cJSON_IsNumber(n) || n->valuedouble < 0;
	return cJSON_IsNumber(n) && n->valuedouble >= 0 ? (uint64_t)n->valuedouble : 0;
}

static void parse_record(const cJSON *doc, struct record *r, bool *bad)
{
	bool older = false; /* journals written before records named policy and action */

	snprintf(r->contract, sizeof(r->contract), "%s", str_of(doc, "contract", bad));
	snprintf(r->policy, sizeof(r->policy), "%s", str_of(doc, "policy", &older));
	snprintf(r->action, sizeof(r->action), "%s", str_of(doc, "action", &older));
	r->kind = str_of(doc, "kind", bad);
	r->verdict = str_of(doc, "verdict", bad);
	r->reason = str_of(doc, "reason", bad);
	r->pid = (uint32_t)num_of(doc, "pid", bad);
	r->uid = (uint32_t)num_of(doc, "uid", bad);
	r->cgroup = num_of(doc, "cgroup", bad);
	snprintf(r->comm, sizeof(r->comm), "%s", str_of(doc, "comm", bad));
	snprintf(r->exe, sizeof(r->exe), "%s", str_of(doc, "exe", bad));
	snprintf(r->object, sizeof(r->object), "%s", str_of(doc, "object", bad));
	r->counter = num_of(doc, "counter", bad);
}

static const char *const type_names[] = {
	[JOURNAL_RECORD] = "record",
	[JOURNAL_LOST] = "lost",
	[JOURNAL_STATE] = "journal",
	[JOURNAL_CHECKPOINT] = "checkpoint",
};

/* The type named by the n bytes at s; -1 when none is. */
static int type_of(const char *s, size_t n)
{
	for (size_t t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (strlen(type_names[t]) == n && !memcmp(s, type_names[t], n))
			return (int)t;
	return -1;
}

/* The members of each type; the fixed order is the writer's business, the hash checks it. */
static bool parse_body(const cJSON *doc, const char *type, struct journal_entry *e)
{
	bool bad = false;
	int t = type_of(type, strlen(type));

	e->type = (enum journal_type)t;
	switch (t) {
	case JOURNAL_RECORD:
		parse_record(doc, &e->rec, &bad);
		break;
	case JOURNAL_LOST:
		e->lost = num_of(doc, "lost", &bad);
		e->total = num_of(doc, "total", &bad);
		break;
	case JOURNAL_STATE:
		e->state = str_of(doc, "state", &bad);
		e->bytes = num_of(doc, "bytes", &bad);
		e->max = num_of(doc, "max", &bad);
		break;
	case JOURNAL_CHECKPOINT:
		e->lost = num_of(doc, "lost", &bad);
		e->total = num_of(doc, "unrecorded", &bad);
		e->sig = str_of(doc, "sig", &bad);
		break;
	default:
		bad = true;
	}
	return !bad;
}

int journal__hash(const char *line, size_t len, unsigned char *ret_hash)
{
	return EVP_Digest(line, len, ret_hash, NULL, EVP_sm3(), NULL) ? 0 : -ENOMEM;
}

int journal__parse(const char *line, size_t len, struct journal_entry *e, cJSON **doc)
{
	const char *end = NULL;
	bool bad = false;

	memset(e, 0, sizeof(*e));
	e->line = line;
	e->len = len;
	*doc = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (!*doc || end != line + len || journal__hash(line, len, e->hash))
		return -EBADMSG;
	e->seq = num_of(*doc, "seq", &bad);
	e->rec.seq = e->seq;
	if (bad || !e->seq || parse_time(str_of(*doc, "time", &bad), &e->time_ns) ||
	    unhex(str_of(*doc, "prev", &bad), e->prev, JOURNAL_HASH_LEN) ||
	    !parse_body(*doc, str_of(*doc, "type", &bad), e))
		return -EBADMSG;
	e->rec.time_ns = e->time_ns;
	return 0;
}

/* ---- lines across segments ------------------------------------------------------------ */

/* Reads the lines of every segment in turn, with the next one at hand (the check needs it). */
struct cursor {
	const char *dir;
	uint64_t *segs;
	size_t n_segs, next_seg;
	FILE *f;
	long off;      /* in f, of the next line */
	long skip;     /* where to start in the next segment opened (a journal_pos) */
	bool resumed;  /* the cursor started there */
	struct slot {
		char *buf;
		size_t cap;
		long off;      /* of the line in its segment */
		ssize_t len;   /* without the newline; -1: none */
		bool complete; /* ended with a newline */
		bool first;    /* the first line of its segment */
		size_t seg;    /* index into segs */
		int parsed;    /* 0: not yet; 1: e and doc hold it; -1: it does not parse */
		struct journal_entry e;
		cJSON *doc;
	} slot[2];
	int cur;
};

/* Fills slot s with the next line of the files; len -1 at the end. */
static int cursor_fill(struct cursor *c, struct slot *s)
{
	char path[4096];

	s->len = -1;
	s->first = false;
	s->parsed = 0;
	cJSON_Delete(s->doc);
	s->doc = NULL;
	for (;;) {
		if (!c->f && c->next_seg == c->n_segs)
			return 0;
		if (!c->f) {
			snprintf(path, sizeof(path), "%s/%020llu.jsonl", c->dir,
				 (unsigned long long)c->segs[c->next_seg]);
			c->f = fopen(path, "re");
			if (!c->f)
				return -errno;
			c->next_seg++;
			c->resumed = c->skip && !fseek(c->f, c->skip, SEEK_SET);
			c->off = c->resumed ? c->skip : 0;
			c->skip = 0;
			s->first = !c->resumed;
		}
		s->off = c->off;
		s->len = getline(&s->buf, &s->cap, c->f);
		if (s->len >= 0)
			break;
		fclose(c->f);
		c->f = NULL;
	}
	s->seg = c->next_seg - 1;
	c->off += s->len;
	s->complete = s->len > 0 && s->buf[s->len - 1] == '\n';
	if (s->complete)
		s->buf[--s->len] = '\0';
	return 0;
}

static void cursor_close(struct cursor *c);

/* The seq at the start of a line written by the journal, without parsing all of it. */
static uint64_t seq_prefix(const char *line)
{
	return strncmp(line, "{\"seq\":", 7) ? 0 : strtoull(line + 7, NULL, 10);
}

/* Opens at the segment that holds `from` (the last one starting at or before it): where `at`
 * says its line starts when it is about `from`, else at the start of the segment. */
static int cursor_open(struct cursor *c, const char *dir, uint64_t from,
		       const struct journal_pos *at)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->dir = dir;
	err = journal__segments(dir, &c->segs, &c->n_segs);
	if (err)
		return err;
	while (c->next_seg + 1 < c->n_segs && c->segs[c->next_seg + 1] <= from)
		c->next_seg++;
	if (at && at->seq == from && c->n_segs && c->segs[c->next_seg] == at->segment)
		c->skip = at->offset;
	err = cursor_fill(c, &c->slot[0]);
	/* A position from before the journal was opened again (its tail cut): search. */
	if (!err && c->resumed && c->slot[0].len >= 0 && seq_prefix(c->slot[0].buf) != from) {
		cursor_close(c);
		return cursor_open(c, dir, from, NULL);
	}
	return err ? err : cursor_fill(c, &c->slot[1]);
}

/* The current line moves on to the next one; the one after is read. */
static int cursor_next(struct cursor *c)
{
	struct slot *done = &c->slot[c->cur];

	c->cur ^= 1;
	return cursor_fill(c, done);
}

/* The slot's entry, parsed once (the check looks at each line twice); NULL if it is not one. */
static const struct journal_entry *slot_entry(struct slot *s)
{
	if (!s->parsed && s->len >= 0 && s->complete &&
	    !journal__parse(s->buf, (size_t)s->len, &s->e, &s->doc))
		s->parsed = 1;
	else if (!s->parsed)
		s->parsed = -1;
	return s->parsed > 0 ? &s->e : NULL;
}

static void cursor_close(struct cursor *c)
{
	if (c->f)
		fclose(c->f);
	cJSON_Delete(c->slot[0].doc);
	cJSON_Delete(c->slot[1].doc);
	free(c->slot[0].buf);
	free(c->slot[1].buf);
	free(c->segs);
}

/* seq, type and a record's contract from the start of a line, where the writer puts them:
 * {"seq":N,"time":"...","type":"T","contract":"C",... Members after those do not matter. */
static int peek(const char *line, size_t len, struct journal_entry *e)
{
	const char *type = strstr(line, ",\"type\":\""), *end, *contract = NULL;
	int t = -1;

	memset(e, 0, sizeof(*e));
	e->line = line;
	e->len = len;
	e->seq = e->rec.seq = seq_prefix(line);
	end = type ? strchr(type + 9, '"') : NULL;
	if (end)
		t = type_of(type + 9, (size_t)(end - type - 9));
	if (t == JOURNAL_RECORD)
		contract = strstr(end, ",\"contract\":\"");
	if (!e->seq || t < 0 || (t == JOURNAL_RECORD && !contract))
		return -EBADMSG;
	e->type = (enum journal_type)t;
	if (contract)
		snprintf(e->rec.contract, sizeof(e->rec.contract), "%.*s",
			 (int)strcspn(contract + 13, "\""), contract + 13);
	return 0;
}

int journal__scan(const char *dir, uint64_t from, struct journal_pos *pos, journal_fn fn,
		  void *ctx)
{
	struct journal_entry e;
	struct cursor c;
	int err;

	err = cursor_open(&c, dir, from, pos);
	for (struct slot *s = &c.slot[c.cur]; !err && s->len >= 0 && s->complete;
	     s = &c.slot[c.cur]) {
		if (seq_prefix(s->buf) >= from || !seq_prefix(s->buf)) {
			err = peek(s->buf, (size_t)s->len, &e);
			if (!err)
				err = fn(&e, ctx);
			if (err >= 0 && pos)
				*pos = (struct journal_pos){ e.seq + 1, c.segs[s->seg],
							     s->off + s->len + 1 };
		}
		if (!err)
			err = cursor_next(&c);
	}
	cursor_close(&c);
	return err;
}

struct parsing {
	journal_fn fn;
	void *ctx;
};

static int parse_then(const struct journal_entry *peeked, void *ctx)
{
	struct parsing *p = ctx;
	struct journal_entry e;
	cJSON *doc = NULL;
	int err;

	err = journal__parse(peeked->line, peeked->len, &e, &doc);
	if (!err)
		err = p->fn(&e, p->ctx);
	cJSON_Delete(doc);
	return err;
}

int journal__read(const char *dir, uint64_t from, journal_fn fn, void *ctx)
{
	struct parsing p = { fn, ctx };

	return journal__scan(dir, from, NULL, parse_then, &p);
}

/* ---- verification --------------------------------------------------------------------- */

struct check {
	EVP_PKEY *key;
	uint64_t expect;				  /* the seq the next entry must have */
	unsigned char head[JOURNAL_HASH_LEN];		  /* hash of the last good entry */
	unsigned char before[JOURNAL_HASH_LEN];		  /* and of the one before it */
	struct journal_verdict *v;
};

static bool same(const unsigned char *a, const unsigned char *b)
{
	return !memcmp(a, b, JOURNAL_HASH_LEN);
}

static int fail(struct check *k, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct check *k, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	k->v->ok = false;
	k->v->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(k->v->what, sizeof(k->v->what), fmt, ap);
	va_end(ap);
	return 1;
}

static bool signature_ok(EVP_PKEY *key, const struct journal_entry *e)
{
	const char *at = memmem(e->line, e->len, ",\"sig\":\"", 8);
	size_t b64 = strlen(e->sig);
	unsigned char sig[128];
	EVP_MD_CTX *ctx;
	int n, ok = 0;

	if (!at || b64 < 4 || b64 > 4 * sizeof(sig) / 3 || b64 % 4)
		return false;
	n = EVP_DecodeBlock(sig, (const unsigned char *)e->sig, (int)b64);
	n -= (e->sig[b64 - 1] == '=') + (e->sig[b64 - 2] == '=');
	ctx = EVP_MD_CTX_new();
	if (n > 0 && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1)
		ok = EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)e->line,
				      (size_t)(at - e->line)) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* An entry that is not the one expected: which change explains it. `next` may be NULL. */
static int explain(struct check *k, const struct journal_entry *e, const struct journal_entry *next)
{
	uint64_t want = k->expect, s = e->seq;

	if (same(e->prev, k->head))
		return fail(k, want, "entry %llu edited: it follows entry %llu but reads seq %llu",
			    (unsigned long long)want, (unsigned long long)want - 1,
			    (unsigned long long)s);
	/* Intact when its successor holds its hash, or when it is a checkpoint that verifies. */
	if (s == want && ((next && same(next->prev, e->hash)) ||
			  (e->type == JOURNAL_CHECKPOINT && signature_ok(k->key, e))))
		return fail(k, want - 1, "entry %llu edited: entry %llu does not hold its hash",
			    (unsigned long long)want - 1, (unsigned long long)want);
	if (s == want)
		return fail(k, want, "entry %llu edited: its prev is not entry %llu's hash",
			    (unsigned long long)want, (unsigned long long)want - 1);
	if (s > want && next && next->seq == want)
		return fail(k, want, "entries %llu and %llu swapped (reordered)",
			    (unsigned long long)want, (unsigned long long)s);
	if (s == want + 1)
		return fail(k, want, "entry %llu removed (or moved elsewhere)",
			    (unsigned long long)want);
	if (s > want)
		return fail(k, want, "entries %llu..%llu removed (or moved elsewhere)",
			    (unsigned long long)want, (unsigned long long)s - 1);
	if (same(e->hash, k->head))
		return fail(k, s, "entry %llu appears twice (a copy inserted after it)",
			    (unsigned long long)s);
	if (s == want - 1 && same(e->prev, k->before) && next && same(next->prev, e->hash))
		return fail(k, s, "an entry inserted after entry %llu (it claims seq %llu)",
			    (unsigned long long)s - 1, (unsigned long long)s);
	return fail(k, s, "an entry inserted after entry %llu (it claims seq %llu)",
		    (unsigned long long)want - 1, (unsigned long long)s);
}

/* 0 when the entry is the one expected (and taken), 1 when not (verdict written). */
static int check_entry(struct check *k, const struct journal_entry *e,
		       const struct journal_entry *next)
{
	struct journal_verdict *v = k->v;

	if (k->expect == 1 && e->seq > 1)
		return fail(k, 1, "entries 1..%llu missing: the journal starts at %llu",
			    (unsigned long long)e->seq - 1, (unsigned long long)e->seq);
	if (e->seq != k->expect || !same(e->prev, k->head))
		return explain(k, e, next);
	if (e->type == JOURNAL_CHECKPOINT && !signature_ok(k->key, e))
		return fail(k, e->seq, "checkpoint %llu: the signature does not verify (forged "
				       "or edited)", (unsigned long long)e->seq);
	if (!v->first_seq)
		v->first_seq = e->seq;
	v->last_seq = e->seq;
	v->entries++;
	v->records += e->type == JOURNAL_RECORD;
	if (e->type == JOURNAL_CHECKPOINT) {
		v->checkpoints++;
		v->last_checkpoint = e->seq;
	}
	memcpy(k->before, k->head, JOURNAL_HASH_LEN);
	memcpy(k->head, e->hash, JOURNAL_HASH_LEN);
	k->expect++;
	return 0;
}

/* The current line of the cursor, checked; 1 when the check ends there. */
static int check_line(struct check *k, struct cursor *c)
{
	struct slot *s = &c->slot[c->cur], *n = &c->slot[c->cur ^ 1];
	const struct journal_entry *e;
	int r;

	snprintf(k->v->file, sizeof(k->v->file), "%020llu.jsonl",
		 (unsigned long long)c->segs[s->seg]);
	if (!s->complete && n->len < 0) {
		k->v->torn = true; /* being written, or torn by a crash: not a change */
		return 1;
	}
	e = slot_entry(s);
	if (!e)
		return fail(k, k->expect, "entry %llu: not a journal entry (edited or damaged)",
			    (unsigned long long)k->expect);
	r = check_entry(k, e, slot_entry(n));
	/* The reader finds entries by the segments' names: each must say where it starts. */
	if (!r && s->first && e->seq != c->segs[s->seg])
		r = fail(k, e->seq, "segment %s starts with entry %llu", k->v->file,
			 (unsigned long long)e->seq);
	return r;
}

int journal__verify(const char *dir, EVP_PKEY *key, struct journal_verdict *ret)
{
	struct check k = { .key = key, .expect = 1, .v = ret };
	struct cursor c;
	int err;

	memset(ret, 0, sizeof(*ret));
	ret->ok = true;
	err = cursor_open(&c, dir, 0, NULL);
	while (!err && c.slot[c.cur].len >= 0 && !check_line(&k, &c))
		err = cursor_next(&c);
	if (!err && !c.n_segs)
		fail(&k, 1, "no segments: the journal is empty or was removed");
	cursor_close(&c);
	if (!err && ret->ok)
		ret->file[0] = '\0';
	return err;
}
