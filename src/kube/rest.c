/* rest.c - synchronous JSON requests for the IPAM workers (rest.h). */
#define _GNU_SOURCE
#include "kube/rest.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/request.h"

struct kube_rest {
	struct kube_config cfg; /* owned copies */
	CURL *easy;
	long timeout_ms;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct kube_rest *kube_rest_new(const struct kube_config *cfg, long timeout_ms, struct herr *err)
{
	struct kube_rest *r = calloc(1, sizeof(*r));

	if (!r || !(r->easy = curl_easy_init())) {
		free(r);
		herr_set(err, -ENOMEM, "API client: out of memory");
		return NULL;
	}
	r->cfg.server = dup_or_null(cfg->server);
	r->cfg.ca_file = dup_or_null(cfg->ca_file);
	r->cfg.ca_data = dup_or_null(cfg->ca_data);
	r->cfg.token = dup_or_null(cfg->token);
	r->cfg.token_file = dup_or_null(cfg->token_file);
	r->cfg.cert_file = dup_or_null(cfg->cert_file);
	r->cfg.key_file = dup_or_null(cfg->key_file);
	r->cfg.cert_data = dup_or_null(cfg->cert_data);
	r->cfg.key_data = dup_or_null(cfg->key_data);
	r->timeout_ms = timeout_ms;
	if (!r->cfg.server) {
		kube_rest_free(r);
		herr_set(err, -EINVAL, "API client: no server");
		return NULL;
	}
	return r;
}

void kube_rest_free(struct kube_rest *r)
{
	if (!r)
		return;
	curl_easy_cleanup(r->easy);
	kube_config_free(&r->cfg);
	free(r);
}

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t len = size * nmemb;
	char *np = realloc(b->p, b->n + len + 1);

	if (!np)
		return 0;
	memcpy(np + b->n, data, len);
	b->n += len;
	np[b->n] = '\0';
	b->p = np;
	return len;
}

/* The bearer token: the file's (re-read each time, projected tokens rotate). */
static char *current_token(const struct kube_rest *r)
{
	char *tok = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (!r->cfg.token_file)
		return dup_or_null(r->cfg.token);
	if (!(f = fopen(r->cfg.token_file, "re")))
		return NULL;
	n = getdelim(&tok, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(tok);
		return NULL;
	}
	while (n > 0 && strchr(" \t\r\n", tok[n - 1]))
		tok[--n] = 0;
	return tok;
}

int kube_rest_call(struct kube_rest *r, const char *method, const char *path, const json_t *body,
                   json_t **out, struct herr *err)
{
	struct curl_slist *h = NULL;
	struct buf b = {0};
	char *url = NULL, *auth = NULL, *text = NULL, *tok = current_token(r);
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode cc;
	int rc = 0;

	*out = NULL;
	if (asprintf(&url, "%s%s", r->cfg.server, path) < 0)
		url = NULL;
	if (tok && asprintf(&auth, "Authorization: Bearer %s", tok) < 0)
		auth = NULL;
	free(tok);
	if (body)
		text = json_dumps(body, JSON_COMPACT);
	h = curl_slist_append(h, "Accept: application/json");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (auth)
		h = curl_slist_append(h, auth);
	if (!url || !h || (body && !text)) {
		rc = herr_set(err, -ENOMEM, "%s %s: out of memory", method, path);
		goto out;
	}
	curl_easy_reset(r->easy);
	rc |= curl_easy_setopt(r->easy, CURLOPT_URL, url);
	rc |= curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	rc |= curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, h);
	rc |= curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "handoff-watcher-ipam");
	rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_data);
	rc |= curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &b);
	rc |= curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, errbuf);
	rc |= curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	rc |= curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	if (text)
		rc |= curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, text);
	rc |= kube_set_tls(&r->cfg, r->easy);
	if (rc) {
		rc = herr_set(err, -EINVAL, "%s %s: cannot set up the request", method, path);
		goto out;
	}
	if ((cc = curl_easy_perform(r->easy)) != CURLE_OK) {
		rc = herr_set(err, -EIO, "%s %s: %s", method, path,
		              errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	*out = b.p ? json_loads(b.p, 0, NULL) : NULL;
	rc = (int)status;
out:
	free(b.p);
	free(text);
	free(url);
	free(auth);
	curl_slist_free_all(h);
	return rc;
}

const char *kube_status_message(const json_t *status)
{
	const char *m = json_string_value(json_object_get(status, "message"));
	return m ? m : "";
}
