/* watcher.h - the state of `handoff-watcher run`, shared by its files:
 *   intake.c   objects in (datastore / API server / CNI records) -> engine, BGP set
 *   sync.c     once per loop iteration: plan -> routes, ARP drops, captures, BIRD
 *   cmd_run.c  options, wiring, signals */
#ifndef HANDOFF_WATCHER_WATCHER_H
#define HANDOFF_WATCHER_WATCHER_H

#include <stdbool.h>
#include <stdint.h>

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

struct watcher_opts {
	const char *node;
	const char *datastore_dir; /* --datastore dir:PATH */
	const char *kubeconfig;    /* --kubeconfig PATH */
	const char *endpoint_dir;  /* where handoff-cni records endpoints */
	const char *bird_dir;      /* where bird.cfg / bird6.cfg are written; NULL: no BIRD */
	const char *bird_socket;   /* BIRD's control socket (IPv4 daemon) */
	const char *bird6_socket;  /* bird6's */
	const char *http_listen;   /* "127.0.0.1:9099"; "" disables */
	bool no_dataplane;         /* decide and log only (tests of the intake) */
	const char *log_level;     /* --log-level: debug, info, warn, error */
	const char *flags_file;    /* re-read on SIGHUP: the flags that can change */
	unsigned watch_timeout_s;  /* --watch-timeout: watch timeoutSeconds; 0 = client default */
	const char *ipam_socket;   /* --ipam-socket: serve VM addresses to handoff-cni (ipam.h) */
	unsigned ipam_workers;     /* --ipam-workers */
	unsigned ipam_gc_s;        /* --ipam-gc-interval */
	bool ipam_gc_set;          /* given: else 60 s */
};

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
	struct status *status;
	int ipam_fd; /* to the VM address service's process (ipam_run.c); -1: none */
	int ipam_pid;

	struct route_syncer *routes;
	struct capture_set *captures;
	struct loop_timer *fsm_timer;

	bool plan_dirty;        /* endpoints/states changed: re-apply the plan */
	bool bird_dirty;        /* BGP resources changed: re-render BIRD */
	bool synced;            /* initial lists done and the first plan applied */
	unsigned pending_lists; /* watches whose first list has not completed */
	char *last_arp_sig;     /* what ARP suppression was last built from */

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

/* ipam_run.c: the VM address service's flags and start. */
int watcher_ipam_opt(struct watcher_opts *o, int c, const char *arg);
int watcher_ipam_start(struct watcher *w, struct herr *err);
void watcher_ipam_stop(struct watcher *w);
void watcher_ipam_transition(struct watcher *w, const struct decision *d);

/* http.c: /healthz, /readyz, /metrics, /migrations. */
int watcher_http_start(struct watcher *w, struct herr *err);
void watcher_http_stop(struct watcher *w);

/* sync.c */
uint64_t mono_us(void); /* CLOCK_MONOTONIC in microseconds */
void sync_after_iteration(struct loop *l, void *arg);
int sync_bird(struct watcher *w);

#endif
