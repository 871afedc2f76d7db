/* server.h - a small HTTP server for the node's endpoints (/healthz,
 * /readyz, /metrics, /migrations), on libwebsockets, inside the watcher's
 * epoll loop.
 *
 * Debian's libwebsockets is built without external-poll callbacks, so the
 * server owns its listening socket: it accepts connections itself, hands each
 * one to libwebsockets (lws_adopt_socket) for HTTP parsing and responses, and
 * services it with lws_service_fd when epoll says it is ready. */
#ifndef HANDOFF_HTTP_SERVER_H
#define HANDOFF_HTTP_SERVER_H

#include <stddef.h>

#include "util/err.h"

struct loop;

struct http_response {
	int status;               /* 200 unless set */
	const char *content_type; /* "text/plain; charset=utf-8" unless set */
	char *body;               /* malloc'ed by the handler; the server frees it */
	size_t len;
};

/* Fill `resp` for a GET of `path` (query string stripped). Unknown paths: 404. */
typedef void (*http_handler)(void *arg, const char *path, struct http_response *resp);

struct http_server;

/* Listen on "ADDR:PORT" ("127.0.0.1:9099", "[::1]:0"; port 0 picks one). */
struct http_server *http_server_new(struct loop *l, const char *addr, http_handler h, void *arg,
                                    struct herr *err);
void http_server_free(struct http_server *s);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);

#endif
