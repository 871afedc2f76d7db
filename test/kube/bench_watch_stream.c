/* bench_watch_stream - watch events per second through the API client:
 * HTTP chunked stream -> line splitter -> JSON -> object cache -> callback.
 *
 *   bench_watch_stream [EVENTS] [PODS]     (default 100000 events, 1000 pods)
 *
 * A child process plays the API server on 127.0.0.1: an empty list, then one
 * watch streaming EVENTS MODIFIED events (pod-sized objects, each one a
 * change) in 64 KiB chunks. The parent is the client on its event loop and
 * prints the wall time and its own CPU time. Figures only, no verdict. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kube/client.h"
#include "util/loop.h"

static void put(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n <= 0)
			_exit(1);
		data += n;
		len -= (size_t)n;
	}
}

static void read_request(int fd)
{
	char buf[8192];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			_exit(1);
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n"))
			return;
	}
}

static void chunk(int fd, const char *data, size_t len)
{
	char size[32];
	int n = snprintf(size, sizeof(size), "%zx\r\n", len);

	put(fd, size, (size_t)n);
	put(fd, data, len);
	put(fd, "\r\n", 2);
}

static void serve(int lfd, long events, long pods)
{
	static const char list[] = "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"},"
	                           "\"items\":[]}";
	char head[256], *buf = malloc(1 << 17);
	size_t len = 0;
	int fd = accept(lfd, NULL, NULL);

	read_request(fd);
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	                 sizeof(list) - 1);
	put(fd, head, (size_t)n);
	put(fd, list, sizeof(list) - 1);
	close(fd);

	fd = accept(lfd, NULL, NULL);
	read_request(fd);
	static const char sh[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	                         "Connection: close\r\n\r\n";
	put(fd, sh, sizeof(sh) - 1);
	for (long i = 0; i < events; i++) {
		char ev[1024];
		int m = snprintf(
		    ev, sizeof(ev),
		    "{\"type\":\"%s\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
		    "\"metadata\":{\"name\":\"virt-launcher-vm-%ld\",\"namespace\":\"tenant-a\","
		    "\"uid\":\"7d3c%08ld-0000-4000-8000-000000000000\",\"resourceVersion\":\"%ld\","
		    "\"labels\":{\"kubevirt.io\":\"virt-launcher\",\"vm.kubevirt.io/"
		    "name\":\"vm-%ld\"}},"
		    "\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"compute\","
		    "\"image\":\"quay.io/kubevirt/virt-launcher:v1.2.0\"}]},"
		    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.%ld.%ld\","
		    "\"podIPs\":[{\"ip\":\"10.244.%ld.%ld\"},{\"ip\":\"fd00:10:244::%lx\"}]}}}\n",
		    i < pods ? "ADDED" : "MODIFIED", i % pods, i % pods, i + 2, i % pods,
		    (i / 250) % 256, i % 250 + 1, (i / 250) % 256, i % 250 + 1, i);
		if (len + (size_t)m > (1 << 16)) {
			chunk(fd, buf, len);
			len = 0;
		}
		memcpy(buf + len, ev, (size_t)m);
		len += (size_t)m;
	}
	if (len)
		chunk(fd, buf, len);
	/* Keep the stream open: the parent ends it by exiting. */
	pause();
	_exit(0);
}

static long count;
static void on_event(void *arg, enum obj_event ev, const struct json_t *obj)
{
	count++;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	long events = argc > 1 ? atol(argv[1]) : 100000;
	long pods = argc > 2 ? atol(argv[2]) : 1000;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	char server[64];
	struct herr err = {{0}};

	if (events < 1 || pods < 1 || lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 4) < 0 || getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		fprintf(stderr, "usage: bench_watch_stream [EVENTS] [PODS]\n");
		return 2;
	}
	pid_t child = fork();
	if (child == 0)
		serve(lfd, events, pods);
	close(lfd);

	struct loop *l = loop_new();
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", ntohs(a.sin_port));
	struct kube_config cfg = {.server = server};
	struct kube_client *c = kube_client_new(l, &cfg, &err);
	struct kube_watch_opts o = {.path = "/api/v1/pods", .kind = "Pod", .api_version = "v1"};
	struct kube_watch *w = c ? kube_watch_start(c, &o, on_event, NULL, NULL, NULL, &err) : NULL;
	struct kube_watch_stats st = {0};
	if (!w) {
		fprintf(stderr, "bench_watch_stream: %s\n", err.msg);
		kill(child, SIGTERM);
		return 1;
	}
	while (!st.synced) {
		loop_once(l, 100);
		kube_watch_get_stats(w, &st);
	}
	double cpu0 = cpu_seconds();
	uint64_t t0 = loop_now_ms();
	while (st.events < (uint64_t)events && loop_now_ms() - t0 < 120000) {
		loop_once(l, 100);
		kube_watch_get_stats(w, &st);
	}
	uint64_t ms = loop_now_ms() - t0;
	double cpu = cpu_seconds() - cpu0;
	printf("watch events: %llu of %ld (%ld pods), callbacks %ld, malformed %llu\n",
	       (unsigned long long)st.events, events, pods, count,
	       (unsigned long long)st.malformed);
	printf("wall %.3f s -> %.0f events/s; client CPU %.3f s -> %.0f events/s per core\n",
	       (double)ms / 1000, (double)st.events * 1000 / (double)(ms ? ms : 1), cpu,
	       (double)st.events / (cpu > 0 ? cpu : 1e-9));
	kube_client_free(c);
	loop_free(l);
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	return st.events == (uint64_t)events ? 0 : 1;
}
