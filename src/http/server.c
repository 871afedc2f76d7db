/* server.c - accept ourselves, let libwebsockets speak HTTP.
 *
 * libwebsockets keeps input it has read but not parsed yet (the next of
 * several pipelined requests, a body after the headers) in a per-connection
 * buffer list. Its own poll loop fakes POLLIN for such connections; in this
 * epoll loop nothing would, and lws_service_adjust_timeout() keeps saying
 * "service pending" - waiting for it in a loop spun forever (SIGTERM never
 * reached the loop) and left pipelined requests unanswered. So after every
 * event the server fakes POLLIN itself, for a bounded number of rounds and
 * only while that makes progress (a callback ran); what is still pending
 * then waits for the next turn of the loop through a zero-delay timer.
 *
 * accept() at EMFILE/ENFILE leaves the listening socket readable: accepting
 * pauses (no epoll interest) and resumes when one of our connections closes
 * or after ACCEPT_PAUSE_MS (descriptors freed elsewhere), so the loop sleeps
 * while connections wait in the backlog instead of spinning. */
#define _GNU_SOURCE
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/loop.h"

/* One accepted connection, from accept() until libwebsockets destroys it. */
struct conn {
	struct http_server *srv;
	struct lws *wsi;
	int fd;
	uint32_t events;
	bool want_write; /* a response is being sent */
	uint64_t last_active;
	struct conn *next;
};

/* Per-request state libwebsockets keeps for us. */
struct request {
	struct http_response resp;
	size_t sent;
};

struct http_server {
	struct loop *loop;
	struct lws_context *ctx;
	struct loop_timer *housekeeping;
	struct loop_timer *pending;      /* services parsed-but-unserved input */
	struct loop_timer *accept_again; /* resumes accept() after EMFILE */
	uint64_t callbacks;              /* libwebsockets callbacks so far: progress */
	bool accept_paused;
	uint64_t told_accept_ms, accept_pauses; /* the pauses, logged once a minute */
	int lfd, port;
	http_handler handler;
	void *arg;
	struct conn *conns;
};

static struct conn *conn_of(struct http_server *s, struct lws *wsi)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->wsi == wsi)
			return c;
	return NULL;
}

static void conn_want(struct conn *c, uint32_t events)
{
	if (c->events != events && loop_mod_fd(c->srv->loop, c->fd, events) == 0)
		c->events = events;
}

static void conn_drop(struct http_server *s, struct conn *c)
{
	for (struct conn **p = &s->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	loop_del_fd(s->loop, c->fd); /* libwebsockets closes the fd itself */
	free(c);
	/* A descriptor is about to be free: accept again right after. */
	if (s->accept_paused)
		loop_timer_arm(s->accept_again, 0);
}

static int send_headers(struct lws *wsi, struct request *rq)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
	                                  *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(wsi, (unsigned int)rq->resp.status, rq->resp.content_type,
	                                (lws_filepos_t)rq->resp.len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                 (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 0;
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	struct http_server *s = ctx ? lws_context_user(ctx) : NULL;
	struct request *rq = user;
	struct conn *c;

	switch (reason) {
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
	case LWS_CALLBACK_HTTP:
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
	case LWS_CALLBACK_HTTP_WRITEABLE:
	case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		/* A connection moved on (not lws's own housekeeping). */
		if (s)
			s->callbacks++;
		break;
	default:
		break;
	}
	switch (reason) {
	case LWS_CALLBACK_HTTP: {
		char path[256];
		snprintf(path, sizeof(path), "%s", (const char *)in);
		memset(&rq->resp, 0, sizeof(rq->resp));
		rq->sent = 0;
		rq->resp.status = 200;
		rq->resp.content_type = "text/plain; charset=utf-8";
		if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 ||
		    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 ||
		    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
			/* Anything but a GET without a body: answered in one small
			 * write, then the connection closes, so that its body and
			 * whatever was pipelined after it are never parsed (lws
			 * 4.1 spins on a body whose request it considers answered). */
			lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
			                       "only GET without a body is served");
			return -1;
		} else {
			s->handler(s->arg, path, &rq->resp);
		}
		if (!rq->resp.body)
			rq->resp.body = strdup("");
		rq->resp.len = rq->resp.body ? strlen(rq->resp.body) : 0;
		if (send_headers(wsi, rq) < 0)
			return 1;
		lws_callback_on_writable(wsi);
		if ((c = conn_of(s, wsi)))
			c->want_write = true;
		return 0;
	}
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		size_t left = rq->resp.len - rq->sent, chunk = left < 16384 ? left : 16384;
		unsigned char *buf = malloc(LWS_PRE + chunk + 1);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, rq->resp.body + rq->sent, chunk);
		int n = lws_write(wsi, buf + LWS_PRE, chunk,
		                  chunk == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		free(buf);
		if (n < 0)
			return -1;
		rq->sent += chunk;
		if (rq->sent < rq->resp.len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		free(rq->resp.body);
		rq->resp.body = NULL;
		if ((c = conn_of(s, wsi)))
			c->want_write = false;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/* Refused above; should one come anyway, the connection goes. */
		return -1;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (rq) {
			free(rq->resp.body);
			rq->resp.body = NULL;
		}
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (s && (c = conn_of(s, wsi)))
			conn_drop(s, c);
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", on_lws, sizeof(struct request), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static struct conn *conn_by_fd(struct http_server *s, int fd)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->fd == fd)
			return c;
	return NULL;
}

/* Epoll interest after servicing: writable while we send, or while
 * libwebsockets holds the part of a write the socket did not take. */
static void conn_rearm(struct http_server *s, int fd)
{
	struct conn *c = conn_by_fd(s, fd);

	if (c) {
		bool out = c->want_write || lws_partial_buffered(c->wsi);
		conn_want(c, EPOLLIN | (out ? EPOLLOUT : 0));
	}
}

/* Rounds of faked POLLIN per loop turn: enough for a burst of pipelined
 * requests, small enough that the loop turns (signals, timers) between. */
#define PENDING_ROUNDS 32

static void service_pending(struct http_server *s)
{
	for (int round = 0; round < PENDING_ROUNDS; round++) {
		uint64_t before = s->callbacks;
		/* One pass over libwebsockets' own table, without waiting: the
		 * POLLOUT a kept-alive connection waits for (DEFERRING_ACTION)
		 * before it parses the next request, and input it buffered
		 * (its "ripe rxflow" pass fakes POLLIN for that). */
		lws_service_tsi(s->ctx, -1, 0);
		for (struct conn *c = s->conns; c; c = c->next) {
			bool out = c->want_write || lws_partial_buffered(c->wsi);
			conn_want(c, EPOLLIN | (out ? EPOLLOUT : 0));
		}
		if (s->callbacks == before)
			return; /* nothing moved: the next socket event will do */
	}
	/* Still moving: go on at the next turn of the loop, after what else is due. */
	loop_timer_arm(s->pending, 0);
}

static void on_pending(struct loop *l, struct loop_timer *t, void *arg)
{
	service_pending(arg);
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct lws_pollfd pfd = {.fd = fd, .events = 0, .revents = 0};
	struct http_server *srv = c->srv;

	c->last_active = loop_now_ms();
	if (events & EPOLLIN)
		pfd.revents |= LWS_POLLIN;
	if (events & EPOLLOUT)
		pfd.revents |= LWS_POLLOUT;
	if (events & (EPOLLHUP | EPOLLERR))
		pfd.revents |= LWS_POLLHUP;
	pfd.events = pfd.revents;
	/* `c` may be freed inside (WSI_DESTROY): found again by fd afterwards. */
	lws_service_fd(srv->ctx, &pfd);
	service_pending(srv);
	conn_rearm(srv, fd);
}

#define ACCEPT_PAUSE_MS 250

static void on_accept(struct loop *l, int lfd, uint32_t events, void *arg);

static void on_accept_again(struct loop *l, struct loop_timer *t, void *arg)
{
	struct http_server *s = arg;

	if (loop_mod_fd(l, s->lfd, EPOLLIN) == 0)
		s->accept_paused = false;
	else
		loop_timer_arm(t, ACCEPT_PAUSE_MS);
	on_accept(l, s->lfd, EPOLLIN, s);
}

static void on_accept(struct loop *l, int lfd, uint32_t events, void *arg)
{
	struct http_server *s = arg;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			     errno == ENOMEM) &&
			    !s->accept_paused) {
				/* The backlog keeps the connections; try again soon. */
				/* Said once a minute at most: under a flood this
				 * pauses every few connections. */
				uint64_t now = loop_now_ms();
				s->accept_pauses++;
				if (!s->told_accept_ms || now - s->told_accept_ms >= 60000) {
					hlog(HLOG_WARN, "HTTP: cannot accept, pausing",
					     "error=%s pause_ms=%d pauses=%llu",
					     hlog_q(strerror(errno)), ACCEPT_PAUSE_MS,
					     (unsigned long long)s->accept_pauses);
					s->told_accept_ms = now;
				}
				if (loop_mod_fd(l, lfd, 0) == 0)
					s->accept_paused = true;
				loop_timer_arm(s->accept_again, ACCEPT_PAUSE_MS);
			}
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->events = EPOLLIN;
		c->last_active = loop_now_ms();
		c->next = s->conns;
		s->conns = c;
		c->wsi = lws_adopt_socket(s->ctx, fd);
		if (!c->wsi) {
			s->conns = c->next;
			free(c);
			close(fd);
			continue;
		}
		if (loop_add_fd(l, fd, EPOLLIN, on_conn, c) < 0)
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	}
}

/* Connections idle longer than this are closed (libwebsockets' own timeouts
 * need its internal poll loop, which this server does not run). */
#define IDLE_CLOSE_MS 30000

static void on_housekeeping(struct loop *l, struct loop_timer *t, void *arg)
{
	struct http_server *s = arg;
	uint64_t now = loop_now_ms();

	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next; /* closing frees c */
		if (!c->want_write && now - c->last_active > IDLE_CLOSE_MS)
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
	}
	loop_timer_arm(t, 5000);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
                        struct herr *err)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return herr_set(err, -EINVAL, "http listen address \"%s\": expected ADDR:PORT",
		                listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return herr_set(err, -EINVAL, "http listen address \"%s\": bad port", listen);
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return herr_set(err, -EINVAL,
			                "http listen address \"%s\": bad IPv6 address", listen);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return herr_set(err, -EINVAL,
			                "http listen address \"%s\": bad IPv4 address", listen);
		*len = sizeof(*a);
	}
	return 0;
}

struct http_server *http_server_new(struct loop *l, const char *addr, http_handler h, void *arg,
                                    struct herr *err)
{
	struct http_server *s = calloc(1, sizeof(*s));
	struct lws_context_creation_info info;
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	if (!s)
		return NULL;
	s->loop = l;
	s->handler = h;
	s->arg = arg;
	s->lfd = -1;
	if (parse_listen(addr, &ss, &sl, err) < 0)
		goto fail;
	s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(s->lfd, 64) < 0) {
		herr_set(err, -errno, "http listen on %s: %s", addr, strerror(errno));
		goto fail;
	}
	sl = sizeof(ss);
	getsockname(s->lfd, (struct sockaddr *)&ss, &sl);
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                         : ((struct sockaddr_in *)&ss)->sin_port);

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	info.user = s;
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		herr_set(err, -ENOMEM, "http: libwebsockets context could not be created");
		goto fail;
	}
	s->housekeeping = loop_timer_new(l, on_housekeeping, s);
	s->pending = loop_timer_new(l, on_pending, s);
	s->accept_again = loop_timer_new(l, on_accept_again, s);
	if (!s->housekeeping || !s->pending || !s->accept_again ||
	    loop_add_fd(l, s->lfd, EPOLLIN, on_accept, s) < 0) {
		herr_set(err, -EIO, "http: cannot watch the listening socket");
		goto fail;
	}
	loop_timer_arm(s->housekeeping, 5000);
	return s;
fail:
	http_server_free(s);
	return NULL;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	if (s->lfd >= 0) {
		loop_del_fd(s->loop, s->lfd);
		close(s->lfd);
	}
	if (s->ctx)
		lws_context_destroy(s->ctx); /* destroys every connection: WSI_DESTROY drops them */
	while (s->conns)
		conn_drop(s, s->conns);
	loop_timer_free(s->housekeeping);
	loop_timer_free(s->pending);
	loop_timer_free(s->accept_again);
	free(s);
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}
