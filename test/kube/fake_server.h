/* fake_server.h - a scripted HTTP/1.1 server on 127.0.0.1 that runs in the
 * test's own event loop, so that a test decides, request by request, what
 * the API server answers and when a watch stream sends, ends or breaks. */
#ifndef HANDOFF_TEST_FAKE_SERVER_H
#define HANDOFF_TEST_FAKE_SERVER_H

#include <stddef.h>

struct loop;
struct fake_server;
struct fake_conn; /* one request; valid until fake_server_free */

/* A request arrived: `target` is the path and query, `auth` the
 * Authorization header ("" when none). Answer now or later. */
typedef void (*fake_request_cb)(void *arg, struct fake_conn *c, const char *target,
                                const char *auth);

struct fake_server *fake_server_new(struct loop *l, fake_request_cb cb, void *arg);
int fake_server_port(const struct fake_server *s);
void fake_server_free(struct fake_server *s);

/* A whole response (Content-Length), then the connection closes. */
void fake_reply(struct fake_conn *c, int status, const char *body);
/* Likewise with extra header lines, each ending in "\r\n". */
void fake_reply_with(struct fake_conn *c, int status, const char *headers, const char *body);
/* A 200 with a chunked body that stays open: a watch. */
void fake_stream_begin(struct fake_conn *c);
/* One chunk. */
void fake_stream_send(struct fake_conn *c, const char *data);
/* The last chunk, then close: a watch that ended after its timeout. */
void fake_stream_end(struct fake_conn *c);
/* Announce a chunk longer than `partial`, send `partial`, close: a
 * connection dropped mid-chunk. */
void fake_stream_drop(struct fake_conn *c, const char *partial);
/* The client closed its side (it aborted the transfer). */
int fake_conn_closed(const struct fake_conn *c);

#endif
