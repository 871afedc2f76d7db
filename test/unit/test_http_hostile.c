/* The HTTP server inside the event loop against clients that pipeline,
 * send bodies, or exhaust descriptors: every pipelined request is answered,
 * the loop never spins (its CPU time stays bounded while idle) and SIGTERM,
 * delivered through the loop as in the watcher, still ends it. The server
 * runs in a forked child on 127.0.0.1; the test talks raw sockets. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http/server.h"
#include "util/loop.h"

static void handler(void *arg, const char *path, struct http_response *r)
{
	int *hits = arg;
	(*hits)++;
	if (!strcmp(path, "/healthz")) {
		r->body = strdup("ok\n");
	} else {
		r->body = malloc(32);
		snprintf(r->body, 32, "hit %d\n", *hits);
	}
}

static void on_term(struct loop *l, int signo, void *arg)
{
	loop_stop(l);
}

struct srv {
	pid_t pid;
	int port;
};

static pid_t child = -1; /* killed by teardown whatever the test's outcome */

static int kill_child(void **state)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	child = -1;
	return 0;
}

/* `nofile`: the child's descriptor limit (0: unchanged). */
static struct srv start(rlim_t nofile)
{
	int p[2];
	struct srv s = {-1, 0};

	assert_int_equal(pipe(p), 0);
	s.pid = fork();
	if (s.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
		struct loop *l = loop_new();
		struct herr err = {{0}};
		int hits = 0, port = -1;
		struct http_server *h = http_server_new(l, "127.0.0.1:0", handler, &hits, &err);
		if (h)
			port = http_server_port(h);
		loop_add_signal(l, SIGTERM, on_term, NULL);
		if (nofile) {
			struct rlimit rl = {nofile, nofile};
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (write(p[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		if (h)
			loop_run(l);
		http_server_free(h);
		loop_free(l);
		_exit(0);
	}
	child = s.pid;
	assert_int_equal(read(p[0], &s.port, sizeof(s.port)), sizeof(s.port));
	assert_true(s.port > 0);
	close(p[0]);
	close(p[1]);
	return s;
}

/* The child's user+system CPU time, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command's closing parenthesis: state is 3rd,
	 * utime the 14th and stime the 15th of the line. */
	char *q = strrchr(buf, ')');
	if (!q ||
	    sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
		return -1;
	return ut + st;
}

/* CPU the idle server burns over `ms`: a turning loop uses none. */
static double idle_cpu_share(pid_t pid, int ms)
{
	long t0 = cpu_ticks(pid);
	usleep((useconds_t)ms * 1000);
	long t1 = cpu_ticks(pid);
	return (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK) / (ms / 1000.0);
}

/* SIGTERM goes through the loop (signalfd): it ends only if the loop turns. */
static void stop(struct srv s)
{
	int status = 0;

	kill(s.pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
			child = -1;
			assert_true(WIFEXITED(status));
			return;
		}
		usleep(10000);
	}
	fail_msg("the server did not end within 3 s of SIGTERM");
}

static int connect_to(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *data)
{
	size_t len = strlen(data), off = 0;
	while (off < len) {
		ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		assert_true(n > 0);
		off += (size_t)n;
	}
}

/* Complete responses (headers and content-length bytes of body) in buf. */
static int complete_responses(const char *buf)
{
	int n = 0;
	const char *p = buf;

	while ((p = strstr(p, "HTTP/1.1 "))) {
		const char *end = strstr(p, "\r\n\r\n");
		const char *cl = strcasestr(p, "content-length: ");
		if (!end || !cl || cl > end)
			break;
		size_t len = strtoul(cl + 16, NULL, 10);
		if (strlen(end + 4) < len)
			break;
		n++;
		p = end + 4 + len;
	}
	return n;
}

/* Read what arrives until `want` whole responses came, the peer closes, or
 * 3 s pass; returns the whole responses seen. */
static int read_responses(int fd, int want, char *buf, size_t cap)
{
	size_t len = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf[0] = '\0';
	while (complete_responses(buf) < want) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left =
		    3000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return complete_responses(buf);
}

static void healthz_answers(int port)
{
	char buf[4096];
	int fd = connect_to(port);
	send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_responses(fd, 1, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "\r\n\r\nok\n"));
	close(fd);
}

static void every_pipelined_get_is_answered(void **state)
{
	enum { N = 8 };
	struct srv s = start(0);
	char req[N * 64] = "", buf[32768];
	int fd = connect_to(s.port);

	for (int i = 0; i < N; i++)
		strcat(req, "GET /n HTTP/1.1\r\nHost: x\r\n\r\n");
	send_all(fd, req); /* one write: all N arrive together */
	int got = read_responses(fd, N, buf, sizeof(buf));
	if (got != N)
		fail_msg("%d of %d pipelined requests answered:\n%s", got, N, buf);
	/* In order, each once. */
	const char *p = buf;
	for (int i = 1; i <= N; i++) {
		char want[16];
		snprintf(want, sizeof(want), "hit %d\n", i);
		if (!(p = strstr(p, want)))
			fail_msg("\"%s\" missing or out of order:\n%s", want, buf);
	}
	close(fd);
	healthz_answers(s.port);
	stop(s);
}

static void pipelined_body_then_close_does_not_spin(void **state)
{
	struct srv s = start(0);
	char buf[8192];
	int fd = connect_to(s.port);

	send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	             "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
	assert_int_equal(read_responses(fd, 2, buf, sizeof(buf)), 2);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "HTTP/1.1 405")); /* the POST, refused */
	close(fd);
	usleep(200 * 1000);
	double share = idle_cpu_share(s.pid, 1000);
	printf("# idle CPU after a pipelined body and close: %.0f%%\n", share * 100);
	if (share > 0.1)
		fail_msg("the idle server used %.0f%% of a CPU", share * 100);
	healthz_answers(s.port);
	stop(s);
}

static void accept_at_emfile_does_not_spin(void **state)
{
	enum { CLIENTS = 24 };
	/* The child has about 10 descriptors of its own: 16 leaves a few
	 * for connections, fewer than CLIENTS. */
	struct srv s = start(16);
	int fds[CLIENTS];

	for (int i = 0; i < CLIENTS; i++)
		fds[i] = connect_to(s.port); /* the kernel accepts into the backlog */
	usleep(300 * 1000);
	double share = idle_cpu_share(s.pid, 1000);
	printf("# CPU with connections waiting at EMFILE: %.0f%%\n", share * 100);
	if (share > 0.1)
		fail_msg("the server used %.0f%% of a CPU at EMFILE", share * 100);
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
	/* Descriptors free again: served as before (the closed ones go first). */
	healthz_answers(s.port);
	stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(every_pipelined_get_is_answered, kill_child),
	    cmocka_unit_test_teardown(pipelined_body_then_close_does_not_spin, kill_child),
	    cmocka_unit_test_teardown(accept_at_emfile_does_not_spin, kill_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
