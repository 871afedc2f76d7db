/* The HTTP server inside the event loop: a forked child serves, the test
 * fetches with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/server.h"
#include "util/loop.h"

#define BIG (300 * 1000)

static void handler(void *arg, const char *path, struct http_response *r)
{
	int *hits = arg;
	(*hits)++;
	if (!strcmp(path, "/healthz")) {
		r->body = strdup("ok\n");
	} else if (!strcmp(path, "/hits")) {
		r->body = malloc(32);
		snprintf(r->body, 32, "%d\n", *hits);
	} else if (!strcmp(path, "/big")) {
		r->body = malloc(BIG + 1);
		for (int i = 0; i < BIG; i++)
			r->body[i] = (char)('a' + i % 26);
		r->body[BIG] = '\0';
		r->content_type = "application/octet-stream";
	} else {
		r->status = 404;
		r->body = strdup("not found\n");
	}
}

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	b->p = realloc(b->p, b->n + size * nmemb + 1);
	memcpy(b->p + b->n, data, size * nmemb);
	b->n += size * nmemb;
	b->p[b->n] = '\0';
	return size * nmemb;
}

static long get(CURL *c, int port, const char *path, struct buf *b, char *ctype)
{
	char url[128];
	long code = 0;
	char *ct = NULL;

	b->n = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (ctype)
		snprintf(ctype, 64, "%s", ct ? ct : "");
	return code;
}

static pid_t child = -1;

/* The server runs in a child process of its own (its loop blocks); the port
 * comes back through a pipe. */
static int start_server(void **state)
{
	int p[2];
	int port = 0;

	if (pipe(p) < 0)
		return -1;
	child = fork();
	if (child == 0) {
		struct loop *l = loop_new();
		struct herr err = {{0}};
		int hits = 0;
		struct http_server *s = http_server_new(l, "127.0.0.1:0", handler, &hits, &err);
		port = s ? http_server_port(s) : -1;
		if (write(p[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		if (s)
			loop_run(l);
		_exit(0);
	}
	if (read(p[0], &port, sizeof(port)) != sizeof(port) || port <= 0)
		return -1;
	close(p[0]);
	close(p[1]);
	*state = (void *)(intptr_t)port;
	return 0;
}

static int stop_server(void **state)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	return 0;
}

static void serves_paths_in_the_loop(void **state)
{
	int port = (int)(intptr_t)*state;

	CURL *c = curl_easy_init();
	struct buf b = {0};
	char ctype[64];
	assert_int_equal(get(c, port, "/healthz", &b, ctype), 200);
	assert_string_equal(b.p, "ok\n");
	assert_string_equal(ctype, "text/plain; charset=utf-8");
	assert_int_equal(get(c, port, "/missing", &b, NULL), 404);
	assert_string_equal(b.p, "not found\n");
	/* A body much larger than one write arrives whole. */
	assert_int_equal(get(c, port, "/big", &b, ctype), 200);
	assert_int_equal(b.n, BIG);
	assert_int_equal(b.p[BIG - 1], 'a' + (BIG - 1) % 26);
	assert_string_equal(ctype, "application/octet-stream");
	/* Same connection (keep-alive) and a new one both keep working. */
	assert_int_equal(get(c, port, "/hits", &b, NULL), 200);
	assert_string_equal(b.p, "4\n");
	curl_easy_cleanup(c);
	c = curl_easy_init();
	assert_int_equal(get(c, port, "/hits", &b, NULL), 200);
	assert_string_equal(b.p, "5\n");
	curl_easy_cleanup(c);
	free(b.p);
}

static void bad_listen_addresses_are_named(void **state)
{
	struct loop *l = loop_new();
	struct herr err = {{0}};
	int hits = 0;

	assert_null(http_server_new(l, "127.0.0.1", handler, &hits, &err));
	assert_string_equal(err.msg, "http listen address \"127.0.0.1\": expected ADDR:PORT");
	assert_null(http_server_new(l, "nowhere:80", handler, &hits, &err));
	assert_string_equal(err.msg, "http listen address \"nowhere:80\": bad IPv4 address");
	assert_null(http_server_new(l, "127.0.0.1:99999", handler, &hits, &err));
	assert_string_equal(err.msg, "http listen address \"127.0.0.1:99999\": bad port");
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(serves_paths_in_the_loop, start_server, stop_server),
	    cmocka_unit_test(bad_listen_addresses_are_named),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
