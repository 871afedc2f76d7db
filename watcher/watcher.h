/* watcher.h - the state of `handoff-watcher run`, shared by its files:
 *   intake.c   objects in (datastore / API server / CNI records) -> engine, BGP set
 *   sync.c     once per loop iteration: plan -> routes, ARP drops, captures, BIRD
 *   cmd_run.c  options, wiring, signals */
#ifndef HANDOFF_WATCHER_WATCHER_H
#define HANDOFF_WATCHER_WATCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bird/model.h"
#include "core/engine.h"
#include "kube/cache.h"

struct loop;
struct loop_timer;
struct http_server;
struct kube_watch;
struct status;
struct folder_store;
struct kube_client;
struct route_syncer;
struct capture_set;
struct json_t;
struct bird_sync;
struct bird_sessions;
struct taps;

struct watcher_opts {
	const char *node;
	const char *datastore_dir;   /* --datastore dir:PATH */
	const char *kubeconfig;      /* --kubeconfig PATH */
	const char *endpoint_dir;    /* where handoff-cni records endpoints */
	const char *bird_dir;        /* where bird.cfg / bird6.cfg are written; NULL: no BIRD */
	const char *bird_socket;     /* BIRD's control socket (IPv4 daemon) */
	const char *bird6_socket;    /* bird6's */
	const char *http_listen;     /* "127.0.0.1:9099"; "" disables */
	bool no_dataplane;           /* decide and log only (tests of the intake) */
	const char *log_level;       /* --log-level: debug, info, warn, error */
	const char *flags_file;      /* re-read on SIGHUP: the flags that can change */
	unsigned watch_timeout_s;    /* --watch-timeout: watch timeoutSeconds; 0 = client default */
	unsigned unready_after_s;    /* --unready-after: /readyz 503 once a required watch has
	                                failed this long (0 = 60) */
	unsigned migrations_history; /* --migrations-history: finished ones kept (0 = 1000) */
	const char *state_file;      /* --state-file: migrations kept across restarts; "" = none */
	const char *node_ranges_file; /* --node-ranges: this node's podCIDRs for the CNI */
	const char *metrics_listen;   /* --metrics: a second listener with /metrics only */
	const char *secret_namespace; /* --secret-namespace: where BGP password Secrets live */
	const char *gateway_mac;      /* --gateway-mac: adopted interfaces' MAC (taps.c) */
	const char *ipam_socket; /* --ipam-socket: serve VM addresses to handoff-cni (ipam.h) */
	unsigned ipam_workers;   /* --ipam-workers */
	unsigned ipam_gc_s;      /* --ipam-gc-interval */
	bool ipam_gc_set;        /* given: else 60 s */
};

struct saved_state;

struct watcher {
	struct watcher_opts opt;
	struct loop *loop;
	struct engine *engine;
	struct decisions decisions;

	struct folder_store *store;   /* --datastore */
	struct folder_store *records; /* CNI endpoint records */
	struct kube_client *kube;
	struct pod_store *pods; /* this node's Pods, decoded, for merging with records */
	struct bgp_resources bgp;

	struct kube_watch *watches[16]; /* for per-resource metrics */
	const char *watch_kinds[16];
	size_t nwatches;
	struct http_server *http;
	struct http_server *metrics_http; /* --metrics */
	struct status *status;
	/* Endpoints deleted this iteration, each after `at` decisions: the
	 * status forgets it after recording those (sync.c). Plain memory: the
	 * intake runs while jansson allocates from a watch line's arena. */
	struct gone_ep {
		char *key;
		size_t at;
	} * gone;
	size_t ngone, gone_cap;
	int ipam_fd; /* to the VM address service's process (ipam_run.c); -1: none */
	int ipam_pid;

	struct route_syncer *routes;
	struct capture_set *captures;
	struct loop_timer *fsm_timer;
	struct bird_sync *bird_sync;            /* bird_sync.c: reloads in flight, retries */
	struct bird_sessions *bird_sessions[2]; /* bird, bird6: for /status (http.c) */
	struct taps *taps;                      /* hypervisor interfaces adopted (taps.c) */

	bool plan_dirty;                  /* endpoints/states changed: re-apply the plan */
	bool bird_dirty;                  /* BGP resources changed: re-render BIRD */
	bool synced;                      /* initial lists done and the first plan applied */
	unsigned pending_lists;           /* watches whose first list has not completed */
	char *last_arp_sig;               /* what ARP suppression was last built from */
	char *last_node_ranges;           /* the node ranges file's text as last written */
	char *priority_warnings;          /* the priority disagreements last logged (joined) */
	struct route_config priority_cfg; /* ... and the Felix priorities they were found with */

	/* state.c: the saved state, read at start and restored at the settle
	 * (initial lists done); no route is applied before the settle. */
	struct saved_state *saved;
	bool settled;
	int bird_socket_fd; /* bird_socket.c: inotify on the control sockets' directory */

	/* Figures for /metrics. */
	uint64_t route_sync_errors, bird_reloads, bird_reload_failures, objects_rejected;
};

/* intake.c */
void intake_object(void *arg, enum obj_event ev, const struct json_t *obj);
void intake_record(void *arg, enum obj_event ev, const struct json_t *obj);
void intake_garp(const char *endpoint_key, const char *ifname, void *arg);

/* source_kube.c: list+watch from the API server (kubeconfig or in-cluster). */
int watcher_kube_start(struct watcher *w, struct herr *err);
void watcher_kube_stop(struct watcher *w);
/* Why the node is not ready because of the API server (a required watch
 * failing for longer than --unready-after), written to buf; 0 when none. */
int watcher_kube_unready(struct watcher *w, char *buf, size_t len);

/* ipam_run.c: the VM address service's flags and start. */
int watcher_ipam_opt(struct watcher_opts *o, int c, const char *arg);
int watcher_ipam_start(struct watcher *w, struct herr *err);
void watcher_ipam_stop(struct watcher *w);
void watcher_ipam_transition(struct watcher *w, const struct decision *d);

/* http.c: /healthz, /readyz, /metrics, /migrations on --http; /metrics
 * alone on --metrics. */
int watcher_http_start(struct watcher *w, struct herr *err);
void watcher_http_stop(struct watcher *w);

/* bird_socket.c: BIRD's control socket created again -> bird_dirty. */
int bird_socket_watch_start(struct watcher *w);
void bird_socket_watch_stop(struct watcher *w);
/* noderanges.c: (re)write --node-ranges when this node's podCIDRs change. */
void node_ranges_sync(struct watcher *w);

/* sync.c */
uint64_t mono_us(void); /* CLOCK_MONOTONIC in microseconds */
void sync_after_iteration(struct loop *l, void *arg);

/* bird_sync.c: render both files and have BIRD load them, without waiting on
 * the loop; failures are retried with backoff. */
int sync_bird(struct watcher *w);
void bird_sync_stop(struct watcher *w); /* cancel what is in flight */
/* NULL when BIRD runs the current configuration, else a text for /readyz
 * (into buf) saying which file is refused or failing and which objects. */
const char *bird_sync_degraded(const struct watcher *w, char *buf, size_t cap);
void bird_sync_write_metrics(const struct watcher *w, FILE *f);

#endif
