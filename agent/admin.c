// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "agent/admin.h"
#include "agent/log.h"
#include "agent/unixsock.h"

/* A request holds at most one contract (4 MiB) plus its framing. */
#define MAX_REQUEST (8u << 20)

struct admin {
	struct evconnlistener *listener;
	char *path;
	admin_handler handler;
	void *ctx;
};

cJSON *admin_error(const char *fmt, ...)
{
	cJSON *reply = cJSON_CreateObject();
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	cJSON_AddBoolToObject(reply, "ok", false);
	cJSON_AddStringToObject(reply, "error", msg ? msg : "out of memory");
	free(msg);
	return reply;
}

cJSON *admin_ok(void)
{
	cJSON *reply = cJSON_CreateObject();

	cJSON_AddBoolToObject(reply, "ok", true);
	return reply;
}

static void send_reply(struct bufferevent *bev, cJSON *reply)
{
	char *text = reply ? cJSON_PrintUnformatted(reply) : NULL;

	if (text) {
		bufferevent_write(bev, text, strlen(text));
		bufferevent_write(bev, "\n", 1);
	}
	free(text);
	cJSON_Delete(reply);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct admin *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		cJSON *request = cJSON_ParseWithLength(line, len);

		send_reply(bev, request ? a->handler(request, a->ctx) :
					  admin_error("request is not JSON"));
		cJSON_Delete(request);
		free(line);
	}
	if (evbuffer_get_length(in) > MAX_REQUEST) {
		send_reply(bev, admin_error("request over %u bytes", MAX_REQUEST));
		bufferevent_free(bev);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
		      int socklen, void *arg)
{
	struct admin *a = arg;
	struct bufferevent *bev;

	/* The socket file is 0600 already; the credential check also covers a socket passed
	 * on or a directory whose mode was changed by hand. */
	if (!unix_peer_is_root(fd)) {
		log_warn("admin socket: refused a client that is not root");
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, a);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct admin *admin__open(struct event_base *base, const char *path, admin_handler handler,
			  void *ctx)
{
	struct admin *a = calloc(1, sizeof(*a));
	int fd;

	if (!a)
		return NULL;
	a->handler = handler;
	a->ctx = ctx;
	a->path = strdup(path);
	fd = unix_listen_root(path);
	if (fd < 0 || !a->path) {
		errno = fd < 0 ? -fd : ENOMEM;
		goto fail;
	}
	a->listener = evconnlistener_new(base, on_accept, a, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!a->listener) {
		close(fd);
		errno = ENOMEM;
		goto fail;
	}
	return a;
fail:
	admin__close(a);
	return NULL;
}

void admin__close(struct admin *a)
{
	if (!a)
		return;
	if (a->listener) {
		evconnlistener_free(a->listener);
		(void)unlink(a->path);
	}
	free(a->path);
	free(a);
}
