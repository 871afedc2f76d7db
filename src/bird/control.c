/* control.c - BIRD 1.x control-socket client: connect, greeting, one command,
 * one reply, all under one deadline. See control.h for the protocol. */
#define _GNU_SOURCE
#include "bird/control.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/loop.h"

#define COMMAND_MAX 900         /* BIRD answers "9000 Command too long" beyond ~1 KiB */
#define REPLY_MAX   (16u << 20) /* a `show route all` of a large table fits */
#define LINE_MAX_   4096        /* BIRD 1.6 formats lines in 512-byte buffers */

struct conn {
	int fd;
	const char *sock_path;
	long long deadline_ms;
	char buf[LINE_MAX_];
	size_t have; /* bytes read but not yet consumed as lines */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bird_reply_free(struct bird_reply *reply)
{
	if (!reply)
		return;
	free(reply->text);
	reply->text = NULL;
	reply->len = 0;
}

/* Wait until fd is ready for `events` or the deadline passes. */
static int wait_ready(struct conn *c, short events, const char *doing, struct herr *err)
{
	for (;;) {
		long long left = c->deadline_ms - now_ms();
		struct pollfd p = {.fd = c->fd, .events = events};
		int n;

		if (left <= 0)
			return herr_set(err, -ETIMEDOUT, "bird control socket %s: timed out %s",
			                c->sock_path, doing);
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return herr_set(err, -errno, "bird control socket %s: poll: %s",
			                c->sock_path, strerror(errno));
	}
}

static int conn_open(struct conn *c, struct herr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(c->sock_path) >= sizeof(sa.sun_path))
		return herr_set(err, -ENAMETOOLONG,
		                "bird control socket %s: path longer than %zu bytes", c->sock_path,
		                sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, c->sock_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return herr_set(err, -errno, "bird control socket: socket: %s", strerror(errno));
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		/* A Unix socket refuses with EAGAIN while BIRD's backlog is full:
		 * retry briefly, still bounded by the deadline. */
		if (errno == EAGAIN && now_ms() < c->deadline_ms) {
			nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000}, NULL);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return herr_set(err, -ETIMEDOUT,
			                "bird control socket %s: timed out connecting",
			                c->sock_path);
		return herr_set(err, -errno, "bird control socket %s: connect: %s%s", c->sock_path,
		                strerror(errno),
		                errno == ENOENT || errno == ECONNREFUSED ? " (is BIRD running?)"
		                                                         : "");
	}
}

static int send_all(struct conn *c, const char *data, size_t len, struct herr *err)
{
	while (len) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_ready(c, POLLOUT, "sending the command", err);
			if (r < 0)
				return r;
			continue;
		}
		return herr_set(err, -errno, "bird control socket %s: send: %s", c->sock_path,
		                strerror(errno));
	}
	return 0;
}

/* Read one line, without its '\n', into line (LINE_MAX_ bytes). */
static int read_line(struct conn *c, char *line, struct herr *err)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->have);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - c->buf);

			memcpy(line, c->buf, len);
			line[len] = '\0';
			c->have -= len + 1;
			memmove(c->buf, nl + 1, c->have);
			return 0;
		}
		if (c->have == sizeof(c->buf))
			return herr_set(err, -EPROTO,
			                "bird control socket %s: reply line longer than %d bytes",
			                c->sock_path, LINE_MAX_ - 1);
		n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
		if (n > 0) {
			c->have += (size_t)n;
			continue;
		}
		if (n == 0)
			return herr_set(
			    err, -ECONNRESET,
			    "bird control socket %s: BIRD closed the connection mid-reply",
			    c->sock_path);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			int r = wait_ready(c, POLLIN, "waiting for BIRD's reply", err);
			if (r < 0)
				return r;
			continue;
		}
		return herr_set(err, -errno, "bird control socket %s: read: %s", c->sock_path,
		                strerror(errno));
	}
}

static int reply_append(struct bird_reply *r, const char *text, bool first, const char *sock,
                        struct herr *err)
{
	size_t tlen = strlen(text), need = r->len + (first ? 0 : 1) + tlen + 1;
	char *p;

	if (need > REPLY_MAX)
		return herr_set(err, -EMSGSIZE,
		                "bird control socket %s: reply larger than %u bytes", sock,
		                REPLY_MAX);
	p = realloc(r->text, need);
	if (!p)
		return herr_set(err, -ENOMEM, "bird control socket %s: out of memory", sock);
	r->text = p;
	if (!first)
		r->text[r->len++] = '\n';
	memcpy(r->text + r->len, text, tlen + 1);
	r->len += tlen;
	return 0;
}

/* One reply, parsed a line at a time (the blocking and the loop-driven
 * clients share it). */
struct reply_state {
	struct bird_reply *r;
	int code;
	bool first;
	char last[LINE_MAX_]; /* the final line's text, for error messages */
};

static int reply_begin(struct reply_state *st, struct bird_reply *r, const char *sock,
                       struct herr *err)
{
	st->r = r;
	st->code = -1;
	st->first = true;
	st->last[0] = '\0';
	r->code = -1;
	r->len = 0;
	free(r->text);
	r->text = calloc(1, 1);
	if (!r->text)
		return herr_set(err, -ENOMEM, "bird control socket %s: out of memory", sock);
	return 0;
}

/* Feed one line (without '\n'): 1 when it ended the reply, 0 when more
 * lines belong to it, or a negative errno. */
static int reply_line(struct reply_state *st, const char *line, const char *sock, struct herr *err)
{
	const char *text;
	bool final = false;
	int rc;

	if (line[0] == '+') /* spontaneous printout: not part of this reply */
		return 0;
	if (line[0] == ' ') { /* continues the previous code */
		if (st->code < 0)
			return herr_set(err, -EPROTO,
			                "bird control socket %s: continuation line before any "
			                "code: \"%.60s\"",
			                sock, line);
		text = line + 1;
	} else if (isdigit((unsigned char)line[0]) && isdigit((unsigned char)line[1]) &&
	           isdigit((unsigned char)line[2]) && isdigit((unsigned char)line[3]) &&
	           (line[4] == '-' || line[4] == ' ' || line[4] == '\0')) {
		st->code = (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 +
		           (line[3] - '0');
		final = line[4] != '-';
		text = line[4] ? line + 5 : line + 4;
	} else {
		return herr_set(err, -EPROTO,
		                "bird control socket %s: not a BIRD reply line: \"%.60s\"", sock,
		                line);
	}
	rc = reply_append(st->r, text, st->first, sock, err);
	if (rc < 0)
		return rc;
	st->first = false;
	if (!final)
		return 0;
	st->r->code = st->code;
	snprintf(st->last, sizeof(st->last), "%s", text);
	return 1;
}

/* Read one reply: lines until one whose code is followed by a space. The
 * final line's text goes to `last` (LINE_MAX_ bytes) for error messages. */
static int read_reply(struct conn *c, struct bird_reply *r, char *last, struct herr *err)
{
	char line[LINE_MAX_];
	struct reply_state st;
	int rc = reply_begin(&st, r, c->sock_path, err);

	while (rc == 0) {
		rc = read_line(c, line, err);
		if (rc == 0)
			rc = reply_line(&st, line, c->sock_path, err);
	}
	if (rc == 1)
		strcpy(last, st.last);
	return rc < 0 ? rc : 0;
}

/* What a command's final reply code means: 0 for success codes, -EINVAL
 * with BIRD's words for errors. */
static int reply_verdict(const char *sock_path, const char *command, const struct bird_reply *r,
                         const char *last, struct herr *err)
{
	switch (r->code / 1000) {
	case 0: /* success */
	case 1: /* table rows */
	case 2: /* table headings */
		return 0;
	case 8: /* run-time error, e.g. 8002 configuration file error */
	case 9: /* the command did not parse */
		return herr_set(err, -EINVAL, "BIRD (%s) rejected `%s`: %04d %s", sock_path,
		                command, r->code, last);
	default:
		return herr_set(err, -EPROTO, "BIRD (%s) answered `%s` with unknown code %04d %s",
		                sock_path, command, r->code, last);
	}
}

int bird_control_command(const char *sock_path, const char *command, int timeout_ms,
                         struct bird_reply *reply, struct herr *err)
{
	struct bird_reply local = {.code = -1}, *r = reply ? reply : &local;
	struct conn c = {.fd = -1, .sock_path = sock_path};
	char last[LINE_MAX_], line[COMMAND_MAX + 2];
	size_t clen = strlen(command);
	int rc;

	r->code = -1;
	r->text = NULL;
	r->len = 0;
	if (clen == 0 || clen > COMMAND_MAX || strchr(command, '\n'))
		return herr_set(err, -EINVAL,
		                "bird control command: must be one line of 1 to %d bytes (got %zu)",
		                COMMAND_MAX, clen);
	c.deadline_ms = now_ms() + (timeout_ms > 0 ? timeout_ms : BIRD_CONTROL_TIMEOUT_MS);
	rc = conn_open(&c, err);
	if (rc < 0)
		goto out;

	/* The greeting is a reply of its own: "0001 BIRD 1.6.8 ready." */
	rc = read_reply(&c, r, last, err);
	if (rc == 0 && r->code != BIRD_CODE_WELCOME)
		rc = herr_set(err, -EPROTO,
		              "bird control socket %s: expected the greeting 0001, got %04d %.60s",
		              sock_path, r->code, last);
	if (rc < 0)
		goto out;

	memcpy(line, command, clen);
	line[clen] = '\n';
	rc = send_all(&c, line, clen + 1, err);
	if (rc < 0)
		goto out;
	rc = read_reply(&c, r, last, err);
	if (rc < 0)
		goto out;
	rc = reply_verdict(sock_path, command, r, last, err);
out:
	if (c.fd >= 0)
		close(c.fd);
	bird_reply_free(&local);
	return rc;
}

/* Quote a path for a BIRD command: BIRD 1.6's lexer has no escapes in
 * strings, so a path with a quote or a line break cannot be sent. */
static int quoted_path(char *out, size_t cap, const char *what, const char *path, struct herr *err)
{
	if (path[0] != '/')
		return herr_set(
		    err, -EINVAL,
		    "bird %s: configuration path \"%s\" must be absolute (BIRD resolves "
		    "relative paths from its own working directory)",
		    what, path);
	if (strpbrk(path, "\"\n\r"))
		return herr_set(err, -EINVAL,
		                "bird %s: configuration path \"%s\" contains a quote or line break",
		                what, path);
	if ((size_t)snprintf(out, cap, "\"%s\"", path) >= cap)
		return herr_set(err, -ENAMETOOLONG, "bird %s: configuration path too long: %s",
		                what, path);
	return 0;
}

/* A `configure` command's outcome from its reply (rc: the command's). */
static int configure_verdict(const char *sock_path, const char *cmd, int rc,
                             const struct bird_reply *r, struct herr *err);

int bird_control_configure(const char *sock_path, const char *cfg_path, struct bird_reply *reply,
                           struct herr *err)
{
	struct bird_reply local = {.code = -1}, *r = reply ? reply : &local;
	char cmd[COMMAND_MAX + 1], q[COMMAND_MAX - 16];
	int rc = quoted_path(q, sizeof(q), "configure", cfg_path, err);

	if (rc < 0)
		return rc;
	snprintf(cmd, sizeof(cmd), "configure %s", q);
	rc = bird_control_command(sock_path, cmd, BIRD_CONTROL_TIMEOUT_MS, r, err);
	rc = configure_verdict(sock_path, cmd, rc, r, err);
	bird_reply_free(&local);
	return rc;
}

/* A `configure` command's outcome from its reply (rc: the command's). */
static int configure_verdict(const char *sock_path, const char *cmd, int rc,
                             const struct bird_reply *r, struct herr *err)
{
	if (rc == 0) {
		switch (r->code) {
		case BIRD_CODE_RECONFIGURED:
		case BIRD_CODE_RECONFIG_INPROGRESS:
		case BIRD_CODE_RECONFIG_QUEUED:
		case BIRD_CODE_RECONFIG_UNQUEUED:
			break;
		case BIRD_CODE_RECONFIG_IGNORED:
			rc =
			    herr_set(err, -ECANCELED, "BIRD (%s) ignored `%s`: it is shutting down",
			             sock_path, cmd);
			break;
		case BIRD_CODE_ACCESS_RESTRICTED:
			rc = herr_set(err, -EPERM,
			              "BIRD (%s) refused `%s`: the control socket is restricted",
			              sock_path, cmd);
			break;
		default:
			rc = herr_set(err, -EPROTO,
			              "BIRD (%s) answered `%s` with unexpected code %04d",
			              sock_path, cmd, r->code);
		}
	}
	return rc;
}

int bird_control_configure_check(const char *sock_path, const char *cfg_path,
                                 struct bird_reply *reply, struct herr *err)
{
	struct bird_reply local = {.code = -1}, *r = reply ? reply : &local;
	char cmd[COMMAND_MAX + 1] = "configure check", q[COMMAND_MAX - 16];
	int rc;

	if (cfg_path) {
		rc = quoted_path(q, sizeof(q), "configure check", cfg_path, err);
		if (rc < 0)
			return rc;
		snprintf(cmd, sizeof(cmd), "configure check %s", q);
	}
	rc = bird_control_command(sock_path, cmd, BIRD_CONTROL_TIMEOUT_MS, r, err);
	if (rc == 0 && r->code != BIRD_CODE_CONFIG_OK)
		rc = herr_set(err, -EPROTO, "BIRD (%s) answered `%s` with unexpected code %04d",
		              sock_path, cmd, r->code);
	bird_reply_free(&local);
	return rc;
}

int bird_control_show_status(const char *sock_path, struct bird_reply *reply, struct herr *err)
{
	struct bird_reply local = {.code = -1}, *r = reply ? reply : &local;
	int rc = bird_control_command(sock_path, "show status", BIRD_CONTROL_TIMEOUT_MS, r, err);

	if (rc == 0 && r->code != BIRD_CODE_STATUS)
		rc = herr_set(err, -EPROTO,
		              "BIRD (%s) answered `show status` with unexpected code %04d",
		              sock_path, r->code);
	bird_reply_free(&local);
	return rc;
}

/* ---- the same protocol driven by the event loop ------------------------------ */

enum async_phase { PHASE_GREETING, PHASE_SENDING, PHASE_REPLY };

struct bird_async {
	struct loop *loop;
	int fd;
	struct loop_timer *timer;
	enum async_phase phase;
	bool configure; /* map the reply as bird_control_configure() does */
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char command[COMMAND_MAX + 2]; /* with its '\n' */
	size_t clen, sent;
	char buf[LINE_MAX_];
	size_t have;
	struct reply_state st;
	struct bird_reply reply;
	bird_async_cb cb;
	void *arg;
};

static void async_free(struct bird_async *a)
{
	if (a->fd >= 0) {
		loop_del_fd(a->loop, a->fd);
		close(a->fd);
	}
	loop_timer_free(a->timer);
	bird_reply_free(&a->reply);
	free(a);
}

/* Report the outcome once and release everything. */
static void async_finish(struct bird_async *a, int rc, struct herr *err)
{
	char cmd[COMMAND_MAX + 1];

	snprintf(cmd, sizeof(cmd), "%.*s", (int)a->clen - 1, a->command);
	if (rc == 0 && a->phase == PHASE_REPLY)
		rc = reply_verdict(a->sock_path, cmd, &a->reply, a->st.last, err);
	if (a->configure)
		rc = configure_verdict(a->sock_path, cmd, rc, &a->reply, err);
	/* Closed before the callback, which may start the next command. */
	loop_del_fd(a->loop, a->fd);
	close(a->fd);
	a->fd = -1;
	a->cb(a->arg, rc, &a->reply, err);
	async_free(a);
}

static void async_timeout(struct loop *l, struct loop_timer *t, void *arg)
{
	struct bird_async *a = arg;
	static const char *const doing[] = {"waiting for the greeting", "sending the command",
	                                    "waiting for BIRD's reply"};
	struct herr err = {{0}};

	herr_set(&err, -ETIMEDOUT, "bird control socket %s: timed out %s", a->sock_path,
	         doing[a->phase]);
	async_finish(a, -ETIMEDOUT, &err);
}

/* Parse the complete lines in the buffer: 1 when a reply ended. */
static int async_lines(struct bird_async *a, struct herr *err)
{
	char *nl;

	while ((nl = memchr(a->buf, '\n', a->have))) {
		size_t len = (size_t)(nl - a->buf);
		int rc;

		*nl = '\0';
		rc = reply_line(&a->st, a->buf, a->sock_path, err);
		a->have -= len + 1;
		memmove(a->buf, nl + 1, a->have);
		if (rc != 0)
			return rc;
	}
	if (a->have == sizeof(a->buf))
		return herr_set(err, -EPROTO,
		                "bird control socket %s: reply line longer than %d bytes",
		                a->sock_path, LINE_MAX_ - 1);
	return 0;
}

static int async_send(struct bird_async *a, struct herr *err)
{
	while (a->sent < a->clen) {
		ssize_t n = send(a->fd, a->command + a->sent, a->clen - a->sent, MSG_NOSIGNAL);
		if (n > 0) {
			a->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return loop_mod_fd(a->loop, a->fd, EPOLLOUT);
		return herr_set(err, -errno, "bird control socket %s: send: %s", a->sock_path,
		                strerror(errno));
	}
	a->phase = PHASE_REPLY;
	int rc = reply_begin(&a->st, &a->reply, a->sock_path, err);
	return rc < 0 ? rc : loop_mod_fd(a->loop, a->fd, EPOLLIN);
}

static void async_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct bird_async *a = arg;
	struct herr err = {{0}};
	int rc = 0;

	if (a->phase == PHASE_SENDING) {
		if ((rc = async_send(a, &err)) < 0)
			async_finish(a, rc, &err);
		return;
	}
	for (;;) {
		ssize_t n = read(fd, a->buf + a->have, sizeof(a->buf) - a->have);
		if (n == 0) {
			herr_set(&err, -ECONNRESET,
			         "bird control socket %s: BIRD closed the connection mid-reply",
			         a->sock_path);
			async_finish(a, -ECONNRESET, &err);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* wait for more */
		if (n < 0) {
			rc = herr_set(&err, -errno, "bird control socket %s: read: %s",
			              a->sock_path, strerror(errno));
			async_finish(a, rc, &err);
			return;
		}
		a->have += (size_t)n;
		rc = async_lines(a, &err);
		if (rc < 0) {
			async_finish(a, rc, &err);
			return;
		}
		if (rc == 0)
			continue;
		if (a->phase == PHASE_REPLY) {
			async_finish(a, 0, &err);
			return;
		}
		/* The greeting ended. */
		if (a->reply.code != BIRD_CODE_WELCOME) {
			rc = herr_set(&err, -EPROTO,
			              "bird control socket %s: expected the greeting 0001, got "
			              "%04d %.60s",
			              a->sock_path, a->reply.code, a->st.last);
			async_finish(a, rc, &err);
			return;
		}
		a->phase = PHASE_SENDING;
		if ((rc = async_send(a, &err)) < 0) {
			async_finish(a, rc, &err);
			return;
		}
		if (a->phase == PHASE_SENDING)
			return;
		/* Lines after the greeting already read belong to the reply. */
		rc = async_lines(a, &err);
		if (rc != 0) {
			async_finish(a, rc < 0 ? rc : 0, &err);
			return;
		}
	}
}

int bird_async_command(struct loop *l, const char *sock_path, const char *command, int timeout_ms,
                       bird_async_cb cb, void *arg, struct bird_async **out, struct herr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t clen = strlen(command);
	struct bird_async *a;
	int rc;

	*out = NULL;
	if (clen == 0 || clen > COMMAND_MAX || strchr(command, '\n'))
		return herr_set(err, -EINVAL,
		                "bird control command: must be one line of 1 to %d bytes (got %zu)",
		                COMMAND_MAX, clen);
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return herr_set(err, -ENAMETOOLONG,
		                "bird control socket %s: path longer than %zu bytes", sock_path,
		                sizeof(sa.sun_path) - 1);
	a = calloc(1, sizeof(*a));
	if (!a)
		return herr_set(err, -ENOMEM, "bird control socket %s: out of memory", sock_path);
	a->loop = l;
	a->cb = cb;
	a->arg = arg;
	a->reply.code = -1;
	strcpy(a->sock_path, sock_path);
	strcpy(sa.sun_path, sock_path);
	memcpy(a->command, command, clen);
	a->command[clen] = '\n';
	a->clen = clen + 1;
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		rc = herr_set(err, -errno, "bird control socket: socket: %s", strerror(errno));
		goto fail;
	}
	/* A Unix socket connects at once or not at all; EAGAIN means BIRD's
	 * backlog is full: the caller tries again later. */
	while (connect(a->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		rc = herr_set(err, -errno, "bird control socket %s: connect: %s%s", sock_path,
		              strerror(errno),
		              errno == ENOENT || errno == ECONNREFUSED ? " (is BIRD running?)"
		              : errno == EAGAIN                        ? " (BIRD's backlog is full)"
		                                                       : "");
		goto fail;
	}
	if ((rc = reply_begin(&a->st, &a->reply, sock_path, err)) < 0)
		goto fail;
	a->timer = loop_timer_new(l, async_timeout, a);
	if (!a->timer) {
		rc = herr_set(err, -ENOMEM, "bird control socket %s: out of memory", sock_path);
		goto fail;
	}
	if ((rc = loop_add_fd(l, a->fd, EPOLLIN, async_event, a)) < 0) {
		herr_set(err, rc, "bird control socket %s: epoll: %s", sock_path, strerror(-rc));
		goto fail;
	}
	loop_timer_arm(a->timer, (uint64_t)(timeout_ms > 0 ? timeout_ms : BIRD_CONTROL_TIMEOUT_MS));
	*out = a;
	return 0;
fail:
	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
	async_free(a);
	return rc;
}

int bird_async_configure(struct loop *l, const char *sock_path, const char *cfg_path,
                         int timeout_ms, bird_async_cb cb, void *arg, struct bird_async **out,
                         struct herr *err)
{
	char cmd[COMMAND_MAX + 1], q[COMMAND_MAX - 16];
	int rc = quoted_path(q, sizeof(q), "configure", cfg_path, err);

	*out = NULL;
	if (rc < 0)
		return rc;
	snprintf(cmd, sizeof(cmd), "configure %s", q);
	rc = bird_async_command(l, sock_path, cmd, timeout_ms, cb, arg, out, err);
	if (rc == 0)
		(*out)->configure = true;
	return rc;
}

void bird_async_cancel(struct bird_async *a)
{
	if (a)
		async_free(a);
}
