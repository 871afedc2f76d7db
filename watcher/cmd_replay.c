/* handoff-watcher replay [--node NAME] [--timeline] [-q] FILE
 *
 * Feeds a recorded sequence of events (JSON lines, each with a virtual time
 * `t` in milliseconds and an `op`) through the core with a virtual clock and
 * prints every decision as a JSON line, in order. Deterministic: the same
 * file always prints the same bytes. Bad lines are reported with their line
 * number (stderr, and as an "error" event) and skipped. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/engine.h"
#include "decisions.h"
#include "util/log.h"

struct replay {
	struct engine *engine;
	struct decisions out;
	bool timeline, quiet;
	const char *node;
	json_t *history;   /* decisions kept for the timeline */
	json_t *pod_nodes; /* "ns/name" -> spec.nodeName of every Pod seen, any node */
	unsigned long errors;
};

static void report_error(struct replay *r, unsigned long line, const char *msg)
{
	json_t *o =
	    json_pack("{s:I,s:s,s:s}", "line", (json_int_t)line, "event", "error", "error", msg);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	fprintf(stderr, "replay: line %lu: %s\n", line, msg);
	if (!r->timeline && s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
	r->errors++;
}

static void flush_decisions(struct replay *r)
{
	for (size_t i = 0; i < r->out.n; i++) {
		json_t *o = decision_json(&r->out.v[i]);
		if (!r->quiet)
			decision_log(&r->out.v[i]);
		if (r->timeline) {
			json_array_append_new(r->history, o);
			continue;
		}
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(o);
	}
	decisions_clear(&r->out);
}

/* A recording covers every node: a GARP on another node's pod (or
 * WorkloadEndpoint) is not ours. */
static void remember_pod_node(struct replay *r, const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *node =
	    json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
	char key[512];

	/* A hypervisor's WorkloadEndpoint says its host in spec.node. */
	if (kind && !strcmp(kind, "WorkloadEndpoint"))
		node = json_string_value(json_object_get(json_object_get(obj, "spec"), "node"));
	else if (!kind || strcmp(kind, "Pod"))
		return;
	if (!name)
		return;
	snprintf(key, sizeof(key), "%s/%s", ns ? ns : "default", name);
	json_object_set_new(r->pod_nodes, key, json_string(node ? node : ""));
}

/* One line: 0 when applied, negative with err filled when it was bad. */
static int replay_line(struct replay *r, const char *text, uint64_t *last_t, struct herr *err)
{
	json_error_t jerr;
	json_t *ev = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	int rc = 0;

	if (!ev)
		return herr_set(err, -EINVAL, "not JSON: %s (column %d)", jerr.text, jerr.column);
	json_t *jt = json_object_get(ev, "t");
	const char *op = json_string_value(json_object_get(ev, "op"));
	if (!json_is_object(ev)) {
		rc = herr_set(err, -EINVAL, "not a JSON object");
	} else if (!json_is_integer(jt) || json_integer_value(jt) < 0) {
		rc = herr_set(err, -EINVAL, "t: must be a non-negative integer (milliseconds)");
	} else if ((uint64_t)json_integer_value(jt) < *last_t) {
		rc = herr_set(err, -EINVAL, "t: %lld is earlier than the previous line's %llu",
		              (long long)json_integer_value(jt), (unsigned long long)*last_t);
	} else if (!op) {
		rc = herr_set(err, -EINVAL, "op: missing (apply, delete, garp, rarp or tick)");
	}
	if (rc < 0)
		goto out;

	uint64_t t = (uint64_t)json_integer_value(jt);
	json_t *obj = json_object_get(ev, "object");
	*last_t = t;
	if (!strcmp(op, "tick")) {
		engine_advance(r->engine, t, &r->out);
	} else if (!strcmp(op, "apply")) {
		remember_pod_node(r, obj);
		if (!json_is_object(obj))
			rc = herr_set(err, -EINVAL, "object: must be a Kubernetes object");
		else if ((rc = engine_apply(r->engine, obj, t, &r->out, err)) == 1)
			rc = herr_set(err, -EINVAL, "object: kind %s is not one replay follows",
			              json_string_value(json_object_get(obj, "kind")));
	} else if (!strcmp(op, "delete")) {
		const char *kind = json_string_value(json_object_get(obj, "kind"));
		json_t *meta = json_object_get(obj, "metadata");
		const char *ns = json_string_value(json_object_get(meta, "namespace"));
		const char *name = json_string_value(json_object_get(meta, "name"));
		if (!kind || !name)
			rc = herr_set(err, -EINVAL, "object: delete needs kind and metadata.name");
		else if ((rc = engine_delete(r->engine, kind, ns ? ns : "", name, t, &r->out,
		                             err)) == 1)
			rc = herr_set(err, -EINVAL, "object: kind %s is not one replay follows",
			              kind);
	} else if (!strcmp(op, "garp") || !strcmp(op, "rarp")) {
		const char *key = json_string_value(json_object_get(ev, "endpoint"));
		const char *ifname = json_string_value(json_object_get(ev, "interface"));
		json_t *where = key ? json_object_get(r->pod_nodes, key) : NULL;
		if (!key && !ifname)
			rc = herr_set(err, -EINVAL, "%s: needs endpoint or interface", op);
		else if (where && strcmp(json_string_value(where), r->node))
			; /* seen on the node that runs that pod, not this one */
		else
			rc = engine_garp(r->engine, key, ifname, t, &r->out, err);
	} else {
		rc = herr_set(err, -EINVAL, "op: unknown operation \"%s\"", op);
	}
out:
	json_decref(ev);
	return rc < 0 ? rc : 0;
}

/* The human view: per endpoint, in time order, its roles, transitions (with
 * the time spent in the previous state) and route changes. */
static void print_timeline(json_t *history)
{
	size_t i;
	json_t *d;
	json_t *seen = json_object();

	json_array_foreach(history, i, d)
	{
		const char *ep = json_string_value(json_object_get(d, "endpoint"));
		if (!ep || json_object_get(seen, ep))
			continue;
		json_object_set_new(seen, ep, json_true());
		printf("endpoint %s\n", ep);
		long long prev = -1;
		size_t j;
		json_t *x;
		json_array_foreach(history, j, x)
		{
			const char *xe = json_string_value(json_object_get(x, "event"));
			const char *xp = json_string_value(json_object_get(x, "endpoint"));
			long long t = json_integer_value(json_object_get(x, "t"));
			if (!xp || strcmp(xp, ep))
				continue;
			if (!strcmp(xe, "role")) {
				printf("  t=%8lldms  role %-6s uid=%s\n", t,
				       json_string_value(json_object_get(x, "role")),
				       json_string_value(json_object_get(x, "uid")));
			} else if (!strcmp(xe, "transition")) {
				printf("  t=%8lldms  %-8s -> %-8s input=%-12s uid=%s", t,
				       json_string_value(json_object_get(x, "from")),
				       json_string_value(json_object_get(x, "to")),
				       json_string_value(json_object_get(x, "input")),
				       json_string_value(json_object_get(x, "uid")));
				if (prev >= 0)
					printf("  (%lld ms after the previous transition)",
					       t - prev);
				printf("\n");
				prev = t;
			} else if (!strcmp(xe, "route")) {
				json_t *m = json_object_get(x, "metric");
				printf("  t=%8lldms  route %s dev %s ", t,
				       json_string_value(json_object_get(x, "dst")),
				       json_string_value(json_object_get(x, "interface")));
				if (json_is_integer(m))
					printf("metric %lld\n", json_integer_value(m));
				else
					printf("withdrawn\n");
			}
		}
	}
	json_decref(seen);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: handoff-watcher replay [--node NAME] [--timeline] [-q] FILE|-\n");
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"node", required_argument, NULL, 'n'},
	    {"timeline", no_argument, NULL, 'T'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct replay r = {0};
	const char *node = "";
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	uint64_t last_t = 0;
	FILE *in;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:Tqh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			node = optarg;
			break;
		case 'T':
			r.timeline = true;
			break;
		case 'q':
			r.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	in = strcmp(argv[optind], "-") ? fopen(argv[optind], "r") : stdin;
	if (!in) {
		fprintf(stderr, "replay: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	r.node = node;
	r.engine = engine_new(node);
	r.history = json_array();
	r.pod_nodes = json_object();
	if (!r.engine || !r.history || !r.pod_nodes) {
		fprintf(stderr, "replay: out of memory\n");
		return 1;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		struct herr err = {{0}};
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strspn(line, " \t") == (size_t)len)
			continue;
		if (replay_line(&r, line, &last_t, &err) < 0)
			report_error(&r, lineno, err.msg);
		flush_decisions(&r);
	}
	if (r.timeline)
		print_timeline(r.history);
	free(line);
	if (in != stdin)
		fclose(in);
	decisions_free(&r.out);
	json_decref(r.history);
	json_decref(r.pod_nodes);
	engine_free(r.engine);
	fflush(stdout);
	return 0;
}
