/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tds-platform, the reference data-space platform: a client that pushes contracts to nodes and
 * terminates them (tds_client.c), a server that receives the nodes' reports and notices
 * (tds_serve.c), and the platform's SQLite database (tds_db.c).
 */
#ifndef PEP_TDS_H
#define PEP_TDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes: 0 done, 1 refused or invalid, 2 usage or I/O error. */
enum { TDS_OK = 0, TDS_REFUSED = 1, TDS_USAGE = 2 };

struct tds_opts {
	const char *listen, *db, *cert, *key, *ca, *trust, *contract, *type;
	bool json;
	char **args; /* the positional arguments after the command */
	int n_args;
};

int tds_serve(const struct tds_opts *o);
int tds_push(const struct tds_opts *o);
int tds_terminate(const struct tds_opts *o);
int tds_reports(const struct tds_opts *o);

/* Prints the usage of one command to stderr; returns TDS_USAGE. */
int tds_usage(const char *command);
/* Reads a whole file into a NUL-terminated buffer; 0 or -errno. */
int tds_read_file(const char *path, char **ret_buf, size_t *ret_len);

/* ---- the platform's database ----------------------------------------------------------- */

struct tds_db;

struct tds_db *tds_db__open(const char *path);
void tds_db__close(struct tds_db *db);
/* The contracts this platform pushed, by id: the body, where and in which state. */
int tds_db__add_contract(struct tds_db *db, const char *id, const char *agent, const char *body);
/* The body pushed last for id (malloc'd); -ENOENT when none. */
int tds_db__get_contract(struct tds_db *db, const char *id, char **ret_body);
int tds_db__set_terminated(struct tds_db *db, const char *id, const char *proof_json);
/* What nodes sent: interface, contract, the sender (its certificate's CN), the verdict on
 * its signatures, the body. */
int tds_db__add_received(struct tds_db *db, const char *interface, const char *contract_id,
			 const char *peer, const char *verdict, const char *body);

/* 0 when the same body came from peer on interface before; -ENOENT when not. */
int tds_db__find_received(struct tds_db *db, const char *interface, const char *peer,
			  const char *body);

struct tds_received {
	int64_t seq, time;
	const char *interface, *contract_id, *peer, *verdict, *body;
};

/* Calls cb for everything received (about contract_id only, when given), oldest first. */
int tds_db__for_each_received(struct tds_db *db, const char *contract_id,
			      int (*cb)(const struct tds_received *r, void *ctx), void *ctx);

/* ---- behaviour records (tds_chain.c checks them; docs/journal.md, "Delivery") ---------- */

#define TDS_HASH_LEN 32 /* SM3 */

/* A transaction around one report's records: all of them or none. */
int tds_db__begin(struct tds_db *db);
int tds_db__end(struct tds_db *db, bool commit);
/* Pins node's key at first contact; -EPERM when another one is pinned. */
int tds_db__pin_key(struct tds_db *db, const char *node, const char *key);
/* The hash of entry seq of node, and whether only the hash is known; -ENOENT when neither. */
int tds_db__record_hash(struct tds_db *db, const char *node, int64_t seq, unsigned char *hash,
			bool *ret_no_line);
/* The highest seq held of node: 0 when none. */
int tds_db__last_seq(struct tds_db *db, const char *node, int64_t *ret_seq);
/* Stores an entry (line NULL: its hash only), replacing what was there. */
int tds_db__put_record(struct tds_db *db, const char *node, int64_t seq, const char *contract,
		       const unsigned char *hash, const char *line, size_t len);

struct tds_record {
	const char *node, *contract, *line;
	int64_t seq;
};

/* Calls cb for each entry received in full (of contract and of no contract, when contract is
 * given), by node and seq. */
int tds_db__for_each_record(struct tds_db *db, const char *contract,
			    int (*cb)(const struct tds_record *r, void *ctx), void *ctx);
/* Checks a report's executionDetails (from, nodeKey, checkpoint, chain) against what node
 * sent before and stores its entries. 0, or -EINVAL with the reason in errs. */
struct pol_errors;
struct cJSON;
int tds_chain__accept(struct tds_db *db, const char *node, const struct cJSON *details,
		      struct pol_errors *errs);

#endif /* PEP_TDS_H */
