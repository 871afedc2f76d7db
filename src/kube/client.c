/* client.c - the transport: one libcurl multi handle per client, driven by
 * the watcher's epoll loop through CURLMOPT_SOCKETFUNCTION (which sockets to
 * watch) and CURLMOPT_TIMERFUNCTION (when libcurl wants to be called back),
 * plus the credentials every request carries.
 *
 * libcurl never blocks and never sleeps here: the loop calls
 * curl_multi_socket_action() when a socket is ready or the timer fires, and
 * finished transfers are collected with curl_multi_info_read() right after. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "kube/client.h"
#include "kube/request.h"
#include "util/loop.h"

#define ERROR_BODY_MAX 4096

struct kube_request {
	struct kube_client *c;
	CURL *easy;
	struct curl_slist *headers;
	kube_data_cb data;
	kube_done_cb done;
	void *arg;
	long status; /* known at the first body byte */
	uint64_t received;
	char *errbody; /* non-2xx body, NUL-terminated, at most ERROR_BODY_MAX */
	size_t errlen;
	char errbuf[CURL_ERROR_SIZE];
	struct kube_request *next; /* the client's requests in flight */
};

struct kube_client {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	struct kube_config cfg; /* our own copy */
	char *token;            /* what goes into Authorization */
	struct stat token_stat; /* of token_file when last read */
	bool token_stale;       /* a 401 was seen: read the file again */
	struct kube_request *requests;
	struct kube_watch *watches;
	uint64_t rand_state;
};

struct loop *kube_client_loop(struct kube_client *c)
{
	return c->loop;
}

struct kube_watch **kube_client_watches(struct kube_client *c)
{
	return &c->watches;
}

uint32_t kube_client_random(struct kube_client *c)
{
	/* xorshift64*: jitter needs spread, not secrecy. */
	c->rand_state ^= c->rand_state >> 12;
	c->rand_state ^= c->rand_state << 25;
	c->rand_state ^= c->rand_state >> 27;
	return (uint32_t)((c->rand_state * 2685821657736338717ULL) >> 32);
}

void kube_client_token_rejected(struct kube_client *c)
{
	c->token_stale = true;
}

/* Read the token file when it changed since the last read (projected
 * service-account tokens are rotated by swapping a symlink, so the inode
 * changes as well as the mtime), or after a 401. */
static int token_refresh(struct kube_client *c, struct herr *err)
{
	struct stat st;
	FILE *f;
	char *tok = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!c->cfg.token_file)
		return 0;
	if (stat(c->cfg.token_file, &st) < 0)
		goto fail;
	if (c->token && !c->token_stale && st.st_ino == c->token_stat.st_ino &&
	    st.st_size == c->token_stat.st_size &&
	    st.st_mtim.tv_sec == c->token_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_stat.st_mtim.tv_nsec)
		return 0;
	if (!(f = fopen(c->cfg.token_file, "re")))
		goto fail;
	n = getdelim(&tok, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(tok);
		return herr_set(err, -EINVAL, "token file %s: empty", c->cfg.token_file);
	}
	while (n > 0 && strchr(" \t\r\n", tok[n - 1]))
		tok[--n] = 0;
	if (n == 0 || strchr(tok, '\n') || strchr(tok, '\r')) {
		free(tok);
		return herr_set(err, -EINVAL, "token file %s: %s", c->cfg.token_file,
		                n == 0 ? "empty" : "more than one line");
	}
	free(c->token);
	c->token = tok;
	c->token_stat = st;
	c->token_stale = false;
	return 0;
fail:
	/* A rotation in progress may briefly hide the file: keep the token we
	 * have, if any; the next request checks again. */
	if (c->token)
		return 0;
	return herr_set(err, -errno, "token file %s: %s", c->cfg.token_file, strerror(errno));
}

/* ---- the loop <-> libcurl glue ---- */

static void check_done(struct kube_client *c);

static void on_socket_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct kube_client *c = arg;
	int mask = 0, running;

	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, mask, &running);
	check_done(c);
}

static void on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct kube_client *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says which events it wants on a socket. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct kube_client *c = userp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		loop_del_fd(c->loop, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (loop_mod_fd(c->loop, s, events) == -ENOENT)
		return loop_add_fd(c->loop, s, events, on_socket_ready, c) < 0 ? -1 : 0;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when to call curl_multi_socket_action(TIMEOUT).
 * Never call libcurl from here: the loop timer does it on its next turn. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct kube_client *c = userp;

	if (timeout_ms < 0)
		loop_timer_disarm(c->timer);
	else
		loop_timer_arm(c->timer, (uint64_t)timeout_ms);
	return 0;
}

static void request_free(struct kube_request *r)
{
	struct kube_client *c = r->c;

	for (struct kube_request **p = &c->requests; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	curl_multi_remove_handle(c->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->errbody);
	free(r);
}

/* Finished transfers: tell their owners. A done callback may start new
 * requests or cancel others (libcurl drops a removed handle's message). */
static void check_done(struct kube_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct kube_request *r;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		struct kube_response resp = {
		    .curl_code = m->data.result,
		    .error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(m->data.result),
		    .body = r->errbody ? r->errbody : "",
		    .received = r->received,
		};
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
		curl_off_t retry_after = 0;
		if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
		    retry_after > 0)
			resp.retry_after = (long)retry_after;
		if (resp.curl_code == CURLE_OK)
			resp.error = "";
		/* Unlink first: the owner forgets the request in its callback. */
		curl_multi_remove_handle(c->multi, r->easy);
		r->done(r->arg, &resp);
		request_free(r);
	}
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct kube_request *r = userp;
	size_t len = size * nmemb;

	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status < 200 || r->status > 299) {
		/* Keep the start of a Status body for the message. */
		size_t room = ERROR_BODY_MAX - r->errlen;
		if (!r->errbody && !(r->errbody = malloc(ERROR_BODY_MAX + 1)))
			return len;
		if (len < room)
			room = len;
		memcpy(r->errbody + r->errlen, data, room);
		r->errlen += room;
		r->errbody[r->errlen] = 0;
		return len;
	}
	r->received += len;
	return r->data(r->arg, data, len) < 0 ? 0 : len;
}

int kube_set_tls(const struct kube_config *k, void *easy)
{
	CURL *e = easy;
	int rc = 0;

	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (k->ca_data) {
		struct curl_blob b = {k->ca_data, strlen(k->ca_data), CURL_BLOB_COPY};
		rc |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	} else if (k->ca_file) {
		rc |= curl_easy_setopt(e, CURLOPT_CAINFO, k->ca_file);
	}
	if (k->cert_data) {
		struct curl_blob b = {k->cert_data, strlen(k->cert_data), CURL_BLOB_COPY};
		rc |= curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
		rc |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (k->cert_file) {
		rc |= curl_easy_setopt(e, CURLOPT_SSLCERT, k->cert_file);
	}
	if (k->key_data) {
		struct curl_blob b = {k->key_data, strlen(k->key_data), CURL_BLOB_COPY};
		rc |= curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
		rc |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (k->key_file) {
		rc |= curl_easy_setopt(e, CURLOPT_SSLKEY, k->key_file);
	}
	return rc;
}

struct kube_request *kube_request_start(struct kube_client *c, const char *target, long timeout_ms,
                                        kube_data_cb data, kube_done_cb done, void *arg,
                                        struct herr *err)
{
	struct kube_request *r;
	char *url = NULL, *auth = NULL;
	int rc = 0;

	if (token_refresh(c, err) < 0)
		return NULL;
	if (!(r = calloc(1, sizeof(*r))) || !(r->easy = curl_easy_init()) ||
	    asprintf(&url, "%s%s", c->cfg.server, target) < 0) {
		url = NULL;
		goto nomem;
	}
	r->c = c;
	r->data = data;
	r->done = done;
	r->arg = arg;

	r->headers = curl_slist_append(NULL, "Accept: application/json");
	if (c->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
			auth = NULL;
			goto nomem;
		}
		struct curl_slist *h = curl_slist_append(r->headers, auth);
		free(auth);
		if (!h)
			goto nomem;
		r->headers = h;
	}
	if (!r->headers)
		goto nomem;

	rc |= curl_easy_setopt(r->easy, CURLOPT_URL, url);
	rc |= curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	rc |= curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "handoff-watcher");
	rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	rc |= curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	rc |= curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	rc |= curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	rc |= curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	/* A peer that vanished without a FIN is found by keepalive probes. */
	rc |= curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	rc |= curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 30L);
	rc |= curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 10L);
	rc |= kube_set_tls(&c->cfg, r->easy);
	free(url);
	url = NULL;
	if (rc) {
		herr_set(err, -EINVAL, "request %s: libcurl rejected an option", target);
		goto fail;
	}
	if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
		herr_set(err, -EIO, "request %s: curl_multi_add_handle failed", target);
		goto fail;
	}
	r->next = c->requests;
	c->requests = r;
	return r;
nomem:
	herr_set(err, -ENOMEM, "request %s: out of memory", target);
fail:
	free(url);
	if (r) {
		if (r->easy)
			curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r);
	}
	return NULL;
}

void kube_request_cancel(struct kube_request *r)
{
	if (r)
		request_free(r);
}

/* ---- client ---- */

static char *dup_opt(const char *s, bool *ok)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*ok = false;
	return d;
}

struct kube_client *kube_client_new(struct loop *loop, const struct kube_config *cfg,
                                    struct herr *err)
{
	struct kube_client *c;
	bool ok = true;
	size_t n;

	if (!cfg->server ||
	    (strncmp(cfg->server, "https://", 8) && strncmp(cfg->server, "http://", 7))) {
		herr_set(err, -EINVAL,
		         "kube client: server: \"%s\" is not an http:// or https:// URL",
		         cfg->server ? cfg->server : "");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		herr_set(err, -EIO, "kube client: curl_global_init failed");
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		herr_set(err, -ENOMEM, "kube client: out of memory");
		return NULL;
	}
	c->loop = loop;
	c->cfg.server = dup_opt(cfg->server, &ok);
	/* "https://host:443/" + "/api/v1/pods" must not give "//api". */
	n = c->cfg.server ? strlen(c->cfg.server) : 0;
	while (n > 0 && c->cfg.server[n - 1] == '/')
		c->cfg.server[--n] = 0;
	c->cfg.ca_file = dup_opt(cfg->ca_file, &ok);
	c->cfg.ca_data = dup_opt(cfg->ca_data, &ok);
	c->cfg.token = dup_opt(cfg->token, &ok);
	c->cfg.token_file = dup_opt(cfg->token_file, &ok);
	c->cfg.cert_file = dup_opt(cfg->cert_file, &ok);
	c->cfg.key_file = dup_opt(cfg->key_file, &ok);
	c->cfg.cert_data = dup_opt(cfg->cert_data, &ok);
	c->cfg.key_data = dup_opt(cfg->key_data, &ok);
	/* As in client-go, a token file wins over a literal token. */
	if (cfg->token && !cfg->token_file)
		c->token = dup_opt(cfg->token, &ok);
	if (!ok) {
		herr_set(err, -ENOMEM, "kube client: out of memory");
		goto fail;
	}
	if (getrandom(&c->rand_state, sizeof(c->rand_state), GRND_NONBLOCK) !=
	    sizeof(c->rand_state))
		c->rand_state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
	c->rand_state |= 1; /* xorshift never leaves 0 */
	/* Fail early on a token file that cannot be read at all. */
	if (token_refresh(c, err) < 0) {
		herr_prefix(err, "kube client: ");
		goto fail;
	}
	if (!(c->timer = loop_timer_new(loop, on_timer, c)) || !(c->multi = curl_multi_init())) {
		herr_set(err, -ENOMEM, "kube client: cannot create the timer or the multi handle");
		goto fail;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
fail:
	kube_client_free(c);
	return NULL;
}

void kube_client_free(struct kube_client *c)
{
	struct kube_watch *w;

	if (!c)
		return;
	while ((w = c->watches)) {
		c->watches = kube_watch_next(w);
		kube_watch_destroy(w);
	}
	while (c->requests)
		request_free(c->requests);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	loop_timer_free(c->timer);
	kube_config_free(&c->cfg);
	free(c->token);
	free(c);
	curl_global_cleanup();
}
