/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The journal: every behaviour record, append-only, in a hash chain, on disk (docs/journal.md).
 *
 * Files: DIR/<first seq, 20 digits>.jsonl, segments of one JSON object per line. Every line
 * starts {"seq":N,"time":"<RFC 3339 UTC, ns>","type":"<type>", and ends "prev":"<hex>"} (a
 * checkpoint: ...,"prev":"<hex>","sig":"<base64>"}). Members appear in a fixed order, no
 * white space, bytes outside printable ASCII in strings written as \u00XX.
 *
 * The chain: the hash of an entry is SM3 of its line exactly as stored, without the newline.
 * "prev" holds the hash of the entry before (64 zeros before seq 1), so each entry's hash
 * covers every entry before it. Sequence numbers count every entry, from 1, without gaps.
 *
 * Checkpoints: the node key's Ed25519 signature over the checkpoint's line up to (without)
 * ,"sig": -- its seq, time, counters and "prev", the head of the chain it vouches for. One
 * opens every segment; more follow at an interval the caller drives, and at shutdown.
 *
 * Durability: appended entries wait in memory; journal__flush() writes them (they survive the
 * agent's death), journal__sync() also fdatasync()s them (they survive power loss), and
 * journal__sync_later() has a thread of the journal do the fdatasync() (a full batch does that).
 * Every other function is for one thread, the writer's. Opening
 * keeps the longest prefix of the last segment that chains, and cuts the rest (a torn tail),
 * keeping the cut bytes beside it in DIR/<segment>.torn.
 *
 * Bound: all segments together stay under max_bytes. At 90% the journal writes a "journal"
 * entry (state near-full); when a record no longer fits, one more (state full) in a reserve
 * kept for it and for checkpoints, and from then on refuses records (-ENOSPC) and counts them.
 * The writer logs nothing: it returns codes and states (agent/records.c logs). A library of its
 * own below agent/ and tools/: the agent writes the journal, pepctl checks it with the same code.
 */
#ifndef PEP_JOURNAL_H
#define PEP_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define JOURNAL_HASH_LEN 32 /* SM3 */

struct cJSON;

/* A decision of the kernel, as journaled. Strings are NUL-terminated and may be truncated. */
struct record {
	uint64_t seq;		  /* set when read back; the journal numbers what it appends */
	int64_t time_ns;	  /* wall clock */
	char contract[48];	  /* "" when the slot is not (or no longer) known */
	char policy[64];	  /* policyId of the contract's policy the check comes from */
	char action[32];	  /* that policy's action (read, distribute, delete, ...) */
	const char *kind;	  /* allowed, counted, denied, exhausted, derived, added, ... */
	const char *verdict;	  /* allow or deny */
	const char *reason;	  /* why, for a refusal */
	uint32_t pid, uid;
	uint64_t cgroup;
	uint64_t counter;	  /* uses in the window, for counted and exhausted */
	char comm[16];
	char exe[48];		  /* "dev:ino" of the executable */
	char object[96];	  /* "file dev:ino" or "tcp ADDR:PORT" */
};

enum journal_type {
	JOURNAL_RECORD,	    /* a decision: struct record */
	JOURNAL_LOST,	    /* "lost": records the kernel could not hand over; "total" so far */
	JOURNAL_STATE,	    /* "state": the journal reached near-full or full; "bytes", "max" */
	JOURNAL_CHECKPOINT, /* "lost", "unrecorded" (records refused while full), signed */
};

enum journal_state { JOURNAL_OK, JOURNAL_NEAR_FULL, JOURNAL_FULL, JOURNAL_FAILED };

/* One entry as read back. Pointers are valid during the callback only. */
struct journal_entry {
	enum journal_type type;
	uint64_t seq;
	int64_t time_ns;
	struct record rec;     /* JOURNAL_RECORD */
	uint64_t lost, total;  /* JOURNAL_LOST; CHECKPOINT: lost = kernel total, total = unrecorded */
	const char *state;     /* JOURNAL_STATE */
	uint64_t bytes, max;   /* JOURNAL_STATE */
	const char *sig;       /* JOURNAL_CHECKPOINT: base64 */
	unsigned char prev[JOURNAL_HASH_LEN], hash[JOURNAL_HASH_LEN];
	const char *line;      /* as stored, without the newline */
	size_t len;
};

struct journal_opts {
	const char *dir;	/* made (0700) when missing */
	uint64_t max_bytes;	/* bound of all segments together */
	uint64_t segment_bytes; /* 0: max_bytes / 16, within 64 KiB .. 16 MiB */
	unsigned batch;		/* records kept in memory before a sync; 0: 256 */
	EVP_PKEY *key;		/* signs checkpoints; borrowed */
};

struct journal_status {
	enum journal_state state;
	int error;		 /* -errno of the failure, with JOURNAL_FAILED */
	uint64_t next_seq;	 /* the seq of the next entry */
	uint64_t synced_seq;	 /* entries up to this one are fdatasync'd */
	uint64_t bytes, max_bytes;
	uint64_t unrecorded;	 /* records refused since the journal became full (this run) */
	uint64_t lost_total;	 /* the kernel's loss counter as last journaled */
	uint64_t torn_bytes;	 /* cut from the tail at open */
	int64_t latest_ns;	 /* the latest wall time of an entry, ns; 0: none */
};

struct journal;

/* Opens DIR, checks and repairs its tail, continues chain and sequence. NULL and errno. */
struct journal *journal__open(const struct journal_opts *opts);
/* Syncs what is buffered and closes (no checkpoint: call journal__checkpoint first). */
void journal__close(struct journal *j);

/* Appends a record (seq and hash given here); syncs later when `batch` records wait. 0, or -ENOSPC
 * when the journal is full or failed (the record is not kept, only counted in unrecorded). */
int journal__append(struct journal *j, const struct record *r);
/* Writes a "lost" entry when the kernel's loss counter `total` grew since the last one
 * (a counter that went back was reset: all of it counts). */
int journal__lost(struct journal *j, uint64_t total);
/* Appends a signed checkpoint and syncs, unless nothing was appended since the last one. */
int journal__checkpoint(struct journal *j);
/* write(): buffered entries into the file (survive the process). */
int journal__flush(struct journal *j);
/* write() and fdatasync() (survive power loss), waiting for the disk. */
int journal__sync(struct journal *j);
/* write() now, fdatasync() on the journal's own thread: the caller does not wait for the disk;
 * journal_status.synced_seq says how far it got, a failure makes the state JOURNAL_FAILED. */
int journal__sync_later(struct journal *j);
/* Whether records can no longer be recorded (full or failed): the guards' "refuse" hook. */
bool journal__full(const struct journal *j);
void journal__status(const struct journal *j, struct journal_status *ret);

/* ---- reading: journal_read.c (also linked into pepctl) ------------------------------- */

typedef int (*journal_fn)(const struct journal_entry *e, void *ctx);

/* The segments of DIR in order, by first seq (malloc'd array). 0 or -errno. */
int journal__segments(const char *dir, uint64_t **ret_first, size_t *ret_n);
/* Parses one line (without its newline) and hashes it. 0 or -EBADMSG. `e` points into `*doc`
 * (free it with cJSON_Delete after use, also on failure). */
int journal__parse(const char *line, size_t len, struct journal_entry *e, struct cJSON **doc);
/* Calls fn for each complete entry with seq >= from, in order, until the end of what is
 * written or fn returns non-zero (returned). -EBADMSG at a line that does not parse. */
int journal__read(const char *dir, uint64_t from, journal_fn fn, void *ctx);

/* Where a journal__scan() stopped: the next entry's seq and where its line starts. */
struct journal_pos {
	uint64_t seq;	  /* 0: nowhere yet */
	uint64_t segment; /* the first seq of its segment */
	long offset;	  /* of its line in that segment */
};

/* journal__read() for code that forwards lines to a receiver that checks the chain: the
 * lines are neither parsed nor hashed, fn gets seq, type, a record's contract and the line
 * (the rest zero). When pos is about `from`, the reading starts where it says instead of at
 * the start of the segment; pos (may be NULL) is then set to follow the last entry fn took.
 * -EBADMSG at a line without seq or type. */
int journal__scan(const char *dir, uint64_t from, struct journal_pos *pos, journal_fn fn,
		  void *ctx);
/* The SM3 hash of a line as stored, without its newline (the chain's hash). 0 or -ENOMEM. */
int journal__hash(const char *line, size_t len, unsigned char *ret_hash);

struct journal_verdict {
	bool ok;
	uint64_t entries, records, checkpoints;
	uint64_t first_seq, last_seq, last_checkpoint; /* 0: none */
	uint64_t bad_seq;	/* with !ok: the entry named in `what` */
	bool torn;		/* the last line is incomplete (being written, or torn) */
	char what[256];		/* with !ok: what is wrong, in plain words */
	char file[64];		/* with !ok: the segment where it was found */
};

/* Checks the chain, the sequence and every checkpoint's signature with `key`. 0 when the
 * check ran (the result in *ret), -errno when it could not. */
int journal__verify(const char *dir, EVP_PKEY *key, struct journal_verdict *ret);

#endif /* PEP_JOURNAL_H */
