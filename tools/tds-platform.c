// SPDX-License-Identifier: Apache-2.0
/*
 * tds-platform: a reference data-space platform for demos and tests. It pushes contracts to
 * nodes and terminates them (TC609 Annex B, over mutual TLS), and receives what nodes report.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "tools/tds.h"

static const struct command {
	const char *name;
	int (*run)(const struct tds_opts *o);
	const char *args;
	const char *help;
} commands[] = {
	{ "serve", tds_serve, "--listen ADDR:PORT --db FILE --cert C --key K --ca CA [--trust PATH]",
	  "receive nodes' /contractExecution reports and /contractTerminate notices, verify "
	  "what is signed (against --trust, default --ca) and store it" },
	{ "push", tds_push, "AGENT_URL FILE --cert C --key K --ca CA [--db FILE] [--json]",
	  "POST the contract to the node's /contractExecution; print its answer" },
	{ "terminate", tds_terminate,
	  "AGENT_URL CONTRACT_ID --db FILE --cert C --key K --ca CA [--type 01|02] [--json]",
	  "sign an Annex B.7 notice with the platform's key (01 early, the default; 02 on "
	  "expiry), POST it to /contractTerminate; print the answer and the destruction proof" },
	{ "reports", tds_reports, "--db FILE [--contract ID] [--json]",
	  "what nodes sent, oldest first; then the behaviour records received, by node and seq "
	  "(--json: {\"received\": [...], \"records\": [...]})" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int usage(FILE *out)
{
	fprintf(out, "usage: tds-platform COMMAND [ARGS]\n"
		     "AGENT_URL is the node's base URL, https://HOST:PORT\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %s %s\n      %s\n", commands[i].name, commands[i].args,
			commands[i].help);
	return out == stdout ? TDS_OK : TDS_USAGE;
}

int tds_usage(const char *command)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, command))
			fprintf(stderr, "usage: tds-platform %s %s\n", command, commands[i].args);
	return TDS_USAGE;
}

int tds_read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	long len = 0;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		err = -errno;
	else if (!(buf = malloc((size_t)len + 1)))
		err = -ENOMEM;
	else if (fread(buf, 1, (size_t)len, f) != (size_t)len)
		err = -EIO;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = (size_t)len;
	return 0;
}

/* ---- reports -------------------------------------------------------------------------- */

static int print_received(const struct tds_received *r, void *list)
{
	time_t t = (time_t)r->time;
	char when[32];
	struct tm tm;
	cJSON *o;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	if (!list) {
		printf("%lld  %s  %s  %s  from %s: %s\n", (long long)r->seq, when, r->interface,
		       r->contract_id, r->peer, r->verdict);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)r->seq);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "interface", r->interface);
	cJSON_AddStringToObject(o, "contractId", r->contract_id);
	cJSON_AddStringToObject(o, "from", r->peer);
	cJSON_AddStringToObject(o, "verdict", r->verdict);
	cJSON_AddItemToObject(o, "body", cJSON_Parse(r->body));
	cJSON_AddItemToArray(list, o);
	return 0;
}

/* A behaviour record: node, seq and the journal line as the node stored it. */
static int print_record(const struct tds_record *r, void *list)
{
	cJSON *o;

	if (!list) {
		printf("%s  %lld  %s\n", r->node, (long long)r->seq, r->line);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "node", r->node);
	cJSON_AddNumberToObject(o, "seq", (double)r->seq);
	cJSON_AddStringToObject(o, "contract", r->contract);
	cJSON_AddItemToObject(o, "entry", cJSON_Parse(r->line));
	cJSON_AddItemToArray(list, o);
	return 0;
}

int tds_reports(const struct tds_opts *o)
{
	struct tds_db *db;
	cJSON *doc = NULL, *list = NULL, *records = NULL;
	char *text;
	int err;

	if (o->n_args || !o->db)
		return tds_usage("reports");
	db = tds_db__open(o->db);
	if (!db) {
		fprintf(stderr, "tds-platform: %s: %s\n", o->db, strerror(errno));
		return TDS_USAGE;
	}
	if (o->json) {
		doc = cJSON_CreateObject();
		list = cJSON_AddArrayToObject(doc, "received");
		records = cJSON_AddArrayToObject(doc, "records");
	}
	err = tds_db__for_each_received(db, o->contract, print_received, list);
	if (!err)
		err = tds_db__for_each_record(db, o->contract, print_record, records);
	if (!err && doc) {
		text = cJSON_PrintUnformatted(doc);
		printf("%s\n", text ? text : "{}");
		free(text);
	}
	if (err)
		fprintf(stderr, "tds-platform: %s: %s\n", o->db, strerror(-err));
	cJSON_Delete(doc);
	tds_db__close(db);
	return err ? TDS_USAGE : TDS_OK;
}

/* ---- options -------------------------------------------------------------------------- */

/* Every command's options in one table: each command checks the ones it needs. */
static int parse_options(int argc, char **argv, struct tds_opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "db", required_argument, NULL, 'd' },
		{ "cert", required_argument, NULL, 'c' },   { "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },	    { "trust", required_argument, NULL, 't' },
		{ "contract", required_argument, NULL, 'C' },
		{ "type", required_argument, NULL, 'T' },   { "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	const char **fields[128] = {
		['l'] = &o->listen, ['d'] = &o->db,    ['c'] = &o->cert,     ['k'] = &o->key,
		['a'] = &o->ca,	    ['t'] = &o->trust, ['C'] = &o->contract, ['T'] = &o->type,
	};
	int opt;

	o->type = "01";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == '?')
			return -EINVAL;
		if (opt == 'j')
			o->json = true;
		else
			*fields[opt] = optarg;
	}
	o->args = argv + optind;
	o->n_args = argc - optind;
	return 0;
}

int main(int argc, char **argv)
{
	struct tds_opts o = { 0 };

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return usage(argc < 2 ? stderr : stdout);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (parse_options(argc - 1, argv + 1, &o) < 0)
			return tds_usage(commands[i].name);
		return commands[i].run(&o);
	}
	fprintf(stderr, "tds-platform: unknown command \"%s\"\n", argv[1]);
	return usage(stderr);
}
