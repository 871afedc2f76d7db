/* status_report.c - GET /status: what `handoff-watcher status` prints, as
 * JSON. The migration records come from status.c; this file adds what only
 * the running daemon knows: the route metric each endpoint has now (from the
 * plan the routes are synced to), the BGP sessions BIRD and bird6 last
 * reported (bird_sessions.c: asked by the loop, never waited for here), and
 * the health of each watch. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bird_sessions.h"
#include "core/plan.h"
#include "kube/client.h"
#include "status.h"
#include "watcher.h"

/* The routes the plan gives each endpoint listed in `eps`. */
static void add_routes(struct watcher *w, json_t *eps)
{
	struct plan p = {0};
	size_t i;
	json_t *e;

	if (engine_plan(w->engine, &p) < 0)
		return;
	json_array_foreach(eps, i, e)
	{
		const char *key = json_string_value(json_object_get(e, "endpoint"));
		json_t *routes = json_array();
		for (size_t r = 0; r < p.nroutes; r++)
			if (p.routes[r].endpoint_key && !strcmp(p.routes[r].endpoint_key, key))
				json_array_append_new(
				    routes, json_pack("{s:s,s:I}", "dst", p.routes[r].dst, "metric",
				                      (json_int_t)p.routes[r].metric));
		json_object_set_new(e, "routes", routes);
	}
	plan_free(&p);
}

/* Per resource: the API watch's figures when there is one, the intake's
 * count of events and rejections per kind always. */
static json_t *watches(struct watcher *w, json_t *objects)
{
	json_t *out = json_array();
	size_t i;
	json_t *o;

	for (size_t k = 0; k < w->nwatches; k++) {
		struct kube_watch_stats st;
		kube_watch_get_stats(w->watches[k], &st);
		json_t *row = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:b}", "resource",
		                        w->watch_kinds[k], "source", "api", "relists",
		                        (json_int_t)st.relists, "restarts", (json_int_t)st.restarts,
		                        "errors", (json_int_t)(st.errors + st.malformed), "lists",
		                        (json_int_t)st.lists, "synced", st.synced);
		/* No event of this kind yet: 0, and no last event. */
		json_object_set_new(row, "events", json_integer(0));
		json_object_set_new(row, "rejected", json_integer(0));
		json_array_foreach(objects, i, o)
		{
			if (strcmp(json_string_value(json_object_get(o, "kind")),
			           w->watch_kinds[k]))
				continue;
			json_object_set(row, "events", json_object_get(o, "events"));
			json_object_set(row, "rejected", json_object_get(o, "rejected"));
			json_object_set(row, "last_event_ms", json_object_get(o, "last_event_ms"));
		}
		json_array_append_new(out, row);
	}
	if (w->nwatches)
		return out;
	/* A folder datastore: files, no watch requests; one row per kind seen. */
	json_array_foreach(objects, i, o)
	{
		json_t *row =
		    json_pack("{s:O,s:s,s:O,s:O,s:O}", "resource", json_object_get(o, "kind"),
		              "source", "folder", "events", json_object_get(o, "events"),
		              "rejected", json_object_get(o, "rejected"), "last_event_ms",
		              json_object_get(o, "last_event_ms"));
		json_array_append_new(out, row);
	}
	return out;
}

char *status_report(struct watcher *w)
{
	struct timespec ts;
	json_t *rep = status_report_json(w->status);
	json_t *eps = json_object_get(rep, "endpoints");
	json_t *objects = json_incref(json_object_get(rep, "objects"));
	char *text;

	clock_gettime(CLOCK_REALTIME, &ts);
	add_routes(w, eps);
	json_object_set_new(rep, "node", json_string(w->opt.node ? w->opt.node : ""));
	json_object_set_new(rep, "ready", json_boolean(w->synced));
	json_object_set_new(rep, "now_ms",
	                    json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	if (w->opt.bird_dir) {
		json_t *bird = json_array();
		for (int f = 0; f < 2; f++)
			if (w->bird_sessions[f])
				json_array_append_new(bird,
				                      bird_sessions_json(w->bird_sessions[f]));
		json_object_set_new(rep, "bird", bird);
	}
	json_object_set_new(rep, "watches", watches(w, objects));
	json_object_del(rep, "objects");
	json_decref(objects);
	text = json_dumps(rep, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(rep);
	return text;
}
