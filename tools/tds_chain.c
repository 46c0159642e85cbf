// SPDX-License-Identifier: Apache-2.0
/*
 * The platform's check of a node's journal (docs/journal.md, "Delivery"): every report
 * carries a contiguous range of the node's journal, each entry as its stored line or, for
 * another contract's record, its hash. Each line must hold its seq and the hash of the entry
 * before it (from this report or an earlier one); checkpoints must verify with the node key
 * pinned at first contact; an entry received again must be the same entry. What passes is
 * stored by (node, seq), so duplicates fall away.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <gcrypt.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/policy.h"
#include "tools/tds.h"

struct chain {
	struct tds_db *db;
	const char *node;
	EVP_PKEY *key;
	struct pol_errors *errs;
	unsigned char prev[TDS_HASH_LEN];
	bool prev_known; /* false only at first contact with a node whose journal was cut */
	int64_t last;	 /* the highest seq held before this report: beyond it, nothing to compare */
};

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-case hex, as the journal writes it; by hand: sscanf was a tenth of the platform's
 * time. */
static int unhex(const char *s, unsigned char *out)
{
	for (int i = 0; i < TDS_HASH_LEN; i++) {
		int hi = nibble(s[2 * i]), lo = hi < 0 ? -1 : nibble(s[2 * i + 1]);

		if (lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* The value of "name":"..." in a line of the journal (no escapes in hex, ids or base64). */
static const char *member(const char *line, const char *name, size_t *len)
{
	const char *at = strstr(line, name), *end;

	if (!at)
		return NULL;
	at += strlen(name);
	end = strchr(at, '"');
	*len = end ? (size_t)(end - at) : 0;
	return end ? at : NULL;
}

static bool signed_ok(EVP_PKEY *key, const char *line)
{
	const char *cut = strstr(line, ",\"sig\":\""), *b64;
	unsigned char sig[128];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 0;
	int len = -1, ok = 0;

	b64 = cut ? member(cut, ",\"sig\":\"", &n) : NULL;
	if (b64 && n == 88)
		len = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)n);
	if (len >= 64 && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1)
		ok = EVP_DigestVerify(md, sig, 64, (const unsigned char *)line,
				      (size_t)(cut - line)) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static int fail(struct chain *c, uint64_t seq, const char *what)
{
	pol_errors__add(c->errs, "executionDetails.chain", "entry %" PRIu64 ": %s", seq, what);
	return -EINVAL;
}

/* One line: its seq, its link to the entry before, its signature if it is a checkpoint. */
static int check_line(struct chain *c, uint64_t seq, const char *line, unsigned char *hash,
		      char *contract, size_t size)
{
	unsigned char prev[TDS_HASH_LEN];
	const char *at;
	char head[40];
	size_t n;

	snprintf(head, sizeof(head), "{\"seq\":%" PRIu64 ",", seq);
	if (strncmp(line, head, strlen(head)))
		return fail(c, seq, "not the entry of this seq");
	at = strstr(line, ",\"prev\":\"");
	if (!at || !member(at, ",\"prev\":\"", &n) || n != 2 * TDS_HASH_LEN ||
	    unhex(at + 9, prev) < 0)
		return fail(c, seq, "no prev");
	if (c->prev_known && memcmp(prev, c->prev, TDS_HASH_LEN))
		return fail(c, seq, "the chain breaks: prev is not the hash of the entry before");
	if (strstr(line, ",\"type\":\"checkpoint\",") && !signed_ok(c->key, line))
		return fail(c, seq, "checkpoint signature does not verify with the pinned node key");
	at = member(line, ",\"contract\":\"", &n);
	snprintf(contract, size, "%.*s", at ? (int)n : 0, at ? at : "");
	/* libgcrypt's SM3, as the journal's writer hashes: about half the time of OpenSSL 3.0's
	 * on a line, and the most of what the platform does for a record. */
	gcry_md_hash_buffer(GCRY_MD_SM3, hash, line, strlen(line));
	return 0;
}

/* One element of the chain: a line, or the hash of another contract's record. */
static int accept_one(struct chain *c, uint64_t seq, const char *s)
{
	unsigned char hash[TDS_HASH_LEN], had[TDS_HASH_LEN];
	char contract[64] = "";
	bool line = *s == '{', no_line = false;
	int err;

	err = line ? check_line(c, seq, s, hash, contract, sizeof(contract)) :
		     strlen(s) == 2 * TDS_HASH_LEN ? unhex(s, hash) : -EINVAL;
	if (err)
		return err == -EINVAL && !line ? fail(c, seq, "neither a line nor a hash") : err;
	err = (int64_t)seq > c->last ? -ENOENT :
				       tds_db__record_hash(c->db, c->node, (int64_t)seq, had, &no_line);
	if (!err && memcmp(had, hash, TDS_HASH_LEN))
		return fail(c, seq, "differs from the entry received before (edited or replaced)");
	if (err == -ENOENT || (!err && line && no_line))
		err = tds_db__put_record(c->db, c->node, (int64_t)seq, contract, hash,
					 line ? s : NULL, strlen(s));
	memcpy(c->prev, hash, TDS_HASH_LEN);
	c->prev_known = true;
	return err;
}

static EVP_PKEY *node_key(const char *b64)
{
	size_t n = strlen(b64);
	unsigned char *der = malloc(n);
	const unsigned char *p = der;
	int len = der ? EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n) : -1;
	EVP_PKEY *key = len > 0 ? d2i_PUBKEY(NULL, &p, len) : NULL;

	free(der);
	return key;
}

/* Where the report's range starts: the hash of the entry before, unless this is the
 * node's first report and its journal does not start at 1. */
static int start(struct chain *c, uint64_t from)
{
	bool no_line;
	int err;

	memset(c->prev, 0, sizeof(c->prev));
	c->prev_known = true;
	if (from == 1)
		return 0;
	err = tds_db__record_hash(c->db, c->node, (int64_t)from - 1, c->prev, &no_line);
	if (err != -ENOENT)
		return err;
	c->prev_known = false;
	if (tds_db__record_hash(c->db, c->node, 1, c->prev, &no_line) == -ENOENT)
		return 0; /* nothing from this node yet */
	pol_errors__add(c->errs, "executionDetails.from", "entries before %" PRIu64
			" were never received: the chain has a gap", from);
	return -EINVAL;
}

int tds_chain__accept(struct tds_db *db, const char *node, const cJSON *details,
		      struct pol_errors *errs)
{
	const cJSON *chain = cJSON_GetObjectItemCaseSensitive(details, "chain"), *e;
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(details, "from");
	const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(details, "nodeKey"));
	struct chain c = { .db = db, .node = node, .errs = errs };
	const char *checkpoint = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(details, "checkpoint"));
	uint64_t seq;
	int began, err;

	if (!cJSON_IsArray(chain) || !cJSON_IsNumber(from) || from->valuedouble < 1 || !b64 ||
	    !(c.key = node_key(b64))) {
		pol_errors__add(errs, "executionDetails", "from, nodeKey and chain required");
		return -EINVAL;
	}
	err = began = tds_db__begin(db);
	if (!err && (err = tds_db__pin_key(db, node, b64)) == -EPERM)
		pol_errors__add(errs, "executionDetails.nodeKey", "not the key pinned for %s",
				node);
	seq = (uint64_t)from->valuedouble;
	if (!err && checkpoint && !signed_ok(c.key, checkpoint)) {
		pol_errors__add(errs, "executionDetails.checkpoint", "the signature does not "
				"verify with the pinned node key");
		err = -EINVAL;
	}
	if (!err)
		err = tds_db__last_seq(db, node, &c.last);
	if (!err)
		err = start(&c, seq);
	cJSON_ArrayForEach(e, chain) {
		if (err)
			break;
		err = cJSON_IsString(e) ? accept_one(&c, seq++, e->valuestring) :
					  fail(&c, seq, "neither a line nor a hash");
	}
	if (!began)
		err = tds_db__end(db, !err) ?: err;
	EVP_PKEY_free(c.key);
	return err;
}
