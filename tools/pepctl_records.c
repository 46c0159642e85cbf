// SPDX-License-Identifier: Apache-2.0
/*
 * pepctl records: the journal of behaviour records, through the agent (listing, --follow),
 * and `records verify`, which reads the journal's files itself: it must work on a copy, and
 * without the agent whose journal it checks. The journal's format is its reader's
 * (journal/journal_read.c, linked in), so writer and checker cannot disagree about it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/pem.h>

#include "journal/journal.h"
#include "tools/pepctl.h"

#define FOLLOW_POLL_US 300000 /* --follow asks again this often: replies are one line each */

static const char *str(const cJSON *o, const char *name)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));

	return s ? s : "-";
}

static double num(const cJSON *o, const char *name)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(o, name));
}

/* ---- listing -------------------------------------------------------------------------- */

static void print_entry(const cJSON *e)
{
	const char *type = str(e, "type"), *reason = str(e, "reason");

	printf("%6.0f %s ", num(e, "seq"), str(e, "time"));
	if (!strcmp(type, "record"))
		printf("%-5s %-9s pid %-7.0f uid %-5.0f %-15s %s [%s %s] %s%s%s\n",
		       str(e, "verdict"), str(e, "kind"), num(e, "pid"), num(e, "uid"),
		       str(e, "comm"), str(e, "contract"), str(e, "policy"), str(e, "action"),
		       str(e, "object"), *reason ? ": " : "", reason);
	else if (!strcmp(type, "lost"))
		printf("LOST  %.0f records the kernel could not hand over (%.0f in all)\n",
		       num(e, "lost"), num(e, "total"));
	else if (!strcmp(type, "journal"))
		printf("ALERT journal %s: %.0f of %.0f bytes\n", str(e, "state"), num(e, "bytes"),
		       num(e, "max"));
	else
		printf("checkpoint signed by the node key, chain head %.16s...\n", str(e, "head"));
}

/* Prints one page as it comes: plain lines, or JSON lines with --follow --json. */
static void print_page(const cJSON *reply, bool json_lines)
{
	const cJSON *e;
	char *text;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(reply, "records")) {
		if (!json_lines) {
			print_entry(e);
			continue;
		}
		text = cJSON_PrintUnformatted(e);
		printf("%s\n", text ? text : "{}");
		free(text);
	}
	fflush(stdout);
}

/* One request: the page from `since` on. NULL when the agent could not be asked. */
static cJSON *ask(const char *contract, double since)
{
	cJSON *req = pepctl_request("records");

	if (contract)
		cJSON_AddStringToObject(req, "contract", contract);
	cJSON_AddNumberToObject(req, "since", since);
	return pepctl_call(req);
}

/* Pages until the end (--follow: for ever, polling; otherwise up to the journal's last entry
 * when it was first asked); --json without --follow collects every page into one reply, as
 * other commands print. */
static int list(const char *contract, double since, bool follow)
{
	bool collect = pepctl_json && !follow;
	cJSON *all = NULL, *reply, *e;
	double end = -1; /* without --follow: the journal's last entry at the first reply */

	for (;;) {
		reply = ask(contract, since);
		if (!reply || !cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok")))
			return pepctl_finish(reply, NULL); /* prints the error */
		if (end < 0 && !follow)
			end = num(reply, "head");
		since = num(reply, "next");
		if (collect && all)
			while ((e = cJSON_DetachItemFromArray(cJSON_GetObjectItem(reply, "records"), 0)))
				cJSON_AddItemToArray(cJSON_GetObjectItem(all, "records"), e);
		else if (!collect)
			print_page(reply, pepctl_json);
		if (cJSON_IsTrue(cJSON_GetObjectItem(reply, "more")) && (follow || !(since > end))) {
			if (collect && !all)
				all = reply;
			else
				cJSON_Delete(reply);
			continue;
		}
		if (!follow)
			break;
		cJSON_Delete(reply);
		usleep(FOLLOW_POLL_US);
	}
	if (!collect) {
		cJSON_Delete(reply);
		return EXIT_OK;
	}
	if (all) {
		cJSON_ReplaceItemInObject(all, "next", cJSON_CreateNumber(since));
		cJSON_ReplaceItemInObject(all, "more", cJSON_CreateFalse());
		cJSON_Delete(reply);
		reply = all;
	}
	return pepctl_finish(reply, NULL);
}

/* ---- verify --------------------------------------------------------------------------- */

/* The node's key from a PEM file: public, or the private key itself (node-key.pem). */
static EVP_PKEY *load_key(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	if (bio && !key && BIO_reset(bio) == 0)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return key;
}

static void print_verdict(const char *dir, const struct journal_verdict *v)
{
	cJSON *o;
	char *text;

	if (pepctl_json) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", v->ok);
		cJSON_AddNumberToObject(o, "entries", (double)v->entries);
		cJSON_AddNumberToObject(o, "records", (double)v->records);
		cJSON_AddNumberToObject(o, "checkpoints", (double)v->checkpoints);
		cJSON_AddNumberToObject(o, "first", (double)v->first_seq);
		cJSON_AddNumberToObject(o, "last", (double)v->last_seq);
		cJSON_AddNumberToObject(o, "last_checkpoint", (double)v->last_checkpoint);
		cJSON_AddBoolToObject(o, "torn", v->torn);
		if (!v->ok) {
			cJSON_AddNumberToObject(o, "seq", (double)v->bad_seq);
			cJSON_AddStringToObject(o, "error", v->what);
			cJSON_AddStringToObject(o, "file", v->file);
		}
		text = cJSON_Print(o);
		printf("%s\n", text ? text : "{}");
		free(text);
		cJSON_Delete(o);
		return;
	}
	if (!v->ok) {
		printf("journal %s does NOT verify: %s (%s)\n", dir, v->what, v->file);
		return;
	}
	printf("journal %s verifies: entries %llu..%llu, %llu records, %llu checkpoints signed by "
	       "the node key\n",
	       dir, (unsigned long long)v->first_seq, (unsigned long long)v->last_seq,
	       (unsigned long long)v->records, (unsigned long long)v->checkpoints);
	if (v->last_seq > v->last_checkpoint)
		printf("entries after %llu are chained, not yet under a signed checkpoint\n",
		       (unsigned long long)v->last_checkpoint);
	if (v->torn)
		printf("the last line is incomplete: being written, or torn by a crash\n");
}

static int verify(int argc, char **argv)
{
	const char *dir = "/var/lib/pep/journal", *key_path = NULL;
	struct journal_verdict v;
	char path[4096];
	EVP_PKEY *key;
	int err;

	for (int i = 1; i < argc; i += 2) {
		if (i + 1 < argc && !strcmp(argv[i], "--journal"))
			dir = argv[i + 1];
		else if (i + 1 < argc && !strcmp(argv[i], "--key"))
			key_path = argv[i + 1];
		else
			return pepctl_usage("records");
	}
	/* By default the key beside the journal: state_dir/node-key.pem. */
	snprintf(path, sizeof(path), "%s/../node-key.pem", dir);
	key = load_key(key_path ? key_path : path);
	if (!key) {
		fprintf(stderr, "pepctl records verify: no key in %s (--key FILE: the node's "
				"public key)\n", key_path ? key_path : path);
		return EXIT_USAGE;
	}
	err = journal__verify(dir, key, &v);
	EVP_PKEY_free(key);
	if (err) {
		fprintf(stderr, "pepctl records verify: %s: %s\n", dir, strerror(-err));
		return EXIT_USAGE;
	}
	print_verdict(dir, &v);
	return v.ok ? EXIT_OK : EXIT_INVALID;
}

int cmd_records(int argc, char **argv)
{
	const char *contract = NULL;
	double since = 1;
	bool follow = false;
	char *end;

	if (argc > 1 && !strcmp(argv[1], "verify"))
		return verify(argc - 1, argv + 1);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--follow")) {
			follow = true;
		} else if (i + 1 < argc && !strcmp(argv[i], "--contract")) {
			contract = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--since")) {
			since = strtod(argv[++i], &end);
			if (*end || since < 1)
				return pepctl_usage("records");
		} else {
			return pepctl_usage("records");
		}
	}
	return list(contract, since, follow);
}
