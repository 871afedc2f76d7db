/* fake_server.c - see fake_server.h. Loopback only, small writes: a blocking
 * send() into an empty socket buffer never waits. */
#define _GNU_SOURCE
#include "fake_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/loop.h"

struct fake_conn {
	struct fake_server *s;
	int fd;
	char req[8192];
	size_t len;
	bool answered, closed;
	struct fake_conn *next;
};

struct fake_server {
	struct loop *loop;
	int fd, port;
	fake_request_cb cb;
	void *arg;
	struct fake_conn *conns;
};

static void conn_close(struct fake_conn *c)
{
	if (c->closed)
		return;
	loop_del_fd(c->s->loop, c->fd);
	close(c->fd);
	c->closed = true;
}

static void put(struct fake_conn *c, const char *data, size_t len)
{
	if (!c->closed)
		send(c->fd, data, len, MSG_NOSIGNAL);
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct fake_conn *c = arg;
	ssize_t n;

	if (c->len + 1 >= sizeof(c->req)) {
		conn_close(c);
		return;
	}
	n = recv(fd, c->req + c->len, sizeof(c->req) - 1 - c->len, 0);
	if (n <= 0) {
		conn_close(c); /* the client went away */
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = 0;
	if (c->answered || !strstr(c->req, "\r\n\r\n"))
		return;
	c->answered = true;

	char target[4096] = "", auth[1024] = "";
	sscanf(c->req, "GET %4095s HTTP/1.1", target);
	for (char *h = strstr(c->req, "\r\n"); h; h = strstr(h + 2, "\r\n"))
		if (!strncasecmp(h + 2, "Authorization: ", 15))
			sscanf(h + 2 + 15, "%1023[^\r]", auth);
	c->s->cb(c->s->arg, c, target, auth);
}

static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct fake_server *s = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	struct fake_conn *c;

	if (cfd < 0)
		return;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(cfd);
		return;
	}
	c->s = s;
	c->fd = cfd;
	c->next = s->conns;
	s->conns = c;
	loop_add_fd(l, cfd, EPOLLIN, on_conn, c);
}

struct fake_server *fake_server_new(struct loop *l, fake_request_cb cb, void *arg)
{
	struct fake_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	if (!s)
		return NULL;
	s->loop = l;
	s->cb = cb;
	s->arg = arg;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->fd, 16) < 0 || getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0 ||
	    loop_add_fd(l, s->fd, EPOLLIN, on_accept, s) < 0) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	s->port = ntohs(a.sin_port);
	return s;
}

int fake_server_port(const struct fake_server *s)
{
	return s->port;
}

void fake_server_free(struct fake_server *s)
{
	if (!s)
		return;
	while (s->conns) {
		struct fake_conn *c = s->conns;
		s->conns = c->next;
		conn_close(c);
		free(c);
	}
	loop_del_fd(s->loop, s->fd);
	close(s->fd);
	free(s);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 410:
		return "Gone";
	case 429:
		return "Too Many Requests";
	default:
		return "Error";
	}
}

void fake_reply_with(struct fake_conn *c, int status, const char *headers, const char *body)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
	                 status, reason(status), strlen(body), headers);

	put(c, head, (size_t)n);
	put(c, body, strlen(body));
	conn_close(c);
}

void fake_reply(struct fake_conn *c, int status, const char *body)
{
	fake_reply_with(c, status, "", body);
}

void fake_stream_begin(struct fake_conn *c)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

	put(c, head, sizeof(head) - 1);
}

void fake_stream_send(struct fake_conn *c, const char *data)
{
	char size[32];
	int n = snprintf(size, sizeof(size), "%zx\r\n", strlen(data));

	put(c, size, (size_t)n);
	put(c, data, strlen(data));
	put(c, "\r\n", 2);
}

void fake_stream_end(struct fake_conn *c)
{
	put(c, "0\r\n\r\n", 5);
	conn_close(c);
}

void fake_stream_drop(struct fake_conn *c, const char *partial)
{
	char size[32];
	int n = snprintf(size, sizeof(size), "%zx\r\n", strlen(partial) + 100);

	put(c, size, (size_t)n);
	put(c, partial, strlen(partial));
	conn_close(c);
}

int fake_conn_closed(const struct fake_conn *c)
{
	return c->closed;
}
