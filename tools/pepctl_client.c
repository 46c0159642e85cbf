// SPDX-License-Identifier: Apache-2.0
/* pepctl's side of the admin socket: one JSON request line, one JSON reply line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tools/pepctl.h"

const char *pepctl_socket = "/run/pep/admin.sock";
bool pepctl_json;

static int connect_agent(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(pepctl_socket) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, pepctl_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first newline; returns the line (malloc'd) or NULL with errno. */
static char *read_line(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *bigger;
	ssize_t n;

	while (buf) {
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len))
			return buf;
		if (len + 1 == cap) {
			bigger = realloc(buf, cap *= 2);
			if (!bigger)
				break;
			buf = bigger;
		}
	}
	free(buf);
	errno = errno ? errno : EPIPE;
	return NULL;
}

cJSON *pepctl_call(cJSON *request)
{
	char *text = cJSON_PrintUnformatted(request), *line = NULL;
	cJSON *reply = NULL;
	int fd, err;

	cJSON_Delete(request);
	if (!text)
		return NULL;
	fd = connect_agent();
	if (fd < 0) {
		fprintf(stderr, "pepctl: cannot reach the agent at %s: %s\n", pepctl_socket,
			strerror(-fd));
		free(text);
		return NULL;
	}
	err = write_all(fd, text, strlen(text));
	if (!err)
		err = write_all(fd, "\n", 1);
	if (!err)
		line = read_line(fd);
	if (line)
		reply = cJSON_Parse(line);
	if (!reply)
		fprintf(stderr, "pepctl: no answer from the agent: %s\n", strerror(errno));
	free(line);
	free(text);
	close(fd);
	return reply;
}

cJSON *pepctl_request(const char *cmd)
{
	cJSON *request = cJSON_CreateObject();

	cJSON_AddStringToObject(request, "cmd", cmd);
	return request;
}

int pepctl_finish(cJSON *reply, void (*print)(const cJSON *reply))
{
	const cJSON *ok = cJSON_GetObjectItem(reply, "ok");
	const cJSON *errors = cJSON_GetObjectItem(reply, "errors"), *e;
	char *text;
	int code;

	if (!reply)
		return EXIT_USAGE;
	code = cJSON_IsTrue(ok) ? EXIT_OK : EXIT_INVALID;
	if (pepctl_json) {
		text = cJSON_Print(reply);
		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (code == EXIT_OK) {
		print(reply);
	} else {
		fprintf(stderr, "pepctl: %s\n",
			cJSON_GetStringValue(cJSON_GetObjectItem(reply, "error")));
		cJSON_ArrayForEach(e, errors)
			fprintf(stderr, "  %s%s%s\n",
				cJSON_GetStringValue(cJSON_GetObjectItem(e, "path")),
				*cJSON_GetStringValue(cJSON_GetObjectItem(e, "path")) ? ": " : "",
				cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")));
	}
	cJSON_Delete(reply);
	return code;
}
