/* http.c - the node's endpoints: /healthz, /readyz, /metrics, /migrations,
 * /status (what `handoff-watcher status` prints). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird_sessions.h"
#include "dataplane/routes.h"
#include "http/prom.h"
#include "http/server.h"
#include "kube/client.h"
#include "status.h"
#include "util/log.h"
#include "util/loop.h"
#include "watcher.h"

enum watch_figure { WATCH_RESTARTS, WATCH_RELISTS, WATCH_EVENTS, WATCH_ERRORS };

/* One counter family with a sample per watched resource. */
static void watch_family(FILE *f, struct watcher *w, const char *name, const char *help,
                         enum watch_figure which)
{
	char labels[128];

	prom_header(f, name, "counter", help);
	for (size_t i = 0; i < w->nwatches; i++) {
		struct kube_watch_stats st;
		kube_watch_get_stats(w->watches[i], &st);
		uint64_t v = which == WATCH_RESTARTS  ? st.restarts
		             : which == WATCH_RELISTS ? st.relists
		             : which == WATCH_ERRORS  ? st.errors + st.malformed
		                                      : st.events;
		snprintf(labels, sizeof(labels), "resource=\"%s\"", w->watch_kinds[i]);
		prom_sample(f, name, labels, (double)v);
	}
}

static void write_metrics(struct watcher *w, FILE *f)
{
	prom_header(f, "handoff_ready", "gauge", "1 once the initial lists are done and applied.");
	prom_sample(f, "handoff_ready", NULL, w->synced);
	prom_header(f, "handoff_loop_iterations_total", "counter", "Event loop iterations.");
	prom_sample(f, "handoff_loop_iterations_total", NULL, (double)loop_iterations(w->loop));
	status_write_metrics(w->status, f);

	watch_family(f, w, "handoff_watch_restarts_total",
	             "Watch requests started again after the first, by resource.", WATCH_RESTARTS);
	watch_family(f, w, "handoff_watch_relists_total", "Full lists after 410 Gone, by resource.",
	             WATCH_RELISTS);
	watch_family(f, w, "handoff_watch_events_total", "Watch events applied, by resource.",
	             WATCH_EVENTS);
	watch_family(f, w, "handoff_watch_errors_total",
	             "Failed list/watch requests (retried) and unreadable lines, by resource.",
	             WATCH_ERRORS);

	if (w->routes) {
		struct route_syncer_stats rs;
		route_syncer_get_stats(w->routes, &rs);
		prom_header(f, "handoff_routes_added_total", "counter", "Workload routes created.");
		prom_sample(f, "handoff_routes_added_total", NULL, (double)rs.added);
		prom_header(f, "handoff_routes_deleted_total", "counter",
		            "Workload routes removed.");
		prom_sample(f, "handoff_routes_deleted_total", NULL, (double)rs.deleted);
		prom_header(
		    f, "handoff_routes_waiting", "gauge",
		    "Routes held back, by reason (another protocol's route, missing link).");
		prom_sample(f, "handoff_routes_waiting", "reason=\"conflict\"",
		            rs.waiting_conflict);
		prom_sample(f, "handoff_routes_waiting", "reason=\"link\"", rs.waiting_link);
	}
	prom_header(f, "handoff_route_sync_errors_total", "counter",
	            "Route syncs that did not complete.");
	prom_sample(f, "handoff_route_sync_errors_total", NULL, (double)w->route_sync_errors);
	prom_header(f, "handoff_bird_reloads_total", "counter",
	            "BIRD configurations written and applied.");
	prom_sample(f, "handoff_bird_reloads_total", NULL, (double)w->bird_reloads);
	prom_header(f, "handoff_bird_reload_failures_total", "counter",
	            "BIRD configurations BIRD rejected or that could not be applied.");
	prom_sample(f, "handoff_bird_reload_failures_total", NULL, (double)w->bird_reload_failures);
	bird_sync_write_metrics(w, f);
	prom_header(f, "handoff_objects_rejected_total", "counter",
	            "Objects or files rejected as invalid (the previous version stays).");
	prom_sample(f, "handoff_objects_rejected_total", NULL, (double)w->objects_rejected);
	const struct endpoint *const *eps;
	prom_header(f, "handoff_endpoints", "gauge", "Local workload endpoints.");
	prom_sample(f, "handoff_endpoints", NULL, (double)engine_endpoints(w->engine, &eps));
}

static void handle(void *arg, const char *path, struct http_response *r)
{
	struct watcher *w = arg;

	if (!strcmp(path, "/healthz")) {
		/* Served from the loop itself: an answer means the loop turns. */
		r->body = strdup("ok\n");
	} else if (!strcmp(path, "/readyz")) {
		char why[2048];
		const char *degraded = NULL;
		if (w->synced && w->kube && watcher_kube_unready(w, why, sizeof(why))) {
			/* Decisions stand on a view of the cluster that no longer
			 * updates (RBAC withdrawn: 403, CRD removed: 404). */
			r->status = 503;
			if (asprintf(&r->body, "API server watch failing: %s", why) < 0)
				r->body = NULL;
		} else if (w->synced && (degraded = bird_sync_degraded(w, why, sizeof(why)))) {
			/* Still ready (200): routes, GARPs and the BGP sessions BIRD
			 * already runs keep working; only BGP changes are held. */
			if (asprintf(&r->body, "ready, degraded:\n%s", degraded) < 0)
				r->body = NULL;
		} else if (w->synced) {
			r->body = strdup("ready\n");
		} else {
			r->status = 503;
			if (asprintf(&r->body, "waiting for %u initial list(s)\n",
			             w->pending_lists) < 0)
				r->body = NULL;
		}
	} else if (!strcmp(path, "/metrics")) {
		size_t len = 0;
		FILE *f = open_memstream(&r->body, &len);
		if (f) {
			write_metrics(w, f);
			fclose(f);
		}
		r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	} else if (!strcmp(path, "/status")) {
		r->body = status_report(w);
		r->content_type = "application/json";
	} else if (!strcmp(path, "/migrations")) {
		r->body = status_migrations_json(w->status);
		r->content_type = "application/json";
	} else {
		r->status = 404;
		r->body =
		    strdup("not found: try /healthz, /readyz, /metrics, /migrations, /status\n");
	}
}

/* --metrics: what Prometheus scrapes, on an address it can reach (the
 * node's), while the probes' endpoints stay on --http (loopback). */
static void handle_metrics(void *arg, const char *path, struct http_response *r)
{
	if (!strcmp(path, "/metrics")) {
		handle(arg, path, r);
	} else {
		r->status = 404;
		r->body = strdup("not found: this listener serves /metrics only\n");
	}
}

int watcher_http_start(struct watcher *w, struct herr *err)
{
	if (w->opt.http_listen && *w->opt.http_listen) {
		w->http = http_server_new(w->loop, w->opt.http_listen, handle, w, err);
		if (!w->http)
			return -1;
		hlog(HLOG_INFO, "HTTP endpoints", "listen=%s", w->opt.http_listen);
		/* /status shows BIRD's sessions as the loop last heard them. */
		const char *socks[2] = {w->opt.bird_socket, w->opt.bird6_socket};
		for (int f = 0; f < 2 && w->opt.bird_dir; f++)
			if (!(w->bird_sessions[f] =
			          bird_sessions_new(w->loop, f ? "bird6" : "bird", socks[f])))
				return herr_set(err, -ENOMEM, "out of memory");
	}
	if (w->opt.metrics_listen && *w->opt.metrics_listen) {
		w->metrics_http =
		    http_server_new(w->loop, w->opt.metrics_listen, handle_metrics, w, err);
		if (!w->metrics_http) {
			herr_prefix(err, "--metrics %s: ", w->opt.metrics_listen);
			return -1;
		}
		hlog(HLOG_INFO, "Metrics endpoint", "listen=%s", w->opt.metrics_listen);
	}
	return 0;
}

void watcher_http_stop(struct watcher *w)
{
	for (int f = 0; f < 2; f++) {
		bird_sessions_free(w->bird_sessions[f]);
		w->bird_sessions[f] = NULL;
	}
	http_server_free(w->http);
	http_server_free(w->metrics_http);
	w->http = w->metrics_http = NULL;
}
