// SPDX-License-Identifier: Apache-2.0
/*
 * The journal on its own (journal/journal.c, journal/journal_read.c): append and read back,
 * reopen, a torn tail, the bound, segments, lost records, and the check that names what was
 * edited, removed, inserted, swapped or forged. Files in a temporary directory; no root.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "journal/journal.h"
#include "policy/signed.h"

static EVP_PKEY *key, *other_key;
static char dir[64];

static void remove_dir(const char *path)
{
	char file[512];
	struct dirent *de;
	DIR *d = opendir(path);

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
			(void)unlink(file);
		}
	if (d)
		closedir(d);
	(void)rmdir(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/pep-journal-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	strcat(dir, "/j");
	return 0;
}

static int teardown(void **state)
{
	char *slash = strrchr(dir, '/');

	remove_dir(dir);
	*slash = '\0';
	remove_dir(dir);
	return 0;
}

static struct journal *open_journal(uint64_t max_bytes, uint64_t segment_bytes)
{
	struct journal_opts o = {
		.dir = dir, .max_bytes = max_bytes, .segment_bytes = segment_bytes, .key = key,
	};
	struct journal *j = journal__open(&o);

	assert_non_null(j);
	return j;
}

static struct record make_record(unsigned i)
{
	struct record r = {
		.time_ns = 1700000000123456789LL + i,
		.kind = i % 2 ? "denied" : "counted",
		.verdict = i % 2 ? "deny" : "allow",
		.reason = i % 2 ? "application not allowed" : "",
		.pid = 1000 + i,
		.uid = i,
		.cgroup = 42,
		.counter = i,
	};

	snprintf(r.contract, sizeof(r.contract), "%s", i % 2 ? "C-ODD" : "C-EVEN");
	snprintf(r.policy, sizeof(r.policy), "p%u", i % 3);
	snprintf(r.action, sizeof(r.action), "%s", "read");
	snprintf(r.comm, sizeof(r.comm), "p\"\\\x01\xe9-%u", i); /* bytes a comm may hold */
	snprintf(r.exe, sizeof(r.exe), "8388609:%u", i);
	snprintf(r.object, sizeof(r.object), "file 8388609:%u", 100 + i);
	return r;
}

static void append_n(struct journal *j, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++) {
		struct record r = make_record(i);

		assert_int_equal(journal__append(j, &r), 0);
	}
}

/* ---- reading back --------------------------------------------------------------------- */

struct collected {
	uint64_t seqs[4096];
	enum journal_type types[4096];
	size_t n;
	struct record last;
	char last_comm[16], last_kind[16], last_reason[32];
	char states[4][16]; /* of JOURNAL_STATE entries */
	size_t n_states;
};

static int collect(const struct journal_entry *e, void *ctx)
{
	struct collected *c = ctx;

	assert_true(c->n < 4096);
	c->seqs[c->n] = e->seq;
	c->types[c->n++] = e->type;
	if (e->type == JOURNAL_RECORD) {
		c->last = e->rec;
		memcpy(c->last_comm, e->rec.comm, sizeof(c->last_comm));
		/* the entry's strings live as long as the callback */
		snprintf(c->last_kind, sizeof(c->last_kind), "%s", e->rec.kind);
		snprintf(c->last_reason, sizeof(c->last_reason), "%s", e->rec.reason);
	}
	if (e->type == JOURNAL_STATE && c->n_states < 4)
		snprintf(c->states[c->n_states++], sizeof(c->states[0]), "%s", e->state);
	return 0;
}

static void read_all(uint64_t from, struct collected *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(journal__read(dir, from, collect, c), 0);
}

/* Sequence numbers from `first` on, one each, no gap. */
static void assert_contiguous(const struct collected *c, uint64_t first)
{
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(c->seqs[i], first + i);
}

static void assert_verifies(void)
{
	struct journal_verdict v;

	assert_int_equal(journal__verify(dir, key, &v), 0);
	if (!v.ok)
		fail_msg("verify: %s (%s)", v.what, v.file);
	assert_false(v.torn);
}

static void test_append_and_read(void **state)
{
	struct journal *j = open_journal(1 << 20, 0);
	struct record want = make_record(9);
	struct collected c;

	append_n(j, 0, 10);
	assert_int_equal(journal__sync(j), 0);
	read_all(1, &c);
	assert_int_equal(c.n, 11); /* the segment's opening checkpoint, then 10 records */
	assert_int_equal(c.types[0], JOURNAL_CHECKPOINT);
	assert_contiguous(&c, 1);
	assert_string_equal(c.last.contract, "C-ODD");
	assert_string_equal(c.last_kind, "denied");
	assert_string_equal(c.last_reason, "application not allowed");
	assert_int_equal(c.last.pid, 1009);
	assert_int_equal(c.last.time_ns, want.time_ns);
	assert_string_equal(c.last.object, want.object);
	assert_string_equal(c.last.policy, want.policy);
	assert_string_equal(c.last.action, "read");
	/* \xe9 comes back as U+00E9 in UTF-8: the journal writes bytes as \u00XX. */
	assert_memory_equal(c.last_comm, "p\"\\\x01\xc3\xa9-9", 8);
	read_all(8, &c);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.seqs[0], 8);
	journal__close(j);
	assert_verifies();
}

/* A full batch is written at once and synced by the journal's thread; the writer goes on. */
static void test_sync_later(void **state)
{
	struct journal_opts o = { .dir = dir, .max_bytes = 1 << 20, .batch = 4, .key = key };
	struct journal *j = journal__open(&o);
	struct journal_status st;
	struct collected c;

	assert_non_null(j);
	append_n(j, 0, 8); /* two batches */
	read_all(1, &c);
	assert_int_equal(c.n, 9); /* written: another process could read them */
	for (int i = 0; i < 1000; i++) { /* up to 10 s: a disk under load */
		journal__status(j, &st);
		if (st.synced_seq == 9)
			break;
		usleep(10000);
	}
	assert_int_equal(st.synced_seq, 9);
	assert_int_equal(st.state, JOURNAL_OK);
	append_n(j, 8, 3);
	assert_int_equal(journal__sync(j), 0); /* waits for the thread, then syncs the rest */
	journal__status(j, &st);
	assert_int_equal(st.synced_seq, 12);
	journal__close(j);
	assert_verifies();
}

static void test_reopen_continues(void **state)
{
	struct journal_status st;
	struct journal *j = open_journal(1 << 20, 0);
	struct collected c;

	append_n(j, 0, 5);
	assert_int_equal(journal__checkpoint(j), 0);
	assert_int_equal(journal__checkpoint(j), 0); /* nothing new: no second one */
	journal__close(j);
	j = open_journal(1 << 20, 0);
	journal__status(j, &st);
	assert_int_equal(st.next_seq, 8);
	append_n(j, 5, 5);
	journal__close(j); /* no checkpoint: a kill, as far as the file can tell */
	j = open_journal(1 << 20, 0);
	append_n(j, 10, 1);
	journal__close(j);
	read_all(0, &c);
	assert_int_equal(c.n, 1 + 5 + 1 + 5 + 1);
	assert_contiguous(&c, 1);
	assert_verifies();
}

static void append_bytes(const char *suffix, const void *bytes, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%020d.jsonl%s", dir, 1, suffix);
	f = fopen(path, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
}

static void test_torn_tail(void **state)
{
	static const char torn[] = "{\"seq\":7,\"time\":\"2026-";
	static const char zeros[64] = { 0 };
	struct journal_status st;
	struct journal *j = open_journal(1 << 20, 0);
	struct collected c;
	struct stat sb;
	char path[512];

	append_n(j, 0, 5);
	journal__close(j);
	/* what power loss leaves: a block of zeros, then half a line */
	append_bytes("", zeros, sizeof(zeros));
	append_bytes("", "\n", 1);
	append_bytes("", torn, strlen(torn));
	j = open_journal(1 << 20, 0);
	journal__status(j, &st);
	assert_int_equal(st.torn_bytes, sizeof(zeros) + 1 + strlen(torn));
	assert_int_equal(st.next_seq, 7);
	append_n(j, 5, 2);
	journal__close(j);
	snprintf(path, sizeof(path), "%s/%020d.jsonl.torn", dir, 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, st.torn_bytes);
	read_all(0, &c);
	assert_int_equal(c.n, 8);
	assert_contiguous(&c, 1);
	assert_verifies();
}

static void test_bound(void **state)
{
	uint64_t max = 64 << 10;
	struct journal *j = open_journal(max, 16 << 10);
	struct record late = make_record(0);
	struct journal_status st;
	struct collected c;
	unsigned i;
	int err = 0;

	for (i = 0; i < 10000 && !err; i++) {
		struct record r = make_record(i);

		err = journal__append(j, &r);
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(journal__full(j));
	for (unsigned k = 0; k < 9; k++) {
		struct record r = make_record(k);

		assert_int_equal(journal__append(j, &r), -ENOSPC);
	}
	assert_int_equal(journal__checkpoint(j), 0); /* the reserve holds it */
	journal__status(j, &st);
	assert_int_equal(st.state, JOURNAL_FULL);
	assert_int_equal(st.unrecorded, 10);
	assert_true(st.bytes <= max);
	journal__close(j);
	read_all(0, &c);
	assert_int_equal(c.n_states, 2);
	assert_string_equal(c.states[0], "near-full");
	assert_string_equal(c.states[1], "full");
	assert_int_equal(c.types[c.n - 1], JOURNAL_CHECKPOINT);
	assert_verifies();
	/* reopened: near the bound from the start (an alert again), full at the first record */
	j = open_journal(max, 16 << 10);
	journal__status(j, &st);
	assert_int_equal(st.state, JOURNAL_NEAR_FULL);
	assert_int_equal(journal__append(j, &late), -ENOSPC);
	journal__status(j, &st);
	assert_int_equal(st.state, JOURNAL_FULL);
	journal__close(j);
	read_all(0, &c);
	assert_int_equal(c.n_states, 4);
	assert_verifies();
}

static void test_segments(void **state)
{
	struct journal *j = open_journal(1 << 20, 4096);
	uint64_t *segs;
	size_t n;
	struct collected c;

	append_n(j, 0, 200);
	journal__close(j);
	assert_int_equal(journal__segments(dir, &segs, &n), 0);
	assert_true(n > 5);
	read_all(segs[3] + 2, &c);
	assert_int_equal(c.seqs[0], segs[3] + 2);
	assert_contiguous(&c, segs[3] + 2);
	assert_verifies();
	free(segs);
}

/* As report.c reads: batches of 7 entries, unparsed; what is peeked is what is stored. */
static int scan_seven(const struct journal_entry *e, void *ctx)
{
	struct collected *c = ctx;
	struct journal_entry parsed;
	cJSON *doc = NULL;

	assert_true(c->n < 4096);
	assert_int_equal(journal__parse(e->line, e->len, &parsed, &doc), 0);
	assert_string_equal(e->rec.contract, parsed.rec.contract);
	cJSON_Delete(doc);
	c->seqs[c->n] = e->seq;
	c->types[c->n++] = e->type;
	return c->n % 7 == 0;
}

/* journal__scan continues where the last batch ended, across segments, and a position that
 * is wrong (as after the journal was reopened and its tail cut) only costs a search. */
static void test_scan_resumes(void **state)
{
	struct journal *j = open_journal(1 << 20, 4096);
	struct journal_pos pos = { 0 };
	struct collected all, c = { 0 };
	bool resumed = false;

	append_n(j, 0, 200);
	journal__close(j);
	read_all(1, &all);
	while (c.n < all.n) {
		size_t before = c.n;
		int stopped;

		resumed |= pos.offset > 0;
		if (c.n == 70)
			pos.offset += 3; /* not at the start of a line */
		stopped = journal__scan(dir, c.n + 1, &pos, scan_seven, &c);
		assert_int_equal(stopped, c.n % 7 == 0);
		assert_true(c.n > before);
		assert_int_equal(pos.seq, c.n + 1);
	}
	assert_true(resumed);
	assert_int_equal(c.n, all.n);
	assert_contiguous(&c, 1);
	assert_memory_equal(c.types, all.types, all.n * sizeof(all.types[0]));
}

static int lost_entries(const struct journal_entry *e, void *ctx)
{
	uint64_t *v = ctx;

	if (e->type == JOURNAL_LOST) {
		v[0]++;
		v[1] += e->lost;
	}
	return 0;
}

static void test_lost(void **state)
{
	struct journal *j = open_journal(1 << 20, 0);
	uint64_t seen[2] = { 0, 0 };

	assert_int_equal(journal__lost(j, 0), 0);
	assert_int_equal(journal__lost(j, 5), 0);
	assert_int_equal(journal__lost(j, 5), 0);
	assert_int_equal(journal__checkpoint(j), 0);
	journal__close(j);
	j = open_journal(1 << 20, 0); /* the counter's last value comes from the checkpoint */
	assert_int_equal(journal__lost(j, 5), 0);
	assert_int_equal(journal__lost(j, 8), 0);
	journal__close(j);
	j = open_journal(1 << 20, 0); /* ... or from the last "lost" entry */
	assert_int_equal(journal__lost(j, 8), 0);
	assert_int_equal(journal__lost(j, 2), 0); /* reset (pins gone): all 2 count */
	journal__close(j);
	assert_int_equal(journal__read(dir, 0, lost_entries, seen), 0);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 5 + 3 + 2);
	assert_verifies();
}

/* ---- tampering ------------------------------------------------------------------------ */

struct lines {
	char *v[256];
	size_t n;
};

static void segment_file(char *path, size_t size)
{
	snprintf(path, size, "%s/%020d.jsonl", dir, 1);
}

static void load_lines(struct lines *l)
{
	char path[512], buf[8192];
	FILE *f;

	segment_file(path, sizeof(path));
	f = fopen(path, "r");
	assert_non_null(f);
	l->n = 0;
	while (fgets(buf, sizeof(buf), f))
		l->v[l->n++] = strdup(buf);
	fclose(f);
}

static void store_lines(struct lines *l)
{
	char path[512];
	FILE *f;

	segment_file(path, sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < l->n; i++)
		fputs(l->v[i], f);
	fclose(f);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
}

/* 1 checkpoint, records 2..21, a checkpoint at 22, records 23..26: line i holds seq i+1. */
static void make_journal(struct lines *l)
{
	struct journal *j = open_journal(1 << 20, 0);

	append_n(j, 0, 20);
	assert_int_equal(journal__checkpoint(j), 0);
	append_n(j, 20, 4);
	journal__close(j);
	load_lines(l);
	assert_int_equal(l->n, 26);
}

static void assert_caught(uint64_t seq, const char *words)
{
	struct journal_verdict v;

	assert_int_equal(journal__verify(dir, key, &v), 0);
	assert_false(v.ok);
	if (v.bad_seq != seq || !strstr(v.what, words))
		fail_msg("want seq %llu \"%s\", got seq %llu \"%s\"", (unsigned long long)seq,
			 words, (unsigned long long)v.bad_seq, v.what);
}

static void test_edit(void **state)
{
	struct lines l;
	char *at;

	make_journal(&l);
	at = strstr(l.v[9], "\"pid\":1");
	assert_non_null(at);
	at[6] = '9'; /* pid 1008 -> 9008 */
	store_lines(&l);
	assert_caught(10, "entry 10 edited");
	free_lines(&l);
}

/* The last record, under the checkpoint of a clean shutdown: the signature tells which. */
static void test_edit_last(void **state)
{
	struct journal *j;
	struct lines l;
	char *at;

	make_journal(&l);
	free_lines(&l);
	j = open_journal(1 << 20, 0);
	assert_int_equal(journal__checkpoint(j), 0);
	journal__close(j);
	load_lines(&l);
	at = strstr(l.v[25], "\"pid\":1");
	assert_non_null(at);
	at[6] = '9';
	store_lines(&l);
	assert_caught(26, "entry 26 edited");
	free_lines(&l);
}

static void test_edit_prev(void **state)
{
	struct lines l;
	char *at;

	make_journal(&l);
	at = strstr(l.v[9], "\"prev\":\"");
	at[8] = at[8] == '0' ? '1' : '0';
	store_lines(&l);
	assert_caught(10, "entry 10 edited");
	free_lines(&l);
}

static void test_delete(void **state)
{
	struct lines l;

	make_journal(&l);
	free(l.v[9]);
	memmove(&l.v[9], &l.v[10], (l.n - 10) * sizeof(char *));
	l.n--;
	store_lines(&l);
	assert_caught(10, "entry 10 removed");
	free_lines(&l);
}

static void test_insert_copy(void **state)
{
	struct lines l;

	make_journal(&l);
	memmove(&l.v[13], &l.v[12], (l.n - 12) * sizeof(char *));
	l.v[12] = strdup(l.v[4]); /* seq 5 again, after seq 12 */
	l.n++;
	store_lines(&l);
	assert_caught(5, "inserted after entry 12");
	free_lines(&l);
}

/* A record made to fit: the next seq, and the hash of the entry before as prev. */
static void test_insert_chained(void **state)
{
	unsigned char h[32];
	char forged[2048], hex[65];
	struct lines l;

	make_journal(&l);
	assert_true(EVP_Digest(l.v[11], strlen(l.v[11]) - 1, h, NULL, EVP_sm3(), NULL));
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	snprintf(forged, sizeof(forged),
		 "{\"seq\":13,\"time\":\"2023-11-14T22:13:20.123456800Z\",\"type\":\"record\","
		 "\"contract\":\"C-ODD\",\"kind\":\"allowed\",\"verdict\":\"allow\",\"reason\":\"\","
		 "\"pid\":1,\"uid\":0,\"cgroup\":1,\"comm\":\"x\",\"exe\":\"1:1\",\"object\":\"file "
		 "1:1\",\"counter\":0,\"prev\":\"%s\"}\n",
		 hex);
	memmove(&l.v[13], &l.v[12], (l.n - 12) * sizeof(char *));
	l.v[12] = strdup(forged);
	l.n++;
	store_lines(&l);
	assert_caught(13, "inserted after entry 12");
	free_lines(&l);
}

static void test_swap(void **state)
{
	struct lines l;
	char *t;

	make_journal(&l);
	t = l.v[9];
	l.v[9] = l.v[10];
	l.v[10] = t;
	store_lines(&l);
	assert_caught(10, "entries 10 and 11 swapped");
	free_lines(&l);
}

/* A checkpoint that chains but is signed by another key. */
static void test_forged_checkpoint(void **state)
{
	char line[1024], hex[65], *sig;
	unsigned char h[32];
	struct lines l;

	make_journal(&l);
	assert_true(EVP_Digest(l.v[l.n - 1], strlen(l.v[l.n - 1]) - 1, h, NULL, EVP_sm3(), NULL));
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	snprintf(line, sizeof(line),
		 "{\"seq\":27,\"time\":\"2026-01-01T00:00:00.000000000Z\",\"type\":\"checkpoint\","
		 "\"lost\":0,\"unrecorded\":0,\"prev\":\"%s\"",
		 hex);
	sig = pol_sign(other_key, line, strlen(line));
	assert_non_null(sig);
	snprintf(line + strlen(line), sizeof(line) - strlen(line), ",\"sig\":\"%s\"}\n", sig);
	free(sig);
	l.v[l.n++] = strdup(line);
	store_lines(&l);
	assert_caught(27, "checkpoint 27: the signature does not verify");
	free_lines(&l);
}

static void test_segment_removed(void **state)
{
	struct journal *j = open_journal(1 << 20, 4096);
	uint64_t *segs;
	size_t n;
	char path[512], words[64];

	append_n(j, 0, 100);
	journal__close(j);
	assert_int_equal(journal__segments(dir, &segs, &n), 0);
	assert_true(n > 3);
	snprintf(path, sizeof(path), "%s/%020llu.jsonl", dir, (unsigned long long)segs[2]);
	assert_int_equal(unlink(path), 0);
	snprintf(words, sizeof(words), "entries %llu..%llu removed", (unsigned long long)segs[2],
		 (unsigned long long)segs[3] - 1);
	assert_caught(segs[2], words);
	free(segs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_prev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_chained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segment_removed, setup, teardown),
	};
	int r;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	other_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key || !other_key)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	return r;
}
