// SPDX-License-Identifier: Apache-2.0
/*
 * Writing the journal: entries encoded and chained into a buffer, the buffer written and
 * synced into the last segment, segments rolled, and the tail checked at open. The format is
 * described in journal.h and docs/journal.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gcrypt.h>
#include <openssl/evp.h>

#include "journal/journal.h"
#include "policy/signed.h"

#define LINE_MAX_LEN  4096 /* a record is under 2 KiB with every string byte escaped */
#define SEGMENT_MIN   (64ull << 10)
#define SEGMENT_MAX   (16ull << 20)
#define RESERVE_MAX   (64ull << 10)
#define BATCH_DEFAULT 256

struct journal {
	char *dir;
	int fd;		    /* the last segment, O_APPEND */
	uint64_t seg_bytes; /* its size, buffered entries included */
	uint64_t bytes;	    /* all segments, buffered entries included */
	uint64_t max_bytes, segment_bytes, reserve;
	unsigned batch;
	EVP_PKEY *key;

	uint64_t next_seq, written_seq;
	_Atomic uint64_t synced_seq; /* written by the syncer too */
	unsigned char head[JOURNAL_HASH_LEN]; /* hash of the last entry */
	uint64_t lost_total, unrecorded;
	int64_t latest_ns; /* the latest wall time an entry carries (the clock's check at start) */
	uint64_t checkpoint_seq, checkpoint_unrecorded; /* as of the last checkpoint */
	bool near, full;
	int error;	  /* -errno of the last failed write or sync; 0 */
	bool sync_failed; /* an fdatasync() failed: later ones prove nothing (pages dropped) */
	uint64_t torn_bytes;

	/* The syncer: a thread that fdatasync()s what was written (journal__sync_later), so the
	 * writer does not wait for the disk. `lock` guards the four fields below. */
	pthread_t syncer;
	bool syncer_running;
	pthread_mutex_t lock;
	pthread_cond_t wake, done;
	bool sync_asked, syncing, stopping;
	uint64_t sync_target; /* the written seq it was asked to make durable */
	_Atomic int sync_error; /* -errno of the syncer's failed fdatasync(): final */

	char date[24]; /* date_sec, formatted */
	time_t date_sec;

	char *buf; /* entries not written yet, each with its newline */
	size_t len, cap;
	unsigned n_buffered;
};

/* ---- encoding ------------------------------------------------------------------------- */

struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
	bool overflow;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof(l->buf)) {
		l->overflow = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put_s(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* "name":"value", with " and \ escaped, and bytes outside printable ASCII as \u00XX: a comm
 * or a path is any bytes, and a line must stay one line of plain JSON. */
static void put_str(struct line *l, const char *name, const char *v)
{
	const unsigned char *p = (const unsigned char *)(v ? v : "");
	char esc[8];
	size_t run;

	put_s(l, "\"");
	put_s(l, name);
	put_s(l, "\":\"");
	while (*p) {
		for (run = 0; p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\';
		     run++)
			;
		put(l, (const char *)p, run);
		p += run;
		if (!*p)
			break;
		put(l, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p++));
	}
	put_s(l, "\",");
}

/* Decimal, at least `width` digits (zero padded): printf costs half of an append. */
static void put_dec(struct line *l, uint64_t v, int width)
{
	char digits[24];
	int n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v || (int)sizeof(digits) - n < width);
	put(l, digits + n, sizeof(digits) - (size_t)n);
}

static void put_u64(struct line *l, const char *name, uint64_t v)
{
	put_s(l, "\"");
	put_s(l, name);
	put_s(l, "\":");
	put_dec(l, v, 1);
	put_s(l, ",");
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* {"seq":N,"time":"<RFC 3339 UTC, ns>","type":"TYPE", -- the date part is made once a
 * second, records of one second share it. */
static void begin(struct journal *j, struct line *l, int64_t time_ns, const char *type)
{
	time_t sec = (time_t)((time_ns > 0 ? time_ns : 0) / 1000000000);
	struct tm tm;

	if (sec != j->date_sec || !j->date[0]) {
		strftime(j->date, sizeof(j->date), "%Y-%m-%dT%H:%M:%S", gmtime_r(&sec, &tm));
		j->date_sec = sec;
	}
	if (time_ns > j->latest_ns)
		j->latest_ns = time_ns;
	l->len = 0;
	l->overflow = false;
	put_s(l, "{\"seq\":");
	put_dec(l, j->next_seq, 1);
	put_s(l, ",\"time\":\"");
	put_s(l, j->date);
	put_s(l, ".");
	put_dec(l, (uint64_t)((time_ns > 0 ? time_ns : 0) % 1000000000), 9);
	put_s(l, "Z\",\"type\":\"");
	put_s(l, type);
	put_s(l, "\",");
}

static void put_prev(struct line *l, const unsigned char *head)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * JOURNAL_HASH_LEN];

	for (int i = 0; i < JOURNAL_HASH_LEN; i++) {
		hex[2 * i] = digits[head[i] >> 4];
		hex[2 * i + 1] = digits[head[i] & 15];
	}
	put_s(l, "\"prev\":\"");
	put(l, hex, sizeof(hex));
	put_s(l, "\"");
}

static void encode_record(struct line *l, struct journal *j, const struct record *r)
{
	begin(j, l, r->time_ns, "record");
	put_str(l, "contract", r->contract);
	put_str(l, "policy", r->policy);
	put_str(l, "action", r->action);
	put_str(l, "kind", r->kind);
	put_str(l, "verdict", r->verdict);
	put_str(l, "reason", r->reason);
	put_u64(l, "pid", r->pid);
	put_u64(l, "uid", r->uid);
	put_u64(l, "cgroup", r->cgroup);
	put_str(l, "comm", r->comm);
	put_str(l, "exe", r->exe);
	put_str(l, "object", r->object);
	put_u64(l, "counter", r->counter);
	put_prev(l, j->head);
	put_s(l, "}");
}

/* ---- appending ------------------------------------------------------------------------ */

/* Whether the line fits under the bound; entries about the journal itself may use the
 * reserve, records may not. */
static bool fits(const struct journal *j, const struct line *l, bool reserve)
{
	return j->bytes + l->len + 1 <= j->max_bytes - (reserve ? 0 : j->reserve);
}

/* Hashes the finished line, makes it the head of the chain and buffers it. */
static int commit(struct journal *j, const struct line *l)
{
	size_t need = j->len + l->len + 1, cap = j->cap ? j->cap : 65536;
	char *bigger;

	if (l->overflow)
		return -E2BIG;
	if (need > j->cap) {
		while (cap < need)
			cap *= 2;
		bigger = realloc(j->buf, cap);
		if (!bigger)
			return -ENOMEM;
		j->buf = bigger;
		j->cap = cap;
	}
	/* libgcrypt's SM3, about 1.4x OpenSSL 3.0's on a line (journal_bench); readers check
	 * with OpenSSL's: the two agree, or nothing written would verify. */
	gcry_md_hash_buffer(GCRY_MD_SM3, j->head, l->buf, l->len);
	memcpy(j->buf + j->len, l->buf, l->len);
	j->buf[j->len + l->len] = '\n';
	j->len = need;
	j->bytes += l->len + 1;
	j->seg_bytes += l->len + 1;
	j->next_seq++;
	j->n_buffered++;
	return 0;
}

static int append_state(struct journal *j, const char *state)
{
	struct line l;

	begin(j, &l, now_ns(), "journal");
	put_str(&l, "state", state);
	put_u64(&l, "bytes", j->bytes);
	put_u64(&l, "max", j->max_bytes);
	put_prev(&l, j->head);
	put_s(&l, "}");
	return fits(j, &l, true) ? commit(j, &l) : -ENOSPC;
}

/* The signature covers the line up to ,"sig": -- seq, time, counters and the chain's head. */
static int append_checkpoint(struct journal *j)
{
	struct line l;
	uint64_t seq;
	char *sig;
	int err;

	begin(j, &l, now_ns(), "checkpoint");
	put_u64(&l, "lost", j->lost_total);
	put_u64(&l, "unrecorded", j->unrecorded);
	put_prev(&l, j->head);
	sig = pol_sign(j->key, l.buf, l.len);
	if (!sig)
		return -EIO;
	put_s(&l, ",\"sig\":\"");
	put_s(&l, sig);
	put_s(&l, "\"}");
	free(sig);
	if (!fits(j, &l, true))
		return -ENOSPC;
	seq = j->next_seq;
	err = commit(j, &l);
	if (!err) {
		j->checkpoint_seq = seq;
		j->checkpoint_unrecorded = j->unrecorded;
	}
	return err;
}

static void segment_path(const struct journal *j, uint64_t first, const char *suffix,
			 char *buf, size_t size)
{
	snprintf(buf, size, "%s/%020llu.jsonl%s", j->dir, (unsigned long long)first, suffix);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* A new segment named after the next seq, opened by a checkpoint that vouches for all
 * before it. Its name is synced before anything is written into it. */
static int start_segment(struct journal *j)
{
	char path[4096];
	int fd, err;

	segment_path(j, j->next_seq, "", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = sync_dir(j->dir);
	if (err) {
		close(fd);
		(void)unlink(path);
		return err;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->seg_bytes = 0;
	err = append_checkpoint(j);
	return err ? err : journal__sync(j);
}

/* The first record that does not fit: one "full" entry (in the reserve), then refusals. */
static int become_full(struct journal *j)
{
	j->full = true;
	j->unrecorded++;
	if (!append_state(j, "full"))
		(void)journal__sync(j); /* a failure shows in the state */
	return -ENOSPC;
}

int journal__append(struct journal *j, const struct record *r)
{
	struct line l;
	int err;

	if (j->full || j->error || j->sync_error) {
		j->unrecorded++;
		return -ENOSPC;
	}
	if (j->seg_bytes >= j->segment_bytes) {
		err = journal__sync(j);
		if (!err)
			err = start_segment(j);
		if (err == -ENOSPC)
			return become_full(j);
		if (err) {
			j->error = err;
			j->unrecorded++;
			return -ENOSPC;
		}
	}
	encode_record(&l, j, r);
	if (!fits(j, &l, false))
		return become_full(j);
	if (commit(j, &l)) {
		j->unrecorded++;
		return -ENOSPC;
	}
	if (!j->near && j->bytes >= j->max_bytes / 10 * 9) {
		j->near = true;
		(void)append_state(j, "near-full"); /* in the reserve: always fits */
	}
	if (j->n_buffered >= j->batch)
		(void)journal__sync_later(j); /* a failure shows in the state */
	return 0;
}

int journal__lost(struct journal *j, uint64_t total)
{
	uint64_t n = total >= j->lost_total ? total - j->lost_total : total;
	struct line l;
	int err;

	if (!n) {
		j->lost_total = total;
		return 0;
	}
	begin(j, &l, now_ns(), "lost");
	put_u64(&l, "lost", n);
	put_u64(&l, "total", total);
	put_prev(&l, j->head);
	put_s(&l, "}");
	err = fits(j, &l, true) ? commit(j, &l) : -ENOSPC;
	if (!err)
		j->lost_total = total;
	return err;
}

int journal__checkpoint(struct journal *j)
{
	int err;

	if (j->checkpoint_seq + 1 == j->next_seq && j->checkpoint_unrecorded == j->unrecorded)
		return 0;
	err = append_checkpoint(j);
	return err ? err : journal__sync(j);
}

/* ---- writing -------------------------------------------------------------------------- */

int journal__flush(struct journal *j)
{
	size_t done = 0;
	ssize_t n;

	while (done < j->len) {
		n = write(j->fd, j->buf + done, j->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			j->error = n < 0 ? -errno : -EIO;
			/* Take back a partial write: the batch is written again, whole, later. */
			if (done && ftruncate(j->fd, (off_t)(j->seg_bytes - j->len)) < 0)
				j->sync_failed = true;
			return j->error;
		}
		done += (size_t)n;
	}
	j->len = 0;
	j->n_buffered = 0;
	j->written_seq = j->next_seq - 1;
	if (!j->sync_failed)
		j->error = 0;
	return 0;
}

/* The syncer's loop: one fdatasync() per request, outside the lock. Requests that come while
 * one runs are merged into the next. */
static void *sync_loop(void *arg)
{
	struct journal *j = arg;
	uint64_t target;
	int fd, err;

	pthread_mutex_lock(&j->lock);
	while (!j->stopping) {
		if (!j->sync_asked) {
			pthread_cond_wait(&j->wake, &j->lock);
			continue;
		}
		j->sync_asked = false;
		j->syncing = true;
		target = j->sync_target;
		fd = j->fd;
		pthread_mutex_unlock(&j->lock);
		err = fdatasync(fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&j->lock);
		j->syncing = false;
		if (err && !j->sync_error)
			j->sync_error = err;
		else if (!err && !j->sync_error && target > j->synced_seq)
			j->synced_seq = target;
		pthread_cond_broadcast(&j->done);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* The syncer idle, with nothing asked: the writer syncs, or changes the fd, itself. */
static void quiesce(struct journal *j)
{
	pthread_mutex_lock(&j->lock);
	j->sync_asked = false;
	while (j->syncing)
		pthread_cond_wait(&j->done, &j->lock);
	pthread_mutex_unlock(&j->lock);
}

int journal__sync_later(struct journal *j)
{
	int err = journal__flush(j);

	if (err || j->sync_error)
		return err ? err : j->sync_error;
	if (j->synced_seq == j->written_seq)
		return 0;
	pthread_mutex_lock(&j->lock);
	j->sync_target = j->written_seq;
	j->sync_asked = true;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->lock);
	return 0;
}

int journal__sync(struct journal *j)
{
	int err = journal__flush(j);

	if (err)
		return err;
	quiesce(j);
	if (j->synced_seq == j->written_seq && !j->sync_error)
		return 0;
	if (j->sync_failed || j->sync_error || fdatasync(j->fd) < 0) {
		/* After a failed fdatasync() the kernel may have dropped the dirty pages and
		 * a second call succeeds: durability can no longer be promised. */
		j->error = j->sync_failed ? j->error : j->sync_error ? j->sync_error : -errno;
		j->sync_failed = true;
		return j->error;
	}
	j->synced_seq = j->written_seq;
	return 0;
}

bool journal__full(const struct journal *j)
{
	return j->full || j->error || j->sync_error;
}

void journal__status(const struct journal *j, struct journal_status *ret)
{
	*ret = (struct journal_status){
		.state = j->error || j->sync_error ? JOURNAL_FAILED :
			 j->full		   ? JOURNAL_FULL :
			 j->near		   ? JOURNAL_NEAR_FULL :
						     JOURNAL_OK,
		.error = j->error ? j->error : j->sync_error,
		.next_seq = j->next_seq,
		.synced_seq = j->synced_seq,
		.bytes = j->bytes,
		.max_bytes = j->max_bytes,
		.unrecorded = j->unrecorded,
		.lost_total = j->lost_total,
		.torn_bytes = j->torn_bytes,
		.latest_ns = j->latest_ns,
	};
}

/* ---- opening: the tail checked, chain and sequence continued -------------------------- */

/* Takes one good entry: the chain's head and the counters that must go on. */
static void take(struct journal *j, const struct journal_entry *e)
{
	memcpy(j->head, e->hash, JOURNAL_HASH_LEN);
	j->next_seq = e->seq + 1;
	if (e->time_ns > j->latest_ns)
		j->latest_ns = e->time_ns;
	if (e->type == JOURNAL_LOST)
		j->lost_total = e->total;
	if (e->type == JOURNAL_CHECKPOINT) {
		j->lost_total = e->lost;
		j->checkpoint_seq = e->seq;
	}
}

/* The length of the longest prefix of whole lines that chain from the segment's start. */
static size_t good_prefix(struct journal *j, const char *buf, size_t size, uint64_t first)
{
	size_t at = 0;
	const char *nl;

	j->next_seq = first;
	while (at < size && (nl = memchr(buf + at, '\n', size - at))) {
		struct journal_entry e;
		cJSON *doc = NULL;
		bool good = !journal__parse(buf + at, (size_t)(nl - buf - at), &e, &doc) &&
			    e.seq == j->next_seq &&
			    (e.seq == first || !memcmp(e.prev, j->head, JOURNAL_HASH_LEN));

		if (good)
			take(j, &e);
		cJSON_Delete(doc);
		if (!good)
			break;
		at = (size_t)(nl - buf) + 1;
	}
	return at;
}

static int read_all(int fd, char **ret_buf, size_t *ret_size)
{
	struct stat st;
	size_t done = 0;
	ssize_t n;
	char *buf;

	if (fstat(fd, &st) < 0)
		return -errno;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (done < (size_t)st.st_size) {
		n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	*ret_buf = buf;
	*ret_size = done;
	return 0;
}

/* Keeps the cut bytes beside the segment: a torn tail is evidence too. */
static int save_torn(struct journal *j, uint64_t first, const char *buf, size_t len)
{
	char path[4096];
	int fd, err = 0;

	segment_path(j, first, ".torn", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0)
		err = -EIO;
	close(fd);
	return err;
}

/* Continues in segment `first`: -ENODATA when nothing in it chains. */
static int open_segment(struct journal *j, uint64_t first)
{
	char path[4096], *buf = NULL;
	size_t size = 0, good;
	int fd, err;

	segment_path(j, first, "", path, sizeof(path));
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = read_all(fd, &buf, &size);
	if (err)
		goto out;
	good = good_prefix(j, buf, size, first);
	if (good < size) {
		err = save_torn(j, first, buf + good, size - good);
		if (!err && (ftruncate(fd, (off_t)good) < 0 || fdatasync(fd) < 0))
			err = -errno;
		j->torn_bytes += size - good;
	}
	if (!err && !good)
		err = -ENODATA;
	if (!err) {
		j->fd = fd;
		j->seg_bytes = good;
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

/* The last segment with a good entry is continued; empty ones after it are removed. */
static int recover(struct journal *j)
{
	uint64_t *segs = NULL;
	char path[4096];
	size_t n, i;
	int err;

	err = journal__segments(j->dir, &segs, &n);
	for (i = n; !err && i > 0; i--) {
		err = open_segment(j, segs[i - 1]);
		if (err != -ENODATA)
			break;
		segment_path(j, segs[i - 1], "", path, sizeof(path));
		err = unlink(path) < 0 ? -errno : 0;
	}
	if (!err && i == 0 && n && segs[0] > 1)
		err = -EBADMSG; /* entries before the first segment are gone: no head to go on */
	else if (!err && i == 0)
		err = start_segment(j); /* next_seq 1, head zero */
	for (size_t k = 0; !err && k < i; k++) {
		struct stat st;

		segment_path(j, segs[k], "", path, sizeof(path));
		if (stat(path, &st) < 0)
			err = -errno;
		else
			j->bytes += (uint64_t)st.st_size;
	}
	free(segs);
	j->written_seq = j->synced_seq = j->next_seq - 1;
	return err;
}

/* libgcrypt wants to be initialised before use; a second time changes nothing. */
static bool hash_ready(void)
{
	if (!gcry_check_version(GCRYPT_VERSION) || gcry_md_test_algo(GCRY_MD_SM3))
		return false; /* too old, or SM3 disabled (FIPS mode) */
	(void)gcry_control(GCRYCTL_DISABLE_SECMEM, 0); /* no keys here: hashing only */
	(void)gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return true;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

struct journal *journal__open(const struct journal_opts *opts)
{
	struct journal *j = calloc(1, sizeof(*j));
	int err = -ENOMEM;

	if (!j)
		return NULL;
	j->fd = -1;
	j->next_seq = 1;
	j->key = opts->key;
	j->max_bytes = opts->max_bytes;
	j->segment_bytes = opts->segment_bytes ? opts->segment_bytes :
						 clamp(opts->max_bytes / 16, SEGMENT_MIN, SEGMENT_MAX);
	j->reserve = clamp(opts->max_bytes / 16, 0, RESERVE_MAX); /* under the 10% alert */
	j->batch = opts->batch ? opts->batch : BATCH_DEFAULT;
	j->dir = strdup(opts->dir);
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->wake, NULL);
	pthread_cond_init(&j->done, NULL);
	if (j->dir && hash_ready())
		err = mkdir(j->dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
	if (!err)
		err = recover(j);
	/* Near the bound already: the alert again, for this run. */
	if (!err && j->bytes >= j->max_bytes / 10 * 9) {
		j->near = true;
		if (!append_state(j, "near-full"))
			err = journal__sync(j);
	}
	if (!err) {
		err = -pthread_create(&j->syncer, NULL, sync_loop, j);
		j->syncer_running = !err;
	}
	if (err) {
		journal__close(j);
		errno = -err;
		return NULL;
	}
	return j;
}

void journal__close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		(void)journal__sync(j); /* what cannot be written is lost with the process */
	if (j->syncer_running) {
		pthread_mutex_lock(&j->lock);
		j->stopping = true;
		pthread_cond_signal(&j->wake);
		pthread_mutex_unlock(&j->lock);
		pthread_join(j->syncer, NULL);
	}
	if (j->fd >= 0)
		close(j->fd);
	pthread_cond_destroy(&j->done);
	pthread_cond_destroy(&j->wake);
	pthread_mutex_destroy(&j->lock);
	free(j->buf);
	free(j->dir);
	free(j);
}
