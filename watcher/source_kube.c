/* source_kube.c - what the watcher follows on the API server: one list+watch
 * per resource, all on the client's one curl multi handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/digest.h"
#include "kube/client.h"
#include "util/log.h"
#include "util/loop.h"
#include "watcher.h"

struct resource {
	const char *path, *kind, *api_version;
	bool node_scoped; /* field selector spec.nodeName=<node> */
	bool optional;    /* KubeVirt may not be installed */
};

static const struct resource resources[] = {
    {"/apis/projectcalico.org/v3/felixconfigurations", "FelixConfiguration", "projectcalico.org/v3",
     false, false},
    {"/apis/projectcalico.org/v3/bgpconfigurations", "BGPConfiguration", "projectcalico.org/v3",
     false, false},
    {"/apis/projectcalico.org/v3/bgppeers", "BGPPeer", "projectcalico.org/v3", false, false},
    {"/apis/projectcalico.org/v3/bgpfilters", "BGPFilter", "projectcalico.org/v3", false, false},
    {"/apis/projectcalico.org/v3/livemigrations", "LiveMigration", "projectcalico.org/v3", false,
     false},
    {"/api/v1/nodes", "Node", "v1", false, false},
    {"/api/v1/pods", "Pod", "v1", true, false},
    {"/apis/kubevirt.io/v1/virtualmachineinstancemigrations", "VirtualMachineInstanceMigration",
     "kubevirt.io/v1", false, true},
};
#define NRESOURCES (sizeof(resources) / sizeof(resources[0]))

static void on_synced(void *arg, const char *kind)
{
	struct watcher *w = arg;

	/* An optional resource was never counted in pending_lists: its list
	 * (or its 404) must not stand in for one still missing. */
	for (size_t i = 0; i < NRESOURCES; i++)
		if (resources[i].optional && !strcmp(resources[i].kind, kind)) {
			hlog(HLOG_INFO, "Initial list done", "kind=%s optional=true remaining=%u",
			     kind, w->pending_lists);
			return;
		}
	if (w->pending_lists)
		w->pending_lists--;
	hlog(HLOG_INFO, "Initial list done", "kind=%s remaining=%u", kind, w->pending_lists);
}

static void on_notice(void *arg, const char *kind, const char *message)
{
	hlog(HLOG_WARN, "API server", "kind=%s message=%s", kind, hlog_q(message));
}

/* BGP passwords (BGPPeer.spec.password, nodeMeshPassword): the Secrets of
 * the watcher's own namespace, the only ones its Role lets it read. Their
 * values go into the BGP set and bird.cfg (0600), never into a log line. */
static int watch_secrets(struct watcher *w, struct herr *err)
{
	static char path[300];
	struct kube_watch_opts o = {
	    .path = path,
	    .kind = "Secret",
	    .api_version = "v1",
	    .timeout_seconds = w->opt.watch_timeout_s,
	    .digests = true,
	    .sensitive = true,
	};
	struct kube_watch *kw;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets", w->opt.secret_namespace);
	kw = kube_watch_start(w->kube, &o, intake_object, on_synced, on_notice, w, err);
	if (!kw)
		return -1;
	if (w->nwatches < sizeof(w->watches) / sizeof(w->watches[0])) {
		w->watches[w->nwatches] = kw;
		w->watch_kinds[w->nwatches++] = "Secret";
	}
	w->pending_lists++;
	return 0;
}

int watcher_kube_start(struct watcher *w, struct herr *err)
{
	struct kube_config cfg = {0};
	char selector[300];
	int r;

	r = w->opt.kubeconfig ? kube_config_from_kubeconfig(w->opt.kubeconfig, &cfg, err)
	                      : kube_config_in_cluster(NULL, &cfg, err);
	if (r < 0)
		return r;
	w->kube = kube_client_new(w->loop, &cfg, err);
	kube_config_free(&cfg);
	if (!w->kube)
		return -1;
	snprintf(selector, sizeof(selector), "spec.nodeName=%s", w->opt.node);
	if (watch_secrets(w, err) < 0)
		return -1;
	for (size_t i = 0; i < NRESOURCES; i++) {
		const struct resource *res = &resources[i];
		struct kube_watch_opts o = {
		    .path = res->path,
		    .kind = res->kind,
		    .api_version = res->api_version,
		    .field_selector = res->node_scoped ? selector : NULL,
		    .optional = res->optional,
		    .timeout_seconds = w->opt.watch_timeout_s,
		    /* Pods are most of the cache: keep what the endpoint is made of. */
		    .transform = !strcmp(res->kind, "Pod") ? endpoint_pod_trim : NULL,
		    /* intake keeps every kind decoded (engine, pod store, BGP set). */
		    .digests = true,
		    /* A Pod or LiveMigration changes for intake only where what
		     * intake decodes of it does. */
		    .digest = !strcmp(res->kind, "Pod")             ? endpoint_pod_digest
		              : !strcmp(res->kind, "LiveMigration") ? live_migration_digest
		                                                    : NULL,
		};
		struct kube_watch *kw =
		    kube_watch_start(w->kube, &o, intake_object, on_synced, on_notice, w, err);
		if (!kw)
			return -1;
		if (w->nwatches < sizeof(w->watches) / sizeof(w->watches[0])) {
			w->watches[w->nwatches] = kw;
			w->watch_kinds[w->nwatches++] = res->kind;
		}
		/* An optional resource (KubeVirt) does not hold readiness back. */
		if (!res->optional)
			w->pending_lists++;
	}
	return 0;
}

#define UNREADY_AFTER_S 60

/* Whether a watched kind may be missing (KubeVirt's): the Secret watch is
 * not in the table and is required. */
static bool resource_optional(const char *kind)
{
	for (size_t i = 0; i < NRESOURCES; i++)
		if (!strcmp(resources[i].kind, kind))
			return resources[i].optional;
	return false;
}

int watcher_kube_unready(struct watcher *w, char *buf, size_t len)
{
	uint64_t now = loop_now_ms(), limit;

	limit =
	    (uint64_t)(w->opt.unready_after_s ? w->opt.unready_after_s : UNREADY_AFTER_S) * 1000;
	for (size_t i = 0; i < w->nwatches; i++) {
		struct kube_watch_stats st;
		if (resource_optional(w->watch_kinds[i]))
			continue;
		kube_watch_get_stats(w->watches[i], &st);
		if (st.failing_since_ms && now - st.failing_since_ms >= limit) {
			snprintf(buf, len, "%s: failing for %llu s: %s\n", w->watch_kinds[i],
			         (unsigned long long)((now - st.failing_since_ms) / 1000),
			         st.last_error);
			return 1;
		}
	}
	return 0;
}

void watcher_kube_stop(struct watcher *w)
{
	kube_client_free(w->kube);
	w->kube = NULL;
}
