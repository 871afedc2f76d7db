/* handoff-watcher run: the per-node daemon.
 *
 *   run [--node NAME] (--datastore dir:PATH | --kubeconfig PATH | in a pod)
 *       [--endpoint-dir DIR] [--bird-dir DIR [--bird-socket S] [--bird6-socket S]]
 *       [--http ADDR:PORT] [--metrics ADDR:PORT] [--node-ranges FILE]
 *
 * One thread, one epoll loop: datastore events, CNI records, netlink, pcap,
 * the FSM's convergence timer and signals all arrive as file descriptors.
 * SIGTERM/SIGINT exit leaving routes in place; a restart (or SIGKILL) picks
 * up each migration where it was (state.h);
 * SIGHUP re-reads the log level. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "commands.h"
#include "core/pods.h"
#include "dataplane/capture.h"
#include "dataplane/routes.h"
#include "kube/folder.h"
#include "util/log.h"
#include "util/loop.h"
#include "state.h"
#include "status.h"
#include "taps.h"
#include "watcher.h"

static void on_store(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct folder_store *fs = arg;
	struct herr err = {{0}};

	if (folder_store_handle(fs, &err) < 0)
		hlog(HLOG_ERROR, "Datastore folder", "error=%s", hlog_q(err.msg));
}

static void on_store_error(void *arg, const char *message)
{
	struct watcher *w = arg;
	w->objects_rejected++;
	hlog(HLOG_WARN, "Datastore file ignored", "error=%s", hlog_q(message));
}

static void on_netlink(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct watcher *w = arg;
	struct herr err = {{0}};

	if (route_syncer_handle_events(w->routes, &err) < 0) {
		w->route_sync_errors++;
		hlog(HLOG_WARN, "Route re-sync failed", "error=%s", hlog_q(err.msg));
	}
}

static void on_capture(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct watcher *w = arg;
	capture_set_dispatch(w->captures, intake_garp, w);
}

static void on_fsm_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct watcher *w = arg;
	engine_advance(w->engine, loop_now_ms(), &w->decisions);
}

/* The flags that can change while running, from --flags-file: one
 * "--flag value" per line, '#' comments. Other flags are refused by name. */
static int reread_flags(struct watcher *w, struct herr *err)
{
	char line[512];
	unsigned lineno = 0;
	FILE *f;
	int level = -1;

	if (!w->opt.flags_file)
		return 0;
	f = fopen(w->opt.flags_file, "r");
	if (!f)
		return herr_set(err, -errno, "%s: %s", w->opt.flags_file, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char flag[64], value[256];
		lineno++;
		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\n")] == '\0')
			continue;
		if (sscanf(line, " %63s %255s", flag, value) != 2 || strcmp(flag, "--log-level") ||
		    (level = hlog_parse_level(value)) < 0) {
			fclose(f);
			return herr_set(
			    err, -EINVAL,
			    "%s:%u: only '--log-level debug|info|warn|error' can change "
			    "while running (the rest needs a restart)",
			    w->opt.flags_file, lineno);
		}
	}
	fclose(f);
	if (level >= 0)
		hlog_set_level((enum hlog_level)level);
	return 0;
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct watcher *w = arg;
	struct herr err = {{0}};

	if (signo == SIGHUP) {
		/* New flags, and a full re-sync: routes, ARP table, captures, BIRD. */
		if (reread_flags(w, &err) < 0)
			hlog(HLOG_WARN, "SIGHUP: flags file rejected; flags unchanged", "error=%s",
			     hlog_q(err.msg));
		free(w->last_arp_sig);
		w->last_arp_sig = NULL;
		free(w->last_node_ranges); /* rewritten even if unchanged */
		w->last_node_ranges = NULL;
		w->plan_dirty = true;
		w->bird_dirty = true;
		hlog(HLOG_INFO, "SIGHUP: flags re-read, full re-sync", "flags_file=%s",
		     w->opt.flags_file ? w->opt.flags_file : "none");
		return;
	}
	hlog(HLOG_INFO, "Stopping; workload routes stay in place", "signal=%d", signo);
	loop_stop(l);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: handoff-watcher run [--node NAME] (--datastore dir:PATH | --kubeconfig PATH)\n"
	    "          [--endpoint-dir DIR] [--bird-dir DIR] [--bird-socket PATH]\n"
	    "          [--bird6-socket PATH] [--http ADDR:PORT] [--no-dataplane]\n"
	    "          [--log-level LEVEL] [--flags-file FILE (re-read on SIGHUP)]\n"
	    "          [--watch-timeout SECONDS] [--unready-after SECONDS]\n"
	    "          [--migrations-history N (finished migrations kept, 1000)]\n"
	    "          [--state-file PATH (default " STATE_FILE_DEFAULT "; \"\" for none)]\n"
	    "          [--node-ranges FILE] [--metrics ADDR:PORT] [--secret-namespace NS]\n"
	    "          [--ipam-socket PATH [--ipam-workers N] [--ipam-gc-interval SECONDS]]\n"
	    "          [--gateway-mac MAC (hypervisor interfaces; default ee:ee:ee:ee:ee:ee)]\n");
}

static int parse_opts(int argc, char **argv, struct watcher_opts *o)
{
	static const struct option opts[] = {
	    {"node", required_argument, NULL, 'n'},
	    {"datastore", required_argument, NULL, 'd'},
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"endpoint-dir", required_argument, NULL, 'e'},
	    {"bird-dir", required_argument, NULL, 'b'},
	    {"bird-socket", required_argument, NULL, 's'},
	    {"bird6-socket", required_argument, NULL, '6'},
	    {"http", required_argument, NULL, 'H'},
	    {"no-dataplane", no_argument, NULL, 'N'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"flags-file", required_argument, NULL, 'F'},
	    {"watch-timeout", required_argument, NULL, 'T'},
	    {"state-file", required_argument, NULL, 'S'},
	    {"unready-after", required_argument, NULL, 'U'},
	    {"migrations-history", required_argument, NULL, 'M'},
	    {"node-ranges", required_argument, NULL, 'R'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"secret-namespace", required_argument, NULL, 'C'},
	    {"gateway-mac", required_argument, NULL, 'G'},
	    {"ipam-socket", required_argument, NULL, 'I'},
	    {"ipam-workers", required_argument, NULL, 'W'},
	    {"ipam-gc-interval", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static char hostname[256];
	int c;

	o->node = getenv("NODE_NAME");
	/* BGP passwords: Secrets of the watcher's own namespace only (its Role
	 * grants nothing else; manifests/15-bgp-secrets-rbac.yaml). */
	o->secret_namespace = getenv("POD_NAMESPACE") ? getenv("POD_NAMESPACE") : "handoff-system";
	o->http_listen = "127.0.0.1:9099";
	o->state_file = STATE_FILE_DEFAULT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->node = optarg;
			break;
		case 'd':
			if (strncmp(optarg, "dir:", 4)) {
				fprintf(stderr, "run: --datastore: expected dir:PATH, got \"%s\"\n",
				        optarg);
				return -1;
			}
			o->datastore_dir = optarg + 4;
			break;
		case 'k':
			o->kubeconfig = optarg;
			break;
		case 'e':
			o->endpoint_dir = optarg;
			break;
		case 'b':
			o->bird_dir = optarg;
			break;
		case 's':
			o->bird_socket = optarg;
			break;
		case '6':
			o->bird6_socket = optarg;
			break;
		case 'H':
			o->http_listen = optarg;
			break;
		case 'N':
			o->no_dataplane = true;
			break;
		case 'L':
			if (hlog_parse_level(optarg) < 0) {
				fprintf(stderr,
				        "run: --log-level: \"%s\" is not debug, info, warn or "
				        "error\n",
				        optarg);
				return -1;
			}
			hlog_set_level((enum hlog_level)hlog_parse_level(optarg));
			o->log_level = optarg;
			break;
		case 'F':
			o->flags_file = optarg;
			break;
		case 'C':
			o->secret_namespace = optarg;
			break;
		case 'T': {
			/* Watch timeoutSeconds; a stalled stream is noticed after
			 * about twice this (tests use a few seconds). */
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 3600) {
				fprintf(
				    stderr,
				    "run: --watch-timeout: expected 1..3600 seconds, got \"%s\"\n",
				    optarg);
				return -1;
			}
			o->watch_timeout_s = (unsigned)v;
			break;
		}
		case 'S':
			o->state_file = optarg;
			break;
		case 'U': {
			/* /readyz turns 503 once a required watch has failed this long. */
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 86400) {
				fprintf(
				    stderr,
				    "run: --unready-after: expected 1..86400 seconds, got \"%s\"\n",
				    optarg);
				return -1;
			}
			o->unready_after_s = (unsigned)v;
			break;
		}
		case 'M': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 1000000) {
				fprintf(
				    stderr,
				    "run: --migrations-history: expected 1..1000000, got \"%s\"\n",
				    optarg);
				return -1;
			}
			o->migrations_history = (unsigned)v;
			break;
		}
		case 'R':
			o->node_ranges_file = optarg;
			break;
		case 'm':
			o->metrics_listen = optarg;
			break;
		case 'G':
			o->gateway_mac = optarg;
			break;
		case 'I':
		case 'W':
		case 'g':
			if (watcher_ipam_opt(o, c, optarg) < 0)
				return -1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (!o->node || !*o->node) {
		if (gethostname(hostname, sizeof(hostname)) < 0)
			return -1;
		o->node = hostname;
	}
	if (!o->datastore_dir && !o->kubeconfig && !getenv("KUBERNETES_SERVICE_HOST")) {
		fprintf(stderr, "run: no datastore: give --datastore dir:PATH or --kubeconfig PATH "
		                "(in a pod the service account is used)\n");
		return -1;
	}
	return 0;
}

/* A link came up: captures waiting for it can open now. */
static void on_link_up(void *arg, const char *ifname)
{
	struct watcher *w = arg;
	struct herr err = {{0}};

	if (capture_set_link_up(w->captures, ifname, &err) < 0)
		hlog(HLOG_WARN, "GARP capture on a new link failed", "interface=%s error=%s",
		     ifname, hlog_q(err.msg));
}

static int setup_dataplane(struct watcher *w, struct herr *err)
{
	struct route_syncer_opts ro = {
	    .on_link_up = on_link_up, .on_link_up_arg = w, .on_link = taps_on_link};

	if (w->opt.no_dataplane)
		return 0;
	if (!(w->taps = taps_new(w->opt.gateway_mac, err)))
		return -1;
	w->captures = capture_set_new();
	w->routes = route_syncer_new(&ro, err);
	if (!w->routes || !w->captures)
		return -1;
	if (loop_add_fd(w->loop, route_syncer_fd(w->routes), EPOLLIN, on_netlink, w) < 0 ||
	    loop_add_fd(w->loop, capture_set_fd(w->captures), EPOLLIN, on_capture, w) < 0)
		return herr_set(err, -EIO, "cannot watch netlink or captures");
	return 0;
}

static int setup_sources(struct watcher *w, struct herr *err)
{
	if (w->opt.endpoint_dir) {
		w->records =
		    folder_store_open(w->opt.endpoint_dir, intake_record, on_store_error, w, err);
		if (!w->records)
			return -1;
		loop_add_fd(w->loop, folder_store_fd(w->records), EPOLLIN, on_store, w->records);
	}
	if (w->opt.datastore_dir) {
		w->store =
		    folder_store_open(w->opt.datastore_dir, intake_object, on_store_error, w, err);
		if (!w->store)
			return -1;
		loop_add_fd(w->loop, folder_store_fd(w->store), EPOLLIN, on_store, w->store);
		return 0;
	}
	return watcher_kube_start(w, err);
}

static void teardown(struct watcher *w)
{
	watcher_ipam_stop(w);
	watcher_kube_stop(w);
	bird_socket_watch_stop(w);
	folder_store_close(w->store);
	folder_store_close(w->records);
	capture_set_free(w->captures);
	taps_free(w->taps);
	route_syncer_free(w->routes); /* the routes themselves stay */
	loop_timer_free(w->fsm_timer);
	bird_sync_stop(w);
	watcher_http_stop(w);
	loop_free(w->loop);
	engine_free(w->engine);
	decisions_free(&w->decisions);
	pod_store_free(w->pods);
	bgp_resources_free(&w->bgp);
	free(w->last_arp_sig);
	state_free(w);
	free(w->priority_warnings);
	free(w->last_node_ranges);
	status_free(w->status);
	for (size_t i = 0; i < w->ngone; i++)
		free(w->gone[i].key);
	free(w->gone);
}

int cmd_run(int argc, char **argv)
{
	struct watcher w;
	struct herr err = {{0}};
	int rc = 1;

	memset(&w, 0, sizeof(w));
	w.ipam_fd = -1;
	if (parse_opts(argc, argv, &w.opt) < 0)
		return 2;
	w.bgp.secret_namespace = w.opt.secret_namespace;
	w.loop = loop_new();
	w.engine = engine_new(w.opt.node);
	w.pods = pod_store_new();
	w.status = status_new(w.opt.migrations_history ? w.opt.migrations_history : 1000);
	if (!w.loop || !w.engine || !w.pods || !w.status)
		goto out;
	w.fsm_timer = loop_timer_new(w.loop, on_fsm_timer, &w);
	loop_add_signal(w.loop, SIGTERM, on_signal, &w);
	loop_add_signal(w.loop, SIGINT, on_signal, &w);
	loop_add_signal(w.loop, SIGHUP, on_signal, &w);
	loop_on_iteration(w.loop, sync_after_iteration, &w);
	hlog(HLOG_INFO, "Starting", "node=%s datastore=%s", w.opt.node,
	     w.opt.datastore_dir ? w.opt.datastore_dir
	                         : (w.opt.kubeconfig ? w.opt.kubeconfig : "in-cluster"));

	if (reread_flags(&w, &err) < 0) {
		hlog(HLOG_ERROR, "Cannot start", "error=%s", hlog_q(err.msg));
		goto out;
	}
	/* Roles wait for the saved state (state.h) until the initial objects are in. */
	engine_restore_begin(w.engine);
	state_load(&w);
	/* The VM address service's process first, before anything is opened. */
	if (watcher_ipam_start(&w, &err) < 0 || setup_dataplane(&w, &err) < 0 ||
	    watcher_http_start(&w, &err) < 0 || setup_sources(&w, &err) < 0) {
		hlog(HLOG_ERROR, "Cannot start", "error=%s", hlog_q(err.msg));
		goto out;
	}
	bird_socket_watch_start(&w); /* without it BIRD still works; logged */
	/* The initial content is decided: apply it before waiting for anything. */
	sync_after_iteration(w.loop, &w);
	rc = loop_run(w.loop) < 0 ? 1 : 0;
out:
	teardown(&w);
	return rc;
}
