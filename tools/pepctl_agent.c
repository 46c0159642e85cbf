// SPDX-License-Identifier: Apache-2.0
/* pepctl commands served by the agent: status, bind, apply, list, show, terminate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tools/pepctl.h"

static const char *str(const cJSON *o, const char *name)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));

	return s ? s : "-";
}

static double num(const cJSON *o, const char *name)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(o, name));
}

/* ---- status ---------------------------------------------------------------------------- */

/* "journal full" must be impossible to miss: the obligation to record is no longer met. */
static void print_journal(const cJSON *j)
{
	const char *state = str(j, "state");

	printf("journal: %s, %.0f of %.0f bytes, next seq %.0f (fsync'd up to %.0f)\n", state,
	       num(j, "bytes"), num(j, "max_bytes"), num(j, "next_seq"), num(j, "synced_seq"));
	if (!strcmp(state, "full"))
		printf("JOURNAL FULL: records are no longer written; %.0f refused so far; every "
		       "use of a contract is refused\n", num(j, "unrecorded"));
	else if (!strcmp(state, "failed"))
		printf("JOURNAL FAILED (%s): records are no longer written; %.0f refused so far; "
		       "every use of a contract is refused\n", str(j, "error"), num(j, "unrecorded"));
}

static void print_status(const cJSON *r)
{
	const cJSON *line;

	printf("backend: %s\npins: %s\ncontracts in execution: %.0f\n", str(r, "backend"),
	       str(r, "pins"), num(r, "active"));
	cJSON_ArrayForEach(line, cJSON_GetObjectItem(r, "probe"))
		printf("  %s\n", line->valuestring);
	printf("records lost by the kernel (ring buffer full): %.0f\n", num(r, "lost"));
	print_journal(cJSON_GetObjectItem(r, "journal"));
}

int cmd_status(int argc, char **argv)
{
	if (argc != 1)
		return pepctl_usage("status");
	return pepctl_finish(pepctl_call(pepctl_request("status")), print_status);
}

/* ---- bind ------------------------------------------------------------------------------ */

static void print_bound(const cJSON *r)
{
	const cJSON *t;

	printf("%s bound to:\n", str(r, "product"));
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(r, "targets"))
		printf("  %s\n", t->valuestring);
}

int cmd_bind(int argc, char **argv)
{
	cJSON *req, *targets;

	if (argc < 3)
		return pepctl_usage("bind");
	req = pepctl_request("bind");
	cJSON_AddStringToObject(req, "product", argv[1]);
	targets = cJSON_AddArrayToObject(req, "targets");
	for (int i = 2; i < argc; i++)
		cJSON_AddItemToArray(targets, cJSON_CreateString(argv[i]));
	return pepctl_finish(pepctl_call(req), print_bound);
}

/* ---- apply ----------------------------------------------------------------------------- */

static void print_applied(const cJSON *r)
{
	printf("contract %s applied (version %.0f, slot %.0f): enforcing\n", str(r, "id"),
	       num(r, "version"), num(r, "slot"));
}

int cmd_apply(int argc, char **argv)
{
	size_t len;
	char *buf;
	cJSON *req;
	int err;

	if (argc != 2)
		return pepctl_usage("apply");
	err = read_file(argv[1], &buf, &len);
	if (err < 0) {
		fprintf(stderr, "pepctl apply: %s: %s\n", argv[1], strerror(-err));
		return EXIT_USAGE;
	}
	/* The bytes as filed: the agent checks them exactly as the parties signed them. */
	req = pepctl_request("apply");
	cJSON_AddStringToObject(req, "contract", buf);
	free(buf);
	return pepctl_finish(pepctl_call(req), print_applied);
}

/* ---- list, show, terminate ------------------------------------------------------------- */

static void print_list(const cJSON *r)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(r, "contracts"))
		printf("%s  v%.0f  %s  %s\n", str(c, "id"), num(c, "version"), str(c, "state"),
		       str(c, "product"));
}

int cmd_list(int argc, char **argv)
{
	if (argc != 1)
		return pepctl_usage("list");
	return pepctl_finish(pepctl_call(pepctl_request("list")), print_list);
}

static void print_show(const cJSON *r)
{
	const cJSON *h, *d;
	char *proof;

	printf("contract %s v%.0f: %s\nproduct: %s\n", str(r, "id"), num(r, "version"),
	       str(r, "state"), str(r, "product"));
	if (cJSON_GetObjectItem(r, "uses_left"))
		printf("uses: %.0f counted in this window, %.0f left\n", num(r, "uses"),
		       num(r, "uses_left"));
	if (cJSON_GetObjectItem(r, "holders"))
		printf("holders: %.0f processes\n", num(r, "holders"));
	cJSON_ArrayForEach(d, cJSON_GetObjectItem(r, "derived"))
		printf("derived copy: %s\n", d->valuestring);
	cJSON_ArrayForEach(h, cJSON_GetObjectItem(r, "history"))
		printf("  %s  %s  %s\n", str(h, "time"), str(h, "state"), str(h, "cause"));
	proof = cJSON_Print(cJSON_GetObjectItem(r, "proof"));
	if (proof)
		printf("destruction proof:\n%s\n", proof);
	free(proof);
}

int cmd_show(int argc, char **argv)
{
	bool history = argc == 3 && !strcmp(argv[2], "--history");
	cJSON *req;

	if (argc != 2 && !history)
		return pepctl_usage("show");
	req = pepctl_request("show");
	cJSON_AddStringToObject(req, "id", argv[1]);
	cJSON_AddBoolToObject(req, "history", history);
	return pepctl_finish(pepctl_call(req), print_show);
}

static void print_terminated(const cJSON *r)
{
	char *proof = cJSON_Print(cJSON_GetObjectItem(r, "proof"));

	printf("contract %s terminated: its product can no longer be opened\n", str(r, "id"));
	if (proof)
		printf("destruction proof:\n%s\n", proof);
	free(proof);
}

int cmd_terminate(int argc, char **argv)
{
	cJSON *req;

	if (argc != 2)
		return pepctl_usage("terminate");
	req = pepctl_request("terminate");
	cJSON_AddStringToObject(req, "id", argv[1]);
	return pepctl_finish(pepctl_call(req), print_terminated);
}
