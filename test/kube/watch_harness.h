/* watch_harness.h - the scripted API server and the recorder of what a
 * watch delivers, shared by the client's test programs (static: each
 * program includes it once). */
#ifndef HANDOFF_TEST_WATCH_HARNESS_H
#define HANDOFF_TEST_WATCH_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_server.h"
#include "kube/client.h"
#include "util/loop.h"

#define MAX_REQ 32

struct t;
typedef void (*respond_fn)(struct t *t, struct fake_conn *c, int n, const char *target);

struct t {
	struct loop *loop;
	struct fake_server *srv;
	struct kube_client *kc;
	struct kube_watch *w;
	respond_fn respond;
	int nreq;
	char target[MAX_REQ][512];
	char auth[MAX_REQ][128];
	uint64_t at[MAX_REQ];
	struct fake_conn *stream; /* the last watch held open */
	char log[8192];           /* "ADDED Pod/ns/a@1;..." */
	char notices[8192];
	int nnotices, synced;
	char token_path[PATH_MAX];
};

static inline void on_request(void *arg, struct fake_conn *c, const char *target, const char *auth)
{
	struct t *t = arg;
	int n = t->nreq;

	assert_true(n < MAX_REQ);
	snprintf(t->target[n], sizeof(t->target[n]), "%s", target);
	snprintf(t->auth[n], sizeof(t->auth[n]), "%s", auth);
	t->at[n] = loop_now_ms();
	t->nreq++;
	t->respond(t, c, n, target);
}

static inline void on_event(void *arg, enum obj_event ev, const json_t *obj)
{
	struct t *t = arg;
	json_t *meta = json_object_get(obj, "metadata");
	size_t n = strlen(t->log);

	snprintf(t->log + n, sizeof(t->log) - n, "%s %s/%s/%s@%s;", obj_event_name(ev),
	         json_string_value(json_object_get(obj, "kind")),
	         json_string_value(json_object_get(meta, "namespace")),
	         json_string_value(json_object_get(meta, "name")),
	         json_string_value(json_object_get(meta, "resourceVersion")));
	/* Every object carries its type, list items and events alike. */
	assert_string_equal(json_string_value(json_object_get(obj, "apiVersion")), "v1");
}

static inline void on_synced(void *arg, const char *kind)
{
	struct t *t = arg;

	assert_string_equal(kind, "Pod");
	t->synced++;
}

static inline void on_notice(void *arg, const char *kind, const char *message)
{
	struct t *t = arg;
	size_t n = strlen(t->notices);

	snprintf(t->notices + n, sizeof(t->notices) - n, "%s\n", message);
	t->nnotices++;
}

static inline struct t *t_new(respond_fn respond, const char *token_file)
{
	struct t *t = calloc(1, sizeof(*t));
	char server[64];
	struct herr err = {{0}};

	t->loop = loop_new();
	t->respond = respond;
	assert_non_null(t->srv = fake_server_new(t->loop, on_request, t));
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", fake_server_port(t->srv));
	struct kube_config cfg = {.server = server, .token = token_file ? NULL : "tok"};
	if (token_file) {
		snprintf(t->token_path, sizeof(t->token_path), "%s", token_file);
		cfg.token_file = t->token_path;
	}
	t->kc = kube_client_new(t->loop, &cfg, &err);
	if (!t->kc)
		fail_msg("%s", err.msg);
	return t;
}

static inline void t_watch(struct t *t, const char *path, bool optional)
{
	struct kube_watch_opts o = {
	    .path = path,
	    .kind = "Pod",
	    .api_version = "v1",
	    .field_selector = "spec.nodeName=node-1",
	    .label_selector = "app in (a,b)",
	    .page_size = 2,
	    .timeout_seconds = 5,
	    .optional = optional,
	};
	struct herr err = {{0}};

	t->w = kube_watch_start(t->kc, &o, on_event, on_synced, on_notice, t, &err);
	if (!t->w)
		fail_msg("%s", err.msg);
}

static inline void t_free(struct t *t)
{
	kube_client_free(t->kc);
	fake_server_free(t->srv);
	loop_free(t->loop);
	free(t);
}

static inline struct kube_watch_stats stats(struct t *t)
{
	struct kube_watch_stats s;
	kube_watch_get_stats(t->w, &s);
	return s;
}

/* Turn the loop until `cond` holds; fail after 5 s. */
#define RUN_UNTIL(t, cond)                                                                         \
	do {                                                                                       \
		uint64_t deadline_ = loop_now_ms() + 5000;                                         \
		while (!(cond)) {                                                                  \
			if (loop_now_ms() > deadline_)                                             \
				fail_msg("timed out waiting for: %s\nlog: %s\nnotices: %s", #cond, \
				         (t)->log, (t)->notices);                                  \
			loop_once((t)->loop, 20);                                                  \
		}                                                                                  \
	} while (0)

/* Turn the loop for `ms` whatever happens. */
static inline void run_for(struct t *t, uint64_t ms)
{
	uint64_t end = loop_now_ms() + ms;
	while (loop_now_ms() < end)
		loop_once(t->loop, 10);
}

#define SEL "&fieldSelector=spec.nodeName%3Dnode-1&labelSelector=app%20in%20%28a%2Cb%29"
#define POD(name, rv)                                                                              \
	"{\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"" \
	"}}"
#define EVENT(type, name, rv) "{\"type\":\"" type "\",\"object\":" POD(name, rv) "}\n"
#define LIST(rv, cont, items)                                                                      \
	"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" rv      \
	"\"" cont "},\"items\":[" items "]}"

#endif
