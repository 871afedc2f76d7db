/* intake.c - objects in: datastore or API server events, CNI endpoint records
 * and GARP reports go to the engine (or to the BGP set for BIRD). Nothing is
 * applied to the kernel here: sync.c does that once per loop iteration, after
 * every event of the iteration has been decided (calico-semantics F.2). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pods.h"
#include "kube/folder.h"
#include "util/log.h"
#include "util/loop.h"
#include "status.h"
#include "watcher.h"

static const char *meta(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
	return s ? s : "";
}

static void rejected(struct watcher *w, const json_t *obj, const struct herr *err)
{
	w->objects_rejected++;
	status_object_rejected(w->status, json_string_value(json_object_get(obj, "kind")));
	hlog(HLOG_WARN, "Object rejected; its previous version stays in force",
	     "kind=%s name=%s%s%s error=%s", json_string_value(json_object_get(obj, "kind")),
	     meta(obj, "namespace"), *meta(obj, "namespace") ? "/" : "", meta(obj, "name"),
	     hlog_q(err->msg));
}

/* Endpoint `key` is gone, after the decisions made so far (sync.c). */
static void note_gone(struct watcher *w, const char *key)
{
	char *k = strdup(key);

	if (k && w->ngone == w->gone_cap) {
		size_t cap = w->gone_cap ? w->gone_cap * 2 : 16;
		struct gone_ep *v = realloc(w->gone, cap * sizeof(*v));
		if (!v) {
			free(k);
			k = NULL;
		} else {
			w->gone = v;
			w->gone_cap = cap;
		}
	}
	if (!k) { /* the status then keeps what it holds for this endpoint */
		hlog(HLOG_ERROR, "Out of memory", "pod=%s", key);
		return;
	}
	w->gone[w->ngone++] = (struct gone_ep){k, w->decisions.n};
}

/* The CNI's record for a pod, when it has written one. */
static const json_t *record_for(struct watcher *w, const char *ns, const char *name)
{
	char key[600];

	if (!w->records)
		return NULL;
	snprintf(key, sizeof(key), "EndpointRecord/%s/%s", ns, name);
	return obj_cache_get(folder_store_cache(w->records), key);
}

/* Bring the engine's view of pod ns/name up to date from the stored Pod and
 * the CNI's record. The record knows the interface and addresses as soon as
 * the pod is wired, before the API server reports the pod's IPs; labels (and
 * so the pod's role) only come from the Pod, so an endpoint exists only once
 * its Pod is known. */
static void refresh_endpoint(struct watcher *w, const char *ns, const char *name)
{
	char key[600];
	const struct endpoint *pod;
	struct endpoint ep;
	uint64_t now = loop_now_ms();

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pod = pod_store_get(w->pods, key);
	if (!pod) {
		engine_endpoint_delete(w->engine, key, now, &w->decisions);
		note_gone(w, key);
		w->plan_dirty = true;
		return;
	}
	const json_t *rec = record_for(w, ns, name);
	/* Without a record the Pod's endpoint is the engine's: no copy. */
	if (!rec) {
		engine_endpoint_upsert(w->engine, pod, now, &w->decisions);
		w->plan_dirty = true;
		return;
	}
	if (endpoint_with_record(pod, rec, &ep) < 0) {
		hlog(HLOG_ERROR, "Out of memory", "pod=%s", key);
		return;
	}
	engine_endpoint_upsert(w->engine, &ep, now, &w->decisions);
	endpoint_free(&ep);
	w->plan_dirty = true;
}

static void intake_pod(struct watcher *w, enum obj_event ev, const json_t *obj)
{
	const char *node =
	    json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
	const char *ns = *meta(obj, "namespace") ? meta(obj, "namespace") : "default";
	struct herr err = {{0}};
	char key[600];

	if (ev != OBJ_DELETED && node && !strcmp(node, w->opt.node)) {
		if (pod_store_upsert(w->pods, obj, &err) < 0) {
			rejected(w, obj, &err);
			return;
		}
	} else {
		snprintf(key, sizeof(key), "%s/%s", ns, meta(obj, "name"));
		if (pod_store_delete(w->pods, key) < 0)
			return; /* not this node's: nothing to forget */
	}
	refresh_endpoint(w, ns, meta(obj, "name"));
}

static bool is_bgp_kind(const char *kind)
{
	return !strcmp(kind, "BGPConfiguration") || !strcmp(kind, "BGPPeer") ||
	       !strcmp(kind, "BGPFilter") || !strcmp(kind, "Node") ||
	       !strcmp(kind, "BlockAffinity") || !strcmp(kind, "Secret");
}

void intake_object(void *arg, enum obj_event ev, const json_t *obj)
{
	struct watcher *w = arg;
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	struct herr err = {{0}};
	uint64_t now = loop_now_ms();
	int r;

	if (!kind)
		return;
	status_object_event(w->status, kind);
	if (hlog_enabled(HLOG_DEBUG))
		hlog(HLOG_DEBUG, "Object event", "event=%s kind=%s namespace=%s name=%s",
		     obj_event_name(ev), kind, meta(obj, "namespace"), meta(obj, "name"));
	if (!strcmp(kind, "Pod")) {
		intake_pod(w, ev, obj);
		return;
	}
	if (is_bgp_kind(kind)) {
		char ns_name[600];
		/* A Secret is known by namespace and name (BGP passwords). */
		snprintf(ns_name, sizeof(ns_name), "%s%s%s", meta(obj, "namespace"),
		         *meta(obj, "namespace") ? "/" : "", meta(obj, "name"));
		if (ev == OBJ_DELETED)
			bgp_resources_remove(&w->bgp, kind,
			                     strcmp(kind, "Secret") ? meta(obj, "name") : ns_name);
		else if (bgp_resources_add(&w->bgp, obj, &err) < 0) {
			rejected(w, obj, &err);
			return;
		} else if (!strcmp(kind, "BGPPeer") &&
		           bgp_resources_peer_clash(&w->bgp, meta(obj, "name"), &err) == 1) {
			/* BIRD gets one session per neighbour: say which peer lost. */
			hlog(HLOG_WARN, "BGPPeers share a neighbour", "error=%s", hlog_q(err.msg));
		} else if (!strcmp(kind, "Node") &&
		           bgp_resources_node_clash(&w->bgp, meta(obj, "name"), &err) == 1) {
			hlog(HLOG_WARN, "Nodes share an address", "error=%s", hlog_q(err.msg));
		}
		w->bird_dirty = true;
		return;
	}
	if (ev == OBJ_DELETED) {
		r = engine_delete(w->engine, kind, meta(obj, "namespace"), meta(obj, "name"), now,
		                  &w->decisions, &err);
		if (r == 0 && !strcmp(kind, "WorkloadEndpoint")) {
			char key[600]; /* as engine_delete names it */
			snprintf(key, sizeof(key), "%s/%s",
			         *meta(obj, "namespace") ? meta(obj, "namespace") : "default",
			         meta(obj, "name"));
			note_gone(w, key);
		}
	} else
		r = engine_apply(w->engine, obj, now, &w->decisions, &err);
	if (r < 0)
		rejected(w, obj, &err);
	else if (r == 0)
		w->plan_dirty = true;
}

void intake_record(void *arg, enum obj_event ev, const json_t *obj)
{
	struct watcher *w = arg;
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	if (!kind || strcmp(kind, "EndpointRecord"))
		return;
	hlog(HLOG_INFO, "CNI endpoint record", "event=%s pod=%s/%s", obj_event_name(ev),
	     meta(obj, "namespace"), meta(obj, "name"));
	refresh_endpoint(w, meta(obj, "namespace"), meta(obj, "name"));
}

void intake_garp(const char *endpoint_key, const char *ifname, void *arg)
{
	struct watcher *w = arg;
	struct herr err = {{0}};

	status_garp_seen(w->status, mono_us());
	hlog(HLOG_INFO, "Detected GARP/RARP packet on workload interface", "id=%s interface=%s",
	     endpoint_key, ifname);
	if (engine_garp(w->engine, endpoint_key, NULL, loop_now_ms(), &w->decisions, &err) < 0)
		hlog(HLOG_WARN, "GARP for an unknown endpoint", "id=%s error=%s", endpoint_key,
		     hlog_q(err.msg));
	w->plan_dirty = true;
}
