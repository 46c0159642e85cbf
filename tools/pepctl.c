// SPDX-License-Identifier: Apache-2.0
/* pepctl: the operator's tool. Commands that need the agent speak to its admin socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/pepctl.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *help;
} commands[] = {
	{ "verify", cmd_verify, "[--trust PATH] [--backend lsm|portable] [--at TIME] FILE",
	  "check a contract and print what this node would do with each clause" },
	{ "status", cmd_status, "", "the backend, what the probe found, what is enforced" },
	{ "bind", cmd_bind, "PRODUCT TARGET...",
	  "bind a data product to files, directories or tcp://ADDR:PORT endpoints" },
	{ "apply", cmd_apply, "FILE", "verify a contract and enforce it" },
	{ "list", cmd_list, "", "contracts and their states" },
	{ "show", cmd_show, "ID [--history]", "uses left, window, holders, derived copies" },
	{ "terminate", cmd_terminate, "ID",
	  "stop every use now, run the deletion obligation, print the destruction proof" },
	{ "records", cmd_records,
	  "[--contract ID] [--since SEQ] [--follow] | verify [--journal DIR] [--key PEM]",
	  "behaviour records from the journal (--follow: as they come; with --json, one JSON\n"
	  "      object per line); verify: check the journal's chain and signed checkpoints" },
	{ "run", cmd_run, "--contract ID -- CMD [ARG...]",
	  "run CMD as a workload of the contract: its opens and deletions go through the agent" },
	{ "keygen", cmd_keygen, "--alg sm2|p256|ed25519 --out KEY",
	  "make a party's signing key (PKCS#8 PEM, mode 0600)" },
	{ "sign", cmd_sign, "--key KEY --cert CERT [--cert CERT...] FILE",
	  "put every certificate in its signatory (by CN), sign as the key's; print the document" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int usage(FILE *out)
{
	fprintf(out, "usage: pepctl [--socket PATH] [--json] COMMAND [ARGS]\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %s %s\n      %s\n", commands[i].name, commands[i].args,
			commands[i].help);
	return out == stdout ? EXIT_OK : EXIT_USAGE;
}

int pepctl_usage(const char *command)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, command))
			fprintf(stderr, "usage: pepctl %s %s\n", command, commands[i].args);
	return EXIT_USAGE;
}

int read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t len = 0, cap = 65536;
	char *buf = NULL, *bigger;
	int r = 0;

	if (!f)
		return -errno;
	do {
		bigger = realloc(buf, cap + 1);
		if (!bigger) {
			r = -ENOMEM;
			goto out;
		}
		buf = bigger;
		len += fread(buf + len, 1, cap - len, f);
		cap *= 2;
	} while (!ferror(f) && !feof(f));
	if (ferror(f)) {
		r = -EIO;
		goto out;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	if (f != stdin)
		fclose(f);
	return r;
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			pepctl_json = true;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			pepctl_socket = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout);
		else
			return usage(stderr);
	}
	if (i == argc)
		return usage(stderr);
	for (size_t c = 0; c < N_COMMANDS; c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].run(argc - i, argv + i);
	fprintf(stderr, "pepctl: unknown command \"%s\"\n", argv[i]);
	return usage(stderr);
}
