// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/position.h"

uint64_t position__load(const char *path)
{
	unsigned long long seq = 0;
	FILE *f = fopen(path, "re");

	if (f && fscanf(f, "%llu", &seq) != 1)
		seq = 0;
	if (f)
		fclose(f);
	return seq;
}

static int sync_dir_of(char *path)
{
	char *slash = strrchr(path, '/');
	int fd, err = 0;

	if (!slash)
		return 0;
	*slash = '\0';
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	return err;
}

int position__save(const char *path, uint64_t seq)
{
	char tmp[4096], line[32];
	int fd, n = snprintf(line, sizeof(line), "%" PRIu64 "\n", seq), err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, line, n) != n || fsync(fd) < 0)
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	return err ? err : sync_dir_of(tmp);
}
