/* TLS is always verified: the client reaches an HTTPS server (openssl
 * s_server on 127.0.0.1, requiring a client certificate) with the right CA
 * given as a file or as PEM data and a client certificate as files or data,
 * and is refused with the wrong CA or without a client certificate.
 *
 * s_server -www answers every request with an HTML page, so "the list
 * response is not JSON" is how a test sees that TLS and HTTP got through. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "util/loop.h"

static char dir[64];
static int port;
static pid_t server = -1;
static int server_stdin = -1;

static char *path_of(const char *name)
{
	static char buf[4][128];
	static int i;
	char *p = buf[i++ % 4];
	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *name)
{
	FILE *f = fopen(path_of(name), "r");
	char *text = NULL;
	size_t cap = 0;

	assert_non_null(f);
	assert_true(getdelim(&text, &cap, 0, f) > 0);
	fclose(f);
	return text;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static int server_ready(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int setup(void **state)
{
	char cmd[2048];
	int pipefd[2];

	snprintf(dir, sizeof(dir), "/tmp/test_tls.%d.XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		return -1;
	/* A CA, a server certificate for 127.0.0.1 and a client certificate
	 * signed by it, and an unrelated CA. */
	snprintf(cmd, sizeof(cmd),
	         "(set -e; cd %s; K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
	         "openssl req -x509 $K -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca;"
	         "openssl req -x509 $K -keyout other.key -out other.crt -days 2 -subj /CN=other;"
	         "echo subjectAltName=IP:127.0.0.1 > srv.ext;"
	         "echo extendedKeyUsage=clientAuth > cli.ext;"
	         "openssl req $K -keyout srv.key -out srv.csr -subj /CN=127.0.0.1;"
	         "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
	         "-extfile srv.ext -out srv.crt;"
	         "openssl req $K -keyout cli.key -out cli.csr -subj /CN=handoff;"
	         "openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
	         "-extfile cli.ext -out cli.crt) >/dev/null 2>&1",
	         dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_tls: creating certificates with openssl failed\n");
		return -1;
	}
	if ((port = free_port()) < 0 || pipe(pipefd) < 0)
		return -1;
	server = fork();
	if (server == 0) {
		char accept_arg[32];
		int null = open("/dev/null", O_WRONLY);
		snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%d", port);
		dup2(pipefd[0], 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept_arg, "-cert",
		       path_of("srv.crt"), "-key", path_of("srv.key"), "-CAfile", path_of("ca.crt"),
		       "-Verify", "1", "-www", (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	server_stdin = pipefd[1]; /* kept open: s_server stops at EOF on stdin */
	for (int i = 0; i < 500 && !server_ready(); i++)
		usleep(10000);
	return server_ready() ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	if (server_stdin >= 0)
		close(server_stdin);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

struct seen {
	char first[1024];
};

static void on_notice(void *arg, const char *kind, const char *message)
{
	struct seen *s = arg;
	if (!s->first[0])
		snprintf(s->first, sizeof(s->first), "%s", message);
}

/* Start one watch with `cfg`, return the first problem it reports. */
static void first_notice(struct kube_config *cfg, struct seen *s)
{
	struct loop *l = loop_new();
	struct herr err = {{0}};
	char server_url[64];
	struct kube_client *c;
	struct kube_watch_opts o = {.path = "/api/v1/pods", .kind = "Pod", .api_version = "v1"};
	uint64_t deadline = loop_now_ms() + 5000;

	snprintf(server_url, sizeof(server_url), "https://127.0.0.1:%d", port);
	cfg->server = server_url;
	memset(s, 0, sizeof(*s));
	c = kube_client_new(l, cfg, &err);
	if (!c)
		fail_msg("%s", err.msg);
	assert_non_null(kube_watch_start(c, &o, NULL, NULL, on_notice, s, &err));
	while (!s->first[0] && loop_now_ms() < deadline)
		loop_once(l, 50);
	kube_client_free(c);
	loop_free(l);
	cfg->server = NULL;
	assert_true(s->first[0]);
}

#define THROUGH "list failed: /api/v1/pods: response '[' or '{' expected"

static void verified_with_ca_and_client_cert_files(void **state)
{
	struct kube_config cfg = {.ca_file = path_of("ca.crt"),
	                          .cert_file = path_of("cli.crt"),
	                          .key_file = path_of("cli.key")};
	struct seen s;

	first_notice(&cfg, &s);
	if (strncmp(s.first, THROUGH, strlen(THROUGH)))
		fail_msg("expected the HTML page to be reached, got: %s", s.first);
}

static void verified_with_pem_data(void **state)
{
	struct kube_config cfg = {.ca_data = slurp("ca.crt"),
	                          .cert_data = slurp("cli.crt"),
	                          .key_data = slurp("cli.key")};
	struct seen s;

	first_notice(&cfg, &s);
	if (strncmp(s.first, THROUGH, strlen(THROUGH)))
		fail_msg("expected the HTML page to be reached, got: %s", s.first);
	free(cfg.ca_data);
	free(cfg.cert_data);
	free(cfg.key_data);
}

static void wrong_ca_is_refused(void **state)
{
	struct kube_config cfg = {.ca_data = slurp("other.crt"),
	                          .cert_file = path_of("cli.crt"),
	                          .key_file = path_of("cli.key")};
	struct seen s;

	first_notice(&cfg, &s);
	if (!strstr(s.first, "list failed: connection: SSL certificate problem"))
		fail_msg("expected a certificate problem, got: %s", s.first);
	free(cfg.ca_data);
}

static void missing_client_cert_is_refused(void **state)
{
	struct kube_config cfg = {.ca_file = path_of("ca.crt")};
	struct seen s;

	first_notice(&cfg, &s);
	if (strncmp(s.first, "list failed: connection: ", 25))
		fail_msg("expected the handshake to fail, got: %s", s.first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(verified_with_ca_and_client_cert_files),
	    cmocka_unit_test(verified_with_pem_data),
	    cmocka_unit_test(wrong_ca_is_refused),
	    cmocka_unit_test(missing_client_cert_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
