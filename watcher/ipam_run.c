/* ipam_run.c - the VM address service inside `handoff-watcher run`: its
 * flags, its start with the daemon's API credentials, and the FSM's Live
 * transitions handed to it (calico-semantics.md B.4: entering Live, or
 * TimeWait straight from Target after a missed GARP, promotes the target
 * pod to active owner). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "kube/client.h"
#include "util/log.h"
#include "watcher.h"

static int parse_uint(const char *flag, const char *arg, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || v < lo || v > hi) {
		fprintf(stderr, "run: %s: expected %u..%u, got \"%s\"\n", flag, lo, hi, arg);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int watcher_ipam_opt(struct watcher_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'I':
		o->ipam_socket = arg;
		return 0;
	case 'W':
		return parse_uint("--ipam-workers", arg, 1, 64, &o->ipam_workers);
	case 'G':
		o->ipam_gc_set = true;
		return parse_uint("--ipam-gc-interval", arg, 0, 86400, &o->ipam_gc_s);
	}
	return -1;
}

int watcher_ipam_start(struct watcher *w, struct herr *err)
{
	struct kube_config cfg = {0};
	struct ipam_server_opts o = {
	    .socket_path = w->opt.ipam_socket,
	    .node = w->opt.node,
	    .workers = w->opt.ipam_workers ? w->opt.ipam_workers : 4,
	    .gc_interval_s = w->opt.ipam_gc_set ? w->opt.ipam_gc_s : 60,
	};
	int r;

	if (!w->opt.ipam_socket)
		return 0;
	if (w->opt.datastore_dir)
		return herr_set(err, -EINVAL,
		                "--ipam-socket: VM addresses live in the Kubernetes API; give "
		                "--kubeconfig (or run in a pod), not --datastore");
	r = w->opt.kubeconfig ? kube_config_from_kubeconfig(w->opt.kubeconfig, &cfg, err)
	                      : kube_config_in_cluster(NULL, &cfg, err);
	if (r < 0)
		return r;
	w->ipam = ipam_server_start(&o, &cfg, err);
	kube_config_free(&cfg);
	return w->ipam ? 0 : -1;
}

void watcher_ipam_transition(struct watcher *w, const struct decision *d)
{
	if (!w->ipam || d->kind != DEC_TRANSITION || d->from != LM_TARGET ||
	    (d->to != LM_LIVE && d->to != LM_TIMEWAIT))
		return;
	ipam_server_promote(w->ipam, d->endpoint);
}
