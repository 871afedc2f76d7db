/* ipam_server.c - the VM address service's socket and threads (ipam.h).
 *
 * Why threads beside the event loop: every operation is a few blocking
 * round trips to the API server, and the loop must keep following watches,
 * GARPs and timers meanwhile. Each worker owns one API connection and
 * blocks in accept() on the shared listening socket; a request is one JSON
 * object from handoff-cni, the answer one JSON object. The promoter thread
 * takes the FSM's Live transitions from a queue and retries them with
 * backoff (100 ms doubling, 5 attempts: calico-semantics.md B.4); it also
 * runs the periodic collection. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipam.h"
#include "util/log.h"

#define REQUEST_MAX   4096
#define PROMOTE_TRIES 5

struct promotion {
	struct promotion *next;
	char ns[64], pod[254];
};

struct ipam_server {
	struct ipam_node node;
	int listen_fd;
	char path[108];
	dev_t sock_dev; /* the socket file as we made it: a successor's is not ours */
	ino_t sock_ino;
	unsigned nworkers;
	pthread_t *workers;
	struct kube_rest **apis; /* one per worker, one for the promoter */
	unsigned napis;
	pthread_t promoter;
	bool promoter_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct promotion *queue, *tail;
	bool stopping;
	unsigned gc_interval_s;
};

struct worker_arg {
	struct ipam_server *s;
	struct kube_rest *api;
};

static int read_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	return n ? 0 : -EIO;
}

static void serve(struct ipam_server *s, struct kube_rest *api, int fd)
{
	char buf[REQUEST_MAX];
	json_error_t jerr;
	json_t *req = NULL, *ans;
	char *text;

	if (read_request(fd, buf, sizeof(buf)) < 0)
		return;
	req = json_loads(buf, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!req)
		ans = json_pack("{s:i, s:s}", "code", 6, "msg", "request: not JSON");
	else
		ans = ipam_handle_request(&s->node, api, req);
	text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
	if (text) {
		size_t len = strlen(text), off = 0;
		/* MSG_NOSIGNAL: a CNI that gave up must not kill the daemon (EPIPE). */
		text[len] = '\n';
		len++;
		while (off < len) {
			ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(text);
	json_decref(ans);
	json_decref(req);
}

static void *worker_main(void *arg)
{
	struct worker_arg *a = arg;

	for (;;) {
		int fd = accept4(a->s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* the socket was shut down: stopping */
		}
		struct timeval tv = {.tv_sec = 30};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		serve(a->s, a->api, fd);
		close(fd);
	}
	free(a);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void promote_with_backoff(struct ipam_server *s, struct kube_rest *api,
                                 const struct promotion *p)
{
	struct herr err = {{0}};
	unsigned delay_ms = 100;

	for (int i = 0; i < PROMOTE_TRIES; i++) {
		int r = ipam_promote(&s->node, api, p->ns, p->pod, &err);
		if (r == 0)
			return;
		if (r != -EAGAIN) {
			/* ENOENT also covers pods that hold no VM address at all
			 * (ordinary workloads migrating): nothing to do. */
			hlog(r == -ENOENT ? HLOG_DEBUG : HLOG_WARN, "VM address promotion not done",
			     "pod=%s/%s error=%s", p->ns, p->pod, hlog_q(err.msg));
			return;
		}
		usleep(delay_ms * 1000);
		delay_ms *= 2;
	}
	hlog(HLOG_WARN, "VM address promotion failed", "pod=%s/%s error=%s", p->ns, p->pod,
	     hlog_q(err.msg));
}

static void *promoter_main(void *arg)
{
	struct ipam_server *s = arg;
	struct kube_rest *api = s->apis[s->nworkers];
	uint64_t next_gc = now_ms() + (uint64_t)s->gc_interval_s * 1000;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct promotion *p = s->queue;
		if (!p) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&s->cond, &s->lock, &until);
			if (s->gc_interval_s && now_ms() >= next_gc) {
				struct herr err = {{0}};
				pthread_mutex_unlock(&s->lock);
				int n = ipam_collect(&s->node, api, &err);
				if (n < 0)
					hlog(HLOG_WARN, "VM address collection failed", "error=%s",
					     hlog_q(err.msg));
				else if (n > 0)
					hlog(HLOG_INFO, "VM address collection", "freed=%d", n);
				next_gc = now_ms() + (uint64_t)s->gc_interval_s * 1000;
				pthread_mutex_lock(&s->lock);
			}
			continue;
		}
		s->queue = p->next;
		if (!s->queue)
			s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
		promote_with_backoff(s, api, p);
		free(p);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void ipam_server_promote(struct ipam_server *s, const char *endpoint_key)
{
	/* "ns/pod" or "ns/pod/iface" */
	const char *slash = strchr(endpoint_key, '/'), *end;
	struct promotion *p;

	if (!s || !slash || slash == endpoint_key || (size_t)(slash - endpoint_key) >= 64)
		return;
	end = strchr(slash + 1, '/');
	if (!end)
		end = slash + 1 + strlen(slash + 1);
	if (end == slash + 1 || (size_t)(end - slash - 1) >= 254 || !(p = calloc(1, sizeof(*p))))
		return;
	memcpy(p->ns, endpoint_key, (size_t)(slash - endpoint_key));
	memcpy(p->pod, slash + 1, (size_t)(end - slash - 1));
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = p;
	else
		s->queue = p;
	s->tail = p;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

struct ipam_server *ipam_server_start(const struct ipam_server_opts *o,
                                      const struct kube_config *cfg, struct herr *err)
{
	struct ipam_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned n = o->workers ? o->workers : 4;

	if (!s) {
		herr_set(err, -ENOMEM, "IPAM: out of memory");
		return NULL;
	}
	s->listen_fd = -1;
	s->node.node = o->node;
	s->gc_interval_s = o->gc_interval_s;
	pthread_mutex_init(&s->node.alloc_lock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (strlen(o->socket_path) >= sizeof(sa.sun_path)) {
		herr_set(err, -ENAMETOOLONG, "--ipam-socket: \"%s\" is too long for a unix socket",
		         o->socket_path);
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", o->socket_path);
	s->apis = calloc(n + 1, sizeof(*s->apis));
	s->workers = calloc(n, sizeof(*s->workers));
	if (!s->apis || !s->workers) {
		herr_set(err, -ENOMEM, "IPAM: out of memory");
		goto fail;
	}
	for (unsigned i = 0; i <= n; i++, s->napis++)
		if (!(s->apis[i] = kube_rest_new(cfg, 10000, err)))
			goto fail;
	/* Bind under a temporary name and rename: the CNI never connects to a
	 * socket nobody accepts on (it would wait), and a stale one is replaced. */
	char tmp[sizeof(sa.sun_path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.%d", o->socket_path, (int)getpid());
	if (strlen(tmp) >= sizeof(sa.sun_path)) {
		herr_set(err, -ENAMETOOLONG, "--ipam-socket: \"%s\" is too long", o->socket_path);
		goto fail;
	}
	memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
	unlink(tmp);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(tmp, 0600) < 0 || listen(s->listen_fd, 128) < 0 ||
	    rename(tmp, o->socket_path) < 0) {
		herr_set(err, -errno, "--ipam-socket %s: %s", o->socket_path, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	struct stat st;
	if (stat(o->socket_path, &st) == 0) {
		s->sock_dev = st.st_dev;
		s->sock_ino = st.st_ino;
	}
	for (unsigned i = 0; i < n; i++) {
		struct worker_arg *a = malloc(sizeof(*a));
		if (!a)
			break;
		*a = (struct worker_arg){s, s->apis[i]};
		if (pthread_create(&s->workers[i], NULL, worker_main, a) != 0) {
			free(a);
			break;
		}
		s->nworkers++;
	}
	if (s->nworkers == n && pthread_create(&s->promoter, NULL, promoter_main, s) == 0)
		s->promoter_started = true;
	if (!s->promoter_started) {
		herr_set(err, -EAGAIN, "IPAM: cannot start threads");
		goto fail;
	}
	hlog(HLOG_INFO, "VM address service listening", "socket=%s workers=%u gc_interval=%us",
	     o->socket_path, n, o->gc_interval_s);
	return s;
fail:
	ipam_server_stop(s);
	return NULL;
}

void ipam_server_stop(struct ipam_server *s)
{
	if (!s)
		return;
	if (s->listen_fd >= 0) {
		/* Stop taking requests first; the CNI gets ENOENT -> try later.
		 * Unless a successor (a restarted daemon) has put its own there. */
		struct stat st;
		if (s->path[0] && stat(s->path, &st) == 0 && st.st_dev == s->sock_dev &&
		    st.st_ino == s->sock_ino)
			unlink(s->path);
		shutdown(s->listen_fd, SHUT_RDWR);
	}
	for (unsigned i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->promoter_started)
		pthread_join(s->promoter, NULL);
	while (s->queue) {
		struct promotion *p = s->queue;
		s->queue = p->next;
		free(p);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	for (unsigned i = 0; i < s->napis; i++)
		kube_rest_free(s->apis[i]);
	free(s->apis);
	free(s->workers);
	json_decref(s->node.block_cache[0]);
	json_decref(s->node.block_cache[1]);
	pthread_mutex_destroy(&s->node.alloc_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
