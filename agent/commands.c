// SPDX-License-Identifier: Apache-2.0
/* The admin socket's commands: a dispatch table, one small handler each. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "policy/policy.h"
#include "agent/admin.h"
#include "agent/agent.h"
#include "agent/guards.h"
#include "agent/records.h"
#include "agent/store.h"

static cJSON *errors_reply(const char *what, int err, const struct pol_errors *errs)
{
	cJSON *reply = admin_error("%s: %s", what, strerror(err < 0 ? -err : err));
	cJSON *list = cJSON_AddArrayToObject(reply, "errors");

	for (size_t i = 0; i < errs->n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "path", errs->v[i].path);
		cJSON_AddStringToObject(e, "message", errs->v[i].msg);
		cJSON_AddItemToArray(list, e);
	}
	return reply;
}

static void format_time(int64_t sec, char *buf, size_t size)
{
	time_t t = (time_t)sec;
	struct tm tm;

	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

/* ---- status --------------------------------------------------------------------------- */

static void add_journal(cJSON *reply, struct agent *a)
{
	static const char *const states[] = { "ok", "near full", "full", "failed" };
	cJSON *o = cJSON_AddObjectToObject(reply, "journal");
	struct journal_status st;

	records__status(a->records, &st);
	cJSON_AddStringToObject(o, "state", states[st.state]);
	if (st.state == JOURNAL_FAILED)
		cJSON_AddStringToObject(o, "error", strerror(-st.error));
	cJSON_AddNumberToObject(o, "bytes", (double)st.bytes);
	cJSON_AddNumberToObject(o, "max_bytes", (double)st.max_bytes);
	cJSON_AddNumberToObject(o, "next_seq", (double)st.next_seq);
	cJSON_AddNumberToObject(o, "synced_seq", (double)st.synced_seq);
	cJSON_AddNumberToObject(o, "unrecorded", (double)st.unrecorded);
}

static cJSON *cmd_status(struct agent *a, const cJSON *req)
{
	cJSON *reply = admin_ok(), *probe = cJSON_AddArrayToObject(reply, "probe");
	const struct backend_support *s = &a->support;
	char line[PATH_MAX + PROBE_WHY_MAX];
	int active = 0;

	for (int i = 0; i < AGENT_MAX_SLOTS; i++)
		active += a->slot_contract[i] != NULL;
	cJSON_AddStringToObject(reply, "backend", backend__name(a->backend));
	cJSON_AddStringToObject(reply, "pins", a->cfg.bpffs_dir);
	cJSON_AddNumberToObject(reply, "active", active);
	cJSON_AddNumberToObject(reply, "lost", (double)guards__lost(a->guards));
	add_journal(reply, a);
	snprintf(line, sizeof(line), "BPF-LSM: %s", s->lsm ? "active" : s->lsm_why);
	cJSON_AddItemToArray(probe, cJSON_CreateString(line));
	snprintf(line, sizeof(line), "cgroup v2: %s", s->cgroup2);
	cJSON_AddItemToArray(probe, cJSON_CreateString(line));
	return reply;
}

/* ---- bind, apply, terminate ----------------------------------------------------------- */

static cJSON *cmd_bind(struct agent *a, const cJSON *req)
{
	const char *product = cJSON_GetStringValue(cJSON_GetObjectItem(req, "product"));
	const cJSON *targets = cJSON_GetObjectItem(req, "targets"), *t;
	struct pol_errors errs = { 0 };
	char *v[64];
	size_t n = 0;
	cJSON *reply;
	int err;

	cJSON_ArrayForEach(t, targets)
		if (cJSON_IsString(t) && n < 64)
			v[n++] = t->valuestring;
	if (!product || !*product || !n || n != (size_t)cJSON_GetArraySize(targets))
		return admin_error("bind needs a product and 1 to 64 targets");
	err = agent_bind(a, product, v, n, &errs);
	if (err) {
		reply = errors_reply("bind", err, &errs);
	} else {
		reply = admin_ok();
		cJSON_AddStringToObject(reply, "product", product);
		cJSON_AddItemToObject(reply, "targets", cJSON_Duplicate(targets, true));
	}
	pol_errors__clear(&errs);
	return reply;
}

static cJSON *cmd_apply(struct agent *a, const cJSON *req)
{
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(req, "contract"));
	struct pol_errors errs = { 0 };
	int slot = -1, version = 0, err;
	struct contract *c;
	cJSON *reply;

	if (!text)
		return admin_error("apply needs the contract text");
	err = agent_apply(a, text, &slot, &version, &errs);
	if (err) {
		reply = errors_reply("contract not applied, nothing changed", err, &errs);
	} else {
		reply = admin_ok();
		c = policy__parse(text, strlen(text), NULL, &errs);
		cJSON_AddStringToObject(reply, "id", c ? c->id : "");
		cJSON_AddNumberToObject(reply, "slot", slot);
		cJSON_AddNumberToObject(reply, "version", version);
		contract__free(c);
	}
	pol_errors__clear(&errs);
	return reply;
}

static cJSON *cmd_terminate(struct agent *a, const cJSON *req)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(req, "id"));
	struct pol_errors errs = { 0 };
	cJSON *proof = NULL, *reply;
	int err;

	if (!id)
		return admin_error("terminate needs a contract id");
	err = agent_terminate(a, id, "terminated by the operator", &proof, &errs);
	if (err) {
		reply = errors_reply("terminate", err, &errs);
	} else {
		reply = admin_ok();
		cJSON_AddStringToObject(reply, "id", id);
		if (proof)
			cJSON_AddItemToObject(reply, "proof", proof);
	}
	pol_errors__clear(&errs);
	return reply;
}

/* ---- list, show ----------------------------------------------------------------------- */

static const char *product_of(const char *body, char *buf, size_t size)
{
	struct pol_errors errs = { 0 };
	struct contract *c = policy__parse(body, strlen(body), NULL, &errs);

	snprintf(buf, size, "%s", c && c->n_policies ? c->policies[0].product_id : "-");
	contract__free(c);
	pol_errors__clear(&errs);
	return buf;
}

static cJSON *contract_json(const struct stored_contract *sc)
{
	cJSON *o = cJSON_CreateObject();
	char product[96];

	cJSON_AddStringToObject(o, "id", sc->id);
	cJSON_AddNumberToObject(o, "version", sc->version);
	cJSON_AddStringToObject(o, "state", sc->state);
	cJSON_AddNumberToObject(o, "slot", sc->slot);
	cJSON_AddStringToObject(o, "hash", sc->hash);
	cJSON_AddStringToObject(o, "product", product_of(sc->body, product, sizeof(product)));
	return o;
}

static int add_contract(const struct stored_contract *sc, void *list)
{
	cJSON_AddItemToArray(list, contract_json(sc));
	return 0;
}

static cJSON *cmd_list(struct agent *a, const cJSON *req)
{
	cJSON *reply = admin_ok();
	int err = store__for_each_contract(a->store, add_contract,
					   cJSON_AddArrayToObject(reply, "contracts"));

	if (err) {
		cJSON_Delete(reply);
		return admin_error("contract store: %s", strerror(-err));
	}
	return reply;
}

static int add_change(int64_t time, const char *state, const char *cause, void *list)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];

	format_time(time, when, sizeof(when));
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "state", state);
	cJSON_AddStringToObject(o, "cause", cause);
	cJSON_AddItemToArray(list, o);
	return 0;
}

struct show_ctx {
	struct agent *a;
	cJSON *reply;
};

static int add_copy(void *ctx, uint64_t dev, uint64_t ino)
{
	struct show_ctx *s = ctx;
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(s->reply, "id"));
	char *path = NULL, text[64];

	if (store__copy_path(s->a->store, id, dev, ino, &path) < 0) {
		snprintf(text, sizeof(text), "(path unknown) %llu:%llu", (unsigned long long)dev,
			 (unsigned long long)ino);
		path = strdup(text);
	}
	cJSON_AddItemToArray(cJSON_GetObjectItem(s->reply, "derived"),
			     cJSON_CreateString(path ? path : "?"));
	free(path);
	return 0;
}

static int fill_show(const struct stored_contract *sc, void *ctx)
{
	struct show_ctx *s = ctx;
	struct slot_status st;

	s->reply = contract_json(sc);
	cJSON_AddBoolToObject(s->reply, "ok", true);
	cJSON_AddArrayToObject(s->reply, "derived");
	if (sc->slot < 0 || guards__status(s->a->guards, sc->slot, &st) < 0)
		return 0;
	cJSON_AddNumberToObject(s->reply, "uses", (double)st.uses);
	if (st.count_limit)
		cJSON_AddNumberToObject(s->reply, "uses_left",
					st.uses < st.count_limit ? (double)(st.count_limit - st.uses) : 0);
	cJSON_AddNumberToObject(s->reply, "holders", st.holders);
	cJSON_AddBoolToObject(s->reply, "terminated", st.terminated);
	return guards__for_each_copy(s->a->guards, sc->slot, add_copy, s);
}

static cJSON *cmd_show(struct agent *a, const cJSON *req)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(req, "id"));
	struct show_ctx s = { a, NULL };
	char *proof = NULL;
	int err;

	if (!id)
		return admin_error("show needs a contract id");
	err = store__get_contract(a->store, id, fill_show, &s);
	if (err) {
		cJSON_Delete(s.reply);
		return admin_error("%s: %s", id, err == -ENOENT ? "no such contract at this node" :
								 strerror(-err));
	}
	if (cJSON_IsTrue(cJSON_GetObjectItem(req, "history")))
		store__for_each_change(a->store, id, add_change,
				       cJSON_AddArrayToObject(s.reply, "history"));
	if (!store__get_proof(a->store, id, &proof))
		cJSON_AddItemToObject(s.reply, "proof", cJSON_Parse(proof));
	free(proof);
	return s.reply;
}

/* ---- records -------------------------------------------------------------------------- */

/* Entries per reply (pepctl asks again from "next"), and entries looked at per reply when a
 * filter skips most: one request never holds the event loop for long. */
#define RECORDS_PAGE 1000
#define RECORDS_SCAN 100000

static void add_record(cJSON *o, const struct record *r)
{
	cJSON_AddStringToObject(o, "contract", r->contract);
	cJSON_AddStringToObject(o, "policy", r->policy);
	cJSON_AddStringToObject(o, "action", r->action);
	cJSON_AddStringToObject(o, "kind", r->kind);
	cJSON_AddStringToObject(o, "verdict", r->verdict);
	cJSON_AddStringToObject(o, "reason", r->reason);
	cJSON_AddNumberToObject(o, "pid", r->pid);
	cJSON_AddNumberToObject(o, "uid", r->uid);
	cJSON_AddNumberToObject(o, "cgroup", (double)r->cgroup);
	cJSON_AddNumberToObject(o, "counter", (double)r->counter);
	cJSON_AddStringToObject(o, "comm", r->comm);
	cJSON_AddStringToObject(o, "exe", r->exe);
	cJSON_AddStringToObject(o, "object", r->object);
}

/* An entry as pepctl shows it: the journal's members, the time as the journal writes it. */
static cJSON *entry_json(const struct journal_entry *e)
{
	static const char *const types[] = { "record", "lost", "journal", "checkpoint" };
	cJSON *o = cJSON_CreateObject();
	char head[2 * JOURNAL_HASH_LEN + 1], date[32], when[48];
	time_t sec = (time_t)(e->time_ns / 1000000000);
	struct tm tm;

	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", gmtime_r(&sec, &tm));
	snprintf(when, sizeof(when), "%s.%09lldZ", date, (long long)(e->time_ns % 1000000000));
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "type", types[e->type]);
	if (e->type == JOURNAL_RECORD)
		add_record(o, &e->rec);
	if (e->type == JOURNAL_LOST || e->type == JOURNAL_CHECKPOINT)
		cJSON_AddNumberToObject(o, "lost", (double)e->lost);
	if (e->type == JOURNAL_LOST)
		cJSON_AddNumberToObject(o, "total", (double)e->total);
	if (e->type == JOURNAL_STATE) {
		cJSON_AddStringToObject(o, "state", e->state);
		cJSON_AddNumberToObject(o, "bytes", (double)e->bytes);
		cJSON_AddNumberToObject(o, "max", (double)e->max);
	}
	if (e->type == JOURNAL_CHECKPOINT) {
		for (int i = 0; i < JOURNAL_HASH_LEN; i++)
			snprintf(head + 2 * i, 3, "%02x", e->prev[i]);
		cJSON_AddNumberToObject(o, "unrecorded", (double)e->total);
		cJSON_AddStringToObject(o, "head", head);
		cJSON_AddStringToObject(o, "sig", e->sig);
	}
	return o;
}

struct records_page {
	const char *contract; /* only its records, and no checkpoints; NULL: everything */
	cJSON *list;
	size_t n, scanned;
	uint64_t next; /* the seq to ask from next time */
};

static int add_entry(const struct journal_entry *e, void *ctx)
{
	struct records_page *p = ctx;

	if (p->n == RECORDS_PAGE || p->scanned == RECORDS_SCAN)
		return 1; /* more to come */
	p->scanned++;
	p->next = e->seq + 1;
	if (p->contract && (e->type == JOURNAL_CHECKPOINT ||
			    (e->type == JOURNAL_RECORD && strcmp(e->rec.contract, p->contract))))
		return 0;
	cJSON_AddItemToArray(p->list, entry_json(e));
	p->n++;
	return 0;
}

static cJSON *cmd_records(struct agent *a, const cJSON *req)
{
	const cJSON *since = cJSON_GetObjectItem(req, "since");
	struct records_page p = {
		.contract = cJSON_GetStringValue(cJSON_GetObjectItem(req, "contract")),
		.next = cJSON_IsNumber(since) && since->valuedouble >= 1 ? (uint64_t)since->valuedouble
									  : 1,
	};
	cJSON *reply = admin_ok();
	struct journal_status st;
	int r;

	p.list = cJSON_AddArrayToObject(reply, "records");
	/* Take what the kernel has decided so far, so the answer is up to date. */
	(void)guards__poll(a->guards);
	r = records__read(a->records, p.next, add_entry, &p);
	if (r < 0) {
		cJSON_Delete(reply);
		return admin_error("journal: %s", strerror(-r));
	}
	records__status(a->records, &st);
	cJSON_AddNumberToObject(reply, "next", (double)p.next);
	cJSON_AddBoolToObject(reply, "more", r > 0);
	/* the last entry when this page was read: a reader that wants what is there now stops
	 * there, instead of chasing a journal that grows faster than it pages */
	cJSON_AddNumberToObject(reply, "head", (double)(st.next_seq - 1));
	return reply;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const struct {
	const char *name;
	cJSON *(*run)(struct agent *a, const cJSON *request);
} commands[] = {
	{ "status", cmd_status }, { "bind", cmd_bind }, { "apply", cmd_apply },
	{ "list", cmd_list },	  { "show", cmd_show }, { "terminate", cmd_terminate },
	{ "records", cmd_records },
};

cJSON *agent_command(const cJSON *request, void *agent)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(request, "cmd"));

	for (size_t i = 0; name && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].run(agent, request);
	return admin_error("unknown command \"%s\"", name ? name : "");
}
