// SPDX-License-Identifier: Apache-2.0
/* The platform's database: SQLite (WAL), shared by `serve` and the one-shot commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "tools/tds.h"

/* `serve` writes while a command reads or writes: wait for the lock rather than fail. */
#define BUSY_TIMEOUT_MS 5000

struct tds_db {
	sqlite3 *db;
	sqlite3_stmt *get_hash, *put_record; /* prepared once: every record goes through them */
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS contracts ("
	"  id TEXT PRIMARY KEY, agent TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL,"
	"  proof TEXT, time INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS received ("
	"  seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, interface TEXT NOT NULL,"
	"  contract_id TEXT NOT NULL, peer TEXT NOT NULL, verdict TEXT NOT NULL,"
	"  body TEXT NOT NULL);"
	/* Behaviour records by node and journal seq; line is NULL while only the hash is known
	 * (another contract's record, from a report to a contract that is not its own). */
	"CREATE TABLE IF NOT EXISTS records ("
	"  node TEXT NOT NULL, seq INTEGER NOT NULL, contract TEXT NOT NULL, hash BLOB NOT NULL,"
	"  line TEXT, PRIMARY KEY (node, seq)) WITHOUT ROWID;"
	/* The node key that signs each node's checkpoints, pinned at first contact. */
	"CREATE TABLE IF NOT EXISTS nodes (node TEXT PRIMARY KEY, key TEXT NOT NULL);";

static int sqlite_errno(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	default:
		return -EIO;
	}
}

struct tds_db *tds_db__open(const char *path)
{
	struct tds_db *db = calloc(1, sizeof(*db));
	int rc;

	if (!db)
		return NULL;
	rc = sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db->db, schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db->db, "SELECT hash, line IS NULL FROM records "
					"WHERE node = ? AND seq = ?", -1, &db->get_hash, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO records VALUES "
					"(?, ?, ?, ?, ?)", -1, &db->put_record, NULL);
	if (rc != SQLITE_OK) {
		errno = -sqlite_errno(rc);
		tds_db__close(db);
		return NULL;
	}
	return db;
}

void tds_db__close(struct tds_db *db)
{
	if (!db)
		return;
	sqlite3_finalize(db->get_hash);
	sqlite3_finalize(db->put_record);
	sqlite3_close(db->db);
	free(db);
}

/* One statement; its parameters are strings, with the time now as ?1. */
static int exec(struct tds_db *db, const char *sql, int n, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	rc = sqlite3_prepare_v2(db->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 2, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int tds_db__add_contract(struct tds_db *db, const char *id, const char *agent, const char *body)
{
	return exec(db, "INSERT OR REPLACE INTO contracts VALUES (?2, ?3, ?4, 'pushed', NULL, ?1)",
		    3, id, agent, body);
}

int tds_db__set_terminated(struct tds_db *db, const char *id, const char *proof_json)
{
	return exec(db, "UPDATE contracts SET state = 'terminated', proof = ?3, time = ?1 "
			"WHERE id = ?2", 2, id, proof_json);
}

int tds_db__add_received(struct tds_db *db, const char *interface, const char *contract_id,
			 const char *peer, const char *verdict, const char *body)
{
	return exec(db, "INSERT INTO received (time, interface, contract_id, peer, verdict, body) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6)", 5, interface, contract_id, peer,
		    verdict, body);
}

int tds_db__find_received(struct tds_db *db, const char *interface, const char *peer,
			  const char *body)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db->db, "SELECT 1 FROM received WHERE interface = ? AND peer = ? "
				"AND body = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, interface, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
}

int tds_db__get_contract(struct tds_db *db, const char *id, char **ret_body)
{
	sqlite3_stmt *st;
	char *body = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db->db, "SELECT body FROM contracts WHERE id = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		body = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	if (!body)
		return -ENOMEM;
	*ret_body = body;
	return 0;
}

int tds_db__for_each_received(struct tds_db *db, const char *contract_id,
			      int (*cb)(const struct tds_received *r, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(db->db,
				"SELECT seq, time, interface, contract_id, peer, verdict, body "
				"FROM received WHERE ?1 IS NULL OR contract_id = ?1 ORDER BY seq",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, contract_id, -1, SQLITE_STATIC);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tds_received row = {
			.seq = sqlite3_column_int64(st, 0),
			.time = sqlite3_column_int64(st, 1),
			.interface = (const char *)sqlite3_column_text(st, 2),
			.contract_id = (const char *)sqlite3_column_text(st, 3),
			.peer = (const char *)sqlite3_column_text(st, 4),
			.verdict = (const char *)sqlite3_column_text(st, 5),
			.body = (const char *)sqlite3_column_text(st, 6),
		};

		r = cb(&row, ctx);
	}
	sqlite3_finalize(st);
	return r ? r : sqlite_errno(rc);
}

int tds_db__begin(struct tds_db *db)
{
	return sqlite_errno(sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
}

int tds_db__end(struct tds_db *db, bool commit)
{
	return sqlite_errno(sqlite3_exec(db->db, commit ? "COMMIT" : "ROLLBACK", NULL, NULL,
					 NULL));
}

int tds_db__pin_key(struct tds_db *db, const char *node, const char *key)
{
	sqlite3_stmt *st;
	int rc, err;

	err = exec(db, "INSERT OR IGNORE INTO nodes VALUES (?2, ?3)", 2, node, key);
	if (err)
		return err;
	rc = sqlite3_prepare_v2(db->db, "SELECT key = ?2 FROM nodes WHERE node = ?1", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	err = rc == SQLITE_ROW ? (sqlite3_column_int(st, 0) ? 0 : -EPERM) : sqlite_errno(rc);
	sqlite3_finalize(st);
	return err;
}

int tds_db__record_hash(struct tds_db *db, const char *node, int64_t seq, unsigned char *hash,
			bool *ret_no_line)
{
	sqlite3_stmt *st = db->get_hash;
	int rc, err = -ENOENT;

	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == TDS_HASH_LEN) {
		memcpy(hash, sqlite3_column_blob(st, 0), TDS_HASH_LEN);
		*ret_no_line = sqlite3_column_int(st, 1);
		err = 0;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = sqlite_errno(rc);
	}
	sqlite3_reset(st);
	return err;
}

int tds_db__last_seq(struct tds_db *db, const char *node, int64_t *ret_seq)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db->db, "SELECT ifnull(max(seq), 0) FROM records WHERE node = ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sqlite_errno(rc);
}

int tds_db__put_record(struct tds_db *db, const char *node, int64_t seq, const char *contract,
		       const unsigned char *hash, const char *line, size_t len)
{
	sqlite3_stmt *st = db->put_record;
	int rc;

	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, contract, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, hash, TDS_HASH_LEN, SQLITE_STATIC);
	if (line)
		sqlite3_bind_text(st, 5, line, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return sqlite_errno(rc);
}

int tds_db__for_each_record(struct tds_db *db, const char *contract,
			    int (*cb)(const struct tds_record *r, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(db->db,
				"SELECT node, seq, contract, line FROM records WHERE line IS NOT NULL"
				" AND (?1 IS NULL OR contract IN (?1, '')) ORDER BY node, seq",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, contract, -1, SQLITE_STATIC);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tds_record row = {
			.node = (const char *)sqlite3_column_text(st, 0),
			.seq = sqlite3_column_int64(st, 1),
			.contract = (const char *)sqlite3_column_text(st, 2),
			.line = (const char *)sqlite3_column_text(st, 3),
		};

		r = cb(&row, ctx);
	}
	sqlite3_finalize(st);
	return r ? r : sqlite_errno(rc);
}
