/* cmd_status.c - `handoff-watcher status [--http ADDR:PORT] [--json]`: the
 * node's migrations, BIRD sessions and watch health at a glance, read from
 * the running daemon's GET /status (status_report.c), in the spirit of
 * `calicoctl node status`. --json prints the document as the daemon sent it.
 * Exit status: 0 shown, 1 the daemon did not answer (or answered an error),
 * 2 bad usage. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"

#define STATUS_TIMEOUT_MS 5000

/* printf one table line without the padding at its end. */
__attribute__((format(printf, 1, 2))) static void row(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\n'))
		line[--n] = '\0';
	puts(line);
}

struct body {
	char *data;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *nd = realloc(b->data, b->len + size * n + 1);

	if (!nd)
		return 0;
	memcpy(nd + b->len, p, size * n);
	b->len += size * n;
	nd[b->len] = '\0';
	b->data = nd;
	return size * n;
}

/* GET http://<addr>/status into *out; prints why not and returns -1. */
static int fetch(const char *addr, char **out)
{
	char url[300], cerr[CURL_ERROR_SIZE] = "";
	struct body b = {0};
	long code = 0;
	CURLcode rc;
	CURL *c;

	snprintf(url, sizeof(url), "http://%s/status", addr);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(c = curl_easy_init())) {
		fprintf(stderr, "handoff-watcher status: cannot initialise libcurl\n");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)STATUS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the daemon is local, whatever the env says */
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (rc == CURLE_COULDNT_CONNECT) {
		fprintf(stderr,
		        "handoff-watcher status: the daemon is not running on this node, or not "
		        "listening on %s (%s).\nStart it with `handoff-watcher run --http %s ...`, "
		        "or point --http at the address it listens on.\n",
		        addr, *cerr ? cerr : curl_easy_strerror(rc), addr);
		free(b.data);
		return -1;
	}
	if (rc != CURLE_OK) {
		fprintf(stderr, "handoff-watcher status: %s: %s\n", url,
		        *cerr ? cerr : curl_easy_strerror(rc));
		free(b.data);
		return -1;
	}
	if (code != 200) {
		fprintf(stderr,
		        "handoff-watcher status: %s answered HTTP %ld (a daemon older than the "
		        "status command, or not handoff-watcher): %s",
		        url, code, b.data ? b.data : "\n");
		free(b.data);
		return -1;
	}
	*out = b.data;
	return 0;
}

/* "12s ago", "3m4s ago", "2h5m ago"; "-" for no time. */
static const char *ago(json_t *ms, int64_t now_ms, char buf[32])
{
	int64_t t = json_integer_value(ms), d;

	if (!json_is_integer(ms) || t <= 0)
		return "-";
	d = (now_ms - t) / 1000;
	if (d < 0)
		d = 0;
	if (d < 60)
		snprintf(buf, 32, "%llds ago", (long long)d);
	else if (d < 3600)
		snprintf(buf, 32, "%lldm%llds ago", (long long)(d / 60), (long long)(d % 60));
	else
		snprintf(buf, 32, "%lldh%lldm ago", (long long)(d / 3600),
		         (long long)(d / 60 % 60));
	return buf;
}

static const char *str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : dflt;
}

static void num(json_t *o, const char *key, char buf[32])
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, 32, "-");
}

static void print_endpoints(json_t *doc, int64_t now)
{
	json_t *eps = json_object_get(doc, "endpoints");
	size_t i;
	json_t *e;

	printf("Endpoints in migration:\n");
	if (!json_array_size(eps)) {
		printf("  none\n");
		return;
	}
	row("  %-28s %-7s %-9s %-12s %-24s %-12s %s", "ENDPOINT", "ROLE", "STATE", "SINCE",
	    "MIGRATION", "METRIC", "GARP->ROUTE");
	json_array_foreach(eps, i, e)
	{
		char since[32], metric[64] = "", g2r[32] = "-";
		size_t j;
		json_t *r;
		/* One metric per route; the families usually agree: print each once. */
		json_array_foreach(json_object_get(e, "routes"), j, r)
		{
			char m[16];
			json_int_t v = json_integer_value(json_object_get(r, "metric"));
			if (v)
				snprintf(m, sizeof(m), "%lld", (long long)v);
			else
				snprintf(m, sizeof(m), "none");
			if (!strstr(metric, m) && strlen(metric) + strlen(m) + 2 < sizeof(metric)) {
				if (*metric)
					strcat(metric, ",");
				strcat(metric, m);
			}
		}
		json_t *us = json_object_get(e, "garp_to_route_us");
		if (json_is_integer(us))
			snprintf(g2r, sizeof(g2r), "%.2f ms",
			         (double)json_integer_value(us) / 1000.0);
		row("  %-28s %-7s %-9s %-12s %-24s %-12s %s", str(e, "endpoint", "?"),
		    str(e, "role", "?"), str(e, "state", "?"),
		    ago(json_object_get(e, "since_ms"), now, since), str(e, "uid", "-"),
		    *metric ? metric : "no route", g2r);
	}
}

static void print_bird(json_t *doc, int64_t now)
{
	json_t *bird = json_object_get(doc, "bird");
	json_t *reload = json_object_get(doc, "bird_reload");
	size_t i, j;
	json_t *d, *s;

	printf("\nBIRD:\n");
	if (!bird) {
		printf("  not managed by this daemon (run without --bird-dir)\n");
		return;
	}
	row("  %-7s %-10s %-12s %s", "DAEMON", "RELOAD", "WHEN", "ERROR");
	json_array_foreach(reload, i, d)
	{
		char when[32];
		row("  %-7s %-10s %-12s %s", str(d, "daemon", "?"), str(d, "result", "none"),
		    ago(json_object_get(d, "at_ms"), now, when), str(d, "error", ""));
	}
	row("\n  %-7s %-24s %-8s %-10s %s", "DAEMON", "SESSION", "STATE", "SINCE", "INFO");
	json_array_foreach(bird, i, d)
	{
		char when[32];
		if (json_object_get(d, "error")) {
			if (json_object_get(d, "as_of_ms"))
				row("  %-7s %s (%s)", str(d, "daemon", "?"), str(d, "error", ""),
				    ago(json_object_get(d, "as_of_ms"), now, when));
			else
				row("  %-7s %s", str(d, "daemon", "?"), str(d, "error", ""));
			continue;
		}
		if (!json_array_size(json_object_get(d, "sessions")))
			row("  %-7s no BGP sessions", str(d, "daemon", "?"));
		json_array_foreach(json_object_get(d, "sessions"), j, s)
		{
			row("  %-7s %-24s %-8s %-10s %s", str(d, "daemon", "?"),
			    str(s, "name", "?"), str(s, "state", "?"), str(s, "since", "-"),
			    str(s, "info", ""));
		}
	}
	/* The daemon asks BIRD in the background (bird_sessions.c): say how old. */
	printf("  (sessions as of:");
	json_array_foreach(bird, i, d)
	{
		char when[32];
		printf("%s %s %s", i ? "," : "", str(d, "daemon", "?"),
		       ago(json_object_get(d, "as_of_ms"), now, when));
	}
	printf(")\n");
}

static void print_watches(json_t *doc, int64_t now)
{
	json_t *ws = json_object_get(doc, "watches");
	size_t i;
	json_t *w;

	printf("\nWatches:\n");
	row("  %-34s %-7s %-7s %-12s %-8s %-9s %-7s %s", "RESOURCE", "SOURCE", "EVENTS",
	    "LAST EVENT", "RELISTS", "RESTARTS", "ERRORS", "REJECTED");
	json_array_foreach(ws, i, w)
	{
		char ev[32], rl[32], rs[32], er[32], rj[32], last[32];
		num(w, "events", ev);
		num(w, "relists", rl);
		num(w, "restarts", rs);
		num(w, "errors", er);
		num(w, "rejected", rj);
		row("  %-34s %-7s %-7s %-12s %-8s %-9s %-7s %s", str(w, "resource", "?"),
		    str(w, "source", "?"), ev, ago(json_object_get(w, "last_event_ms"), now, last),
		    rl, rs, er, rj);
	}
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"http", required_argument, NULL, 'H'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *addr = "127.0.0.1:9099";
	bool json_out = false;
	char *text = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			addr = optarg;
			break;
		case 'j':
			json_out = true;
			break;
		case 'h':
			printf("usage: handoff-watcher status [--http ADDR:PORT] [--json]\n");
			return 0;
		default:
			fprintf(stderr,
			        "usage: handoff-watcher status [--http ADDR:PORT] [--json]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "handoff-watcher status: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (fetch(addr, &text) < 0)
		return 1;
	if (json_out) {
		fputs(text, stdout);
		if (!*text || text[strlen(text) - 1] != '\n')
			putchar('\n');
		free(text);
		return 0;
	}
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	free(text);
	if (!json_is_object(doc)) {
		fprintf(stderr, "handoff-watcher status: the daemon's /status is not JSON: %s\n",
		        je.text);
		json_decref(doc);
		return 1;
	}
	int64_t now = json_integer_value(json_object_get(doc, "now_ms"));
	printf("Node %s: %s\n\n", str(doc, "node", "?"),
	       json_is_true(json_object_get(doc, "ready")) ? "ready"
	                                                   : "not ready (initial lists pending)");
	print_endpoints(doc, now);
	print_bird(doc, now);
	print_watches(doc, now);
	json_decref(doc);
	return 0;
}
