/* status_report.c - GET /status: what `handoff-watcher status` prints, as
 * JSON. The migration records come from status.c; this file adds what only
 * the running daemon knows: the route metric each endpoint has now (from the
 * plan the routes are synced to), the BGP sessions BIRD and bird6 report,
 * and the health of each watch. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bird/control.h"
#include "core/plan.h"
#include "kube/client.h"
#include "status.h"
#include "watcher.h"

/* A status request must not hold the loop (and a GARP's route) for long:
 * BIRD answers `show protocols` in well under a millisecond when it is
 * healthy, and a BIRD that does not answer in this time is reported so. */
#define STATUS_BIRD_TIMEOUT_MS 250

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

/* The BGP rows of BIRD's `show protocols`: "name proto table state since info". */
static json_t *bird_sessions(const char *daemon, const char *sock)
{
	json_t *d = json_pack("{s:s,s:s?}", "daemon", daemon, "socket", sock);
	struct bird_reply reply = {0};
	struct herr err = {{0}};

	if (!sock) {
		json_object_set_new(d, "error", json_string("no control socket configured"));
		return d;
	}
	if (bird_control_command(sock, "show protocols", STATUS_BIRD_TIMEOUT_MS, &reply, &err) <
	    0) {
		json_object_set_new(d, "error", json_string(err.msg));
		bird_reply_free(&reply);
		return d;
	}
	json_t *sessions = json_array();
	char *save = NULL;
	for (char *line = strtok_r(reply.text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128], proto[32], table[64], state[32], since[64];
		int off = 0;
		if (sscanf(line, "%127s %31s %63s %31s %63s %n", name, proto, table, state, since,
		           &off) < 5 ||
		    strcmp(proto, "BGP"))
			continue;
		json_array_append_new(sessions,
		                      json_pack("{s:s,s:s,s:s,s:s}", "name", name, "state", state,
		                                "since", since, "info", off ? line + off : ""));
	}
	json_object_set_new(d, "sessions", sessions);
	bird_reply_free(&reply);
	return d;
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
		json_array_append_new(bird, bird_sessions("bird", w->opt.bird_socket));
		json_array_append_new(bird, bird_sessions("bird6", w->opt.bird6_socket));
		json_object_set_new(rep, "bird", bird);
	}
	json_object_set_new(rep, "watches", watches(w, objects));
	json_object_del(rep, "objects");
	json_decref(objects);
	text = json_dumps(rep, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(rep);
	return text;
}
