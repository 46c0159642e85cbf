// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "agent/store.h"

struct store {
	sqlite3 *db;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS contracts ("
	"  id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, hash TEXT NOT NULL,"
	"  state TEXT NOT NULL, slot INTEGER NOT NULL, PRIMARY KEY (id, version));"
	"CREATE TABLE IF NOT EXISTS history ("
	"  id TEXT NOT NULL, time INTEGER NOT NULL, state TEXT NOT NULL, cause TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS bindings ("
	"  product TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (product, target));"
	"CREATE TABLE IF NOT EXISTS copies ("
	"  id TEXT NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL, path TEXT NOT NULL,"
	"  PRIMARY KEY (id, dev, ino));"
	"CREATE TABLE IF NOT EXISTS proofs ("
	"  id TEXT NOT NULL, time INTEGER NOT NULL, proof TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS notices ("
	"  digest TEXT PRIMARY KEY, id TEXT NOT NULL, time INTEGER NOT NULL);"
	/* Expiry notices to the platform not confirmed yet; body is NULL until built. */
	"CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, body TEXT);";

/* SQLite result codes are not errnos; the callers only need to know what kind of failure. */
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
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

struct store *store__open(const char *path)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return NULL;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		errno = -sqlite_errno(rc);
		store__close(s);
		return NULL;
	}
	return s;
}

void store__close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

/* Runs one statement with text/integer parameters: "t" binds a string, "i" an integer. */
static int exec(struct store *s, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

static int in_transaction(struct store *s, int r)
{
	(void)sqlite3_exec(s->db, r ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	return r;
}

int store__add_contract(struct store *s, const char *id, const char *body, const char *hash,
			const char *state, int slot, const char *cause)
{
	int r;

	r = exec(s, "BEGIN IMMEDIATE", "");
	if (r)
		return r;
	r = exec(s,
		 "INSERT INTO contracts SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2, ?3, ?4, ?5 "
		 "FROM contracts WHERE id = ?1",
		 "tttti", id, body, hash, state, (int64_t)slot);
	if (!r)
		r = exec(s, "INSERT INTO history VALUES (?, ?, ?, ?)", "titt", id,
			 (int64_t)time(NULL), state, cause);
	return in_transaction(s, r);
}

int store__set_state(struct store *s, const char *id, const char *state, int slot,
		     const char *cause)
{
	int r;

	r = exec(s, "BEGIN IMMEDIATE", "");
	if (r)
		return r;
	r = exec(s,
		 "UPDATE contracts SET state = ?2, slot = ?3 WHERE id = ?1 AND version = "
		 "(SELECT MAX(version) FROM contracts WHERE id = ?1)",
		 "tti", id, state, (int64_t)slot);
	if (!r && !sqlite3_changes(s->db))
		r = -ENOENT;
	if (!r)
		r = exec(s, "INSERT INTO history VALUES (?, ?, ?, ?)", "titt", id,
			 (int64_t)time(NULL), state, cause);
	return in_transaction(s, r);
}

static int query_contracts(struct store *s, const char *id,
			   int (*cb)(const struct stored_contract *c, void *ctx), void *ctx)
{
	static const char sql[] =
		"SELECT id, version, state, slot, body, hash FROM contracts c WHERE version = "
		"(SELECT MAX(version) FROM contracts WHERE id = c.id) AND (?1 IS NULL OR id = ?1) "
		"ORDER BY id";
	sqlite3_stmt *st;
	int rc, r = 0, rows = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct stored_contract c = {
			.id = (const char *)sqlite3_column_text(st, 0),
			.version = sqlite3_column_int(st, 1),
			.state = (const char *)sqlite3_column_text(st, 2),
			.slot = sqlite3_column_int(st, 3),
			.body = (const char *)sqlite3_column_text(st, 4),
			.hash = (const char *)sqlite3_column_text(st, 5),
		};

		rows++;
		r = cb(&c, ctx);
	}
	if (!r)
		r = sqlite_errno(rc);
	sqlite3_finalize(st);
	return !r && id && !rows ? -ENOENT : r;
}

int store__for_each_contract(struct store *s, int (*cb)(const struct stored_contract *c, void *ctx),
			     void *ctx)
{
	return query_contracts(s, NULL, cb, ctx);
}

int store__get_contract(struct store *s, const char *id,
			int (*cb)(const struct stored_contract *c, void *ctx), void *ctx)
{
	return query_contracts(s, id, cb, ctx);
}

int store__for_each_change(struct store *s, const char *id,
			   int (*cb)(int64_t time, const char *state, const char *cause, void *ctx),
			   void *ctx)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT time, state, cause FROM history WHERE id = ? ORDER BY rowid",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = cb(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2), ctx);
	sqlite3_finalize(st);
	return r ? r : sqlite_errno(rc);
}

int store__add_binding(struct store *s, const char *product, const char *target)
{
	return exec(s, "INSERT OR IGNORE INTO bindings VALUES (?, ?)", "tt", product, target);
}

int store__for_each_binding(struct store *s, const char *product,
			    int (*cb)(const char *product, const char *target, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT product, target FROM bindings WHERE ?1 IS NULL OR "
				"product = ?1 ORDER BY product, target",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = cb((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), ctx);
	sqlite3_finalize(st);
	return r ? r : sqlite_errno(rc);
}

/* One integer from a query with one or two text parameters; -ENOENT when there is no row. */
static int query_int(struct store *s, const char *sql, const char *a, const char *b,
		     int64_t *ret)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
}

int store__find_version(struct store *s, const char *id, const char *hash, int *ret_version)
{
	int64_t v;
	int r = query_int(s, "SELECT MAX(version) FROM contracts WHERE id = ? AND hash = ? "
			     "HAVING COUNT(*) > 0", id, hash, &v);

	if (!r)
		*ret_version = (int)v;
	return r;
}

int store__add_notice(struct store *s, const char *digest, const char *id)
{
	return exec(s, "INSERT INTO notices VALUES (?, ?, ?)", "tti", digest, id,
		    (int64_t)time(NULL));
}

int store__find_notice(struct store *s, const char *digest, int64_t *ret_time)
{
	return query_int(s, "SELECT time FROM notices WHERE digest = ?", digest, NULL, ret_time);
}

int store__queue_outgoing(struct store *s, const char *id)
{
	return exec(s, "INSERT OR IGNORE INTO outbox VALUES (?, NULL)", "t", id);
}

int store__set_outgoing(struct store *s, const char *id, const char *body)
{
	return exec(s, "UPDATE outbox SET body = ? WHERE id = ?", "tt", body, id);
}

int store__drop_outgoing(struct store *s, const char *id)
{
	return exec(s, "DELETE FROM outbox WHERE id = ?", "t", id);
}

int store__next_outgoing(struct store *s, char **ret_id, char **ret_body)
{
	sqlite3_stmt *st;
	const char *body;
	char *id = NULL, *copy = NULL;
	int rc, err;

	rc = sqlite3_prepare_v2(s->db, "SELECT id, body FROM outbox ORDER BY rowid LIMIT 1", -1,
				&st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	rc = sqlite3_step(st);
	err = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	if (!err) {
		body = (const char *)sqlite3_column_text(st, 1);
		id = strdup((const char *)sqlite3_column_text(st, 0));
		copy = body ? strdup(body) : NULL;
		err = !id || (body && !copy) ? -ENOMEM : 0;
	}
	sqlite3_finalize(st);
	if (err) {
		free(id);
		free(copy);
		return err;
	}
	*ret_id = id;
	*ret_body = copy;
	return 0;
}

int store__add_proof(struct store *s, const char *id, const char *proof_json)
{
	return exec(s, "INSERT INTO proofs VALUES (?, ?, ?)", "tit", id, (int64_t)time(NULL),
		    proof_json);
}

int store__get_proof(struct store *s, const char *id, char **ret_json)
{
	sqlite3_stmt *st;
	char *json = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT proof FROM proofs WHERE id = ? ORDER BY rowid DESC LIMIT 1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		json = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	if (!json)
		return -ENOMEM;
	*ret_json = json;
	return 0;
}

int store__add_copy(struct store *s, const char *id, uint64_t dev, uint64_t ino, const char *path)
{
	return exec(s, "INSERT OR REPLACE INTO copies VALUES (?, ?, ?, ?)", "tiit", id,
		    (int64_t)dev, (int64_t)ino, path);
}

int store__copy_path(struct store *s, const char *id, uint64_t dev, uint64_t ino, char **ret_path)
{
	sqlite3_stmt *st;
	char *path = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT path FROM copies WHERE id = ? AND dev = ? AND ino = ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)dev);
	sqlite3_bind_int64(st, 3, (int64_t)ino);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		path = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	if (!path)
		return -ENOMEM;
	*ret_path = path;
	return 0;
}
