/* client.h - a Kubernetes API client for list+watch, on libcurl multi driven
 * by the watcher's event loop (no thread per watch).
 *
 * Each watch lists (paged with limit/continue), then watches from the list's
 * resourceVersion with allowWatchBookmarks=true and timeoutSeconds, parsing
 * the newline-delimited JSON event stream incrementally across chunk
 * boundaries. BOOKMARK events advance the resourceVersion. HTTP 410 Gone, or
 * an ERROR event with code 410, relists and reconciles through an object
 * cache (objects gone during the gap are reported deleted; unchanged ones
 * produce nothing). Other failures retry with capped exponential backoff and
 * jitter. Malformed lines are reported and skipped; the stream continues. */
#ifndef HANDOFF_KUBE_CLIENT_H
#define HANDOFF_KUBE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "kube/cache.h"
#include "util/err.h"

struct loop;

/* Where the API server is and how to authenticate. Owned strings. */
struct kube_config {
	char *server;     /* "https://10.96.0.1:443" */
	char *ca_file;    /* CA bundle path, or */
	char *ca_data;    /* PEM text (kubeconfig certificate-authority-data, decoded) */
	char *token;      /* bearer token, or */
	char *token_file; /* re-read when it changes (projected service-account tokens rotate) */
	char *cert_file, *key_file; /* client certificate, or */
	char *cert_data, *key_data; /* PEM text */
};

/* From the pod's service account: KUBERNETES_SERVICE_HOST/PORT, the token
 * file and CA in /var/run/secrets/kubernetes.io/serviceaccount (or `sa_dir`). */
int kube_config_in_cluster(const char *sa_dir, struct kube_config *out, struct herr *err);
/* From a kubeconfig file: current-context's cluster (server,
 * certificate-authority(-data)) and user (token, tokenFile, client-certificate(-data),
 * client-key(-data)). */
int kube_config_from_kubeconfig(const char *path, struct kube_config *out, struct herr *err);
void kube_config_free(struct kube_config *c);

struct kube_client;
struct kube_watch;

struct kube_client *kube_client_new(struct loop *loop, const struct kube_config *cfg,
                                    struct herr *err);
/* Stops every watch. Not from inside one of the client's own callbacks. */
void kube_client_free(struct kube_client *c);

struct kube_watch_opts {
	const char *path;        /* "/apis/projectcalico.org/v3/livemigrations", "/api/v1/pods" */
	const char *kind;        /* kind given to list items, which carry none: "LiveMigration" */
	const char *api_version; /* likewise: "projectcalico.org/v3" */
	const char *field_selector; /* e.g. "spec.nodeName=node-1", or NULL */
	const char *label_selector; /* or NULL */
	unsigned page_size;         /* list limit; 0 = 500 */
	/* Bounds of one list (all its pages): beyond them the list is
	 * abandoned with an error and retried from the start after a backoff.
	 * 0 = 10,000 pages, 1,000,000 objects (and 1 GiB of JSON, fixed). */
	unsigned list_max_pages, list_max_objects;
	unsigned timeout_seconds; /* watch timeoutSeconds; 0 = 300 */
	bool
	    optional; /* a 404 (CRD not installed, e.g. KubeVirt) is not an error: retried slowly */
	/* Called on every listed or watched object before it is cached, to drop
	 * what the consumer never reads (e.g. endpoint_pod_trim); NULL: none. */
	void (*transform)(struct json_t *obj);
	/* The watch remembers objects by digest only (obj_cache_new_digests): for
	 * a consumer that keeps its own decoded state, and needs only kind,
	 * namespace and name of a deleted object. */
	bool digests;
	/* With digests: what the digest of an object covers (cache.h
	 * obj_cache_set_digest); NULL: the whole object. It must give the same
	 * value for an object and for its transform. Watch events are then
	 * hashed and passed on as they came, not transformed: their trees live
	 * in the watch's arena for one line of the stream and are never kept. */
	obj_digest_fn digest;
	/* Objects hold credentials (Secrets): no log line quotes their text. */
	bool sensitive;
};

/* After the first complete list of a watch (readiness). An optional resource
 * that is not installed (404) counts as synced with no objects. */
typedef void (*kube_synced_cb)(void *arg, const char *kind);
/* A problem worth logging: a malformed line, a retry, a relist. */
typedef void (*kube_notice_cb)(void *arg, const char *kind, const char *message);

struct kube_watch *kube_watch_start(struct kube_client *c, const struct kube_watch_opts *o,
                                    obj_event_cb on_event, kube_synced_cb on_synced,
                                    kube_notice_cb on_notice, void *arg, struct herr *err);

struct kube_watch_stats {
	uint64_t lists;    /* complete lists (the first and every relist) */
	uint64_t relists;  /* lists after 410 Gone */
	uint64_t restarts; /* watch requests started after the first */
	uint64_t events;   /* watch events applied */
	uint64_t bookmarks;
	uint64_t malformed; /* lines that could not be parsed */
	uint64_t errors;    /* failed requests (retried) */
	uint64_t rejected;  /* objects of another kind/apiVersion, refused */
	/* Monotonic ms of the first failure since the last success (a complete
	 * list, an event or bookmark, a watch that ran its course), 0 when
	 * healthy; and the last failure's description. */
	uint64_t failing_since_ms;
	char last_error[256];
	char resource_version[64];
	bool synced;
};
void kube_watch_get_stats(const struct kube_watch *w, struct kube_watch_stats *out);

/* The incremental parser of a watch stream, exposed for tests and fuzzing:
 * feed bytes as they arrive; each complete line is passed to `line` without
 * its '\n' (nor one '\r' before it), not NUL-terminated; empty lines are
 * skipped. */
struct line_splitter;
typedef void (*line_cb)(void *arg, const char *line, size_t len);
struct line_splitter *line_splitter_new(size_t max_line, line_cb cb, void *arg);
/* Returns 0, or -E2BIG when a line exceeds max_line (it is dropped and
 * reported by a call with line == NULL). */
int line_splitter_feed(struct line_splitter *s, const char *data, size_t len);
void line_splitter_free(struct line_splitter *s);

#endif
