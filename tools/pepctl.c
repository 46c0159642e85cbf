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
	const char *help;
} commands[] = {
	{ "verify", cmd_verify, "[--trust PATH] [--json] [--backend lsm|portable] FILE\n"
				"\t\tcheck a contract and print what this node would do with it" },
};

static int usage(FILE *out)
{
	fprintf(out, "usage: pepctl COMMAND [ARGS]\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s %s\n", commands[i].name, commands[i].help);
	return out == stdout ? EXIT_OK : EXIT_USAGE;
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
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "pepctl: unknown command \"%s\"\n", argv[1]);
	return usage(stderr);
}
