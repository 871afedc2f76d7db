/* ipam_run.c - the VM address service inside `handoff-watcher run`: its
 * flags, its start with the daemon's API credentials, and the FSM's Live
 * transitions handed to it (calico-semantics.md B.4: entering Live, or
 * TimeWait straight from Target after a missed GARP, promotes the target
 * pod to active owner).
 *
 * The service runs in a child process forked at start, before the daemon
 * opens anything else: its worker threads then share no process-wide state
 * with the single-threaded event loop (jansson's allocator, which the loop
 * may switch to an arena; signal masks; libcurl's multi handle). The child
 * dies with the daemon (PR_SET_PDEATHSIG), also on kill -9; promotions reach
 * it as "namespace/pod" lines on a pipe, whose end also tells it to stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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
	case 'g':
		o->ipam_gc_set = true;
		return parse_uint("--ipam-gc-interval", arg, 0, 86400, &o->ipam_gc_s);
	}
	return -1;
}

/* The child: serve until the pipe ends (the daemon stopped or died). */
static void child_main(const struct ipam_server_opts *o, const struct kube_config *cfg, int rfd,
                       pid_t parent)
{
	struct herr err = {{0}};
	struct ipam_server *s;
	sigset_t none;
	char buf[4096];
	size_t n = 0;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN); /* the daemon's SIGHUP is for the daemon */
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	s = ipam_server_start(o, cfg, &err);
	if (!s) {
		hlog(HLOG_ERROR, "VM address service cannot start", "error=%s", hlog_q(err.msg));
		_exit(1);
	}
	for (;;) {
		ssize_t r = read(rfd, buf + n, sizeof(buf) - n - 1);
		char *line, *nl;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			ipam_server_promote(s, line);
		}
		n -= (size_t)(line - buf);
		memmove(buf, line, n);
		if (n == sizeof(buf) - 1)
			n = 0; /* a line longer than any endpoint key: drop it */
	}
	ipam_server_stop(s);
	_exit(0);
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
	pid_t parent = getpid(), pid;
	int p[2], r;

	w->ipam_fd = -1;
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
	if (pipe2(p, O_CLOEXEC) < 0) {
		kube_config_free(&cfg);
		return herr_set(err, -errno, "--ipam-socket: pipe: %s", strerror(errno));
	}
	hlog_flush(); /* a child must not inherit held lines and write them twice */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		child_main(&o, &cfg, p[0], parent);
	}
	r = pid < 0 ? -errno : 0;
	kube_config_free(&cfg);
	close(p[0]);
	if (r < 0) {
		close(p[1]);
		return herr_set(err, r, "--ipam-socket: fork: %s", strerror(-r));
	}
	/* Promotions never block the loop: a full pipe drops one (logged). */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	w->ipam_fd = p[1];
	w->ipam_pid = pid;
	return 0;
}

void watcher_ipam_stop(struct watcher *w)
{
	if (w->ipam_fd < 0)
		return;
	close(w->ipam_fd); /* the child stops serving and exits */
	w->ipam_fd = -1;
	while (waitpid(w->ipam_pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void watcher_ipam_transition(struct watcher *w, const struct decision *d)
{
	char line[600];
	int n;

	if (w->ipam_fd < 0 || d->kind != DEC_TRANSITION || d->from != LM_TARGET ||
	    (d->to != LM_LIVE && d->to != LM_TIMEWAIT))
		return;
	n = snprintf(line, sizeof(line), "%s\n", d->endpoint);
	if (n > 0 && (size_t)n < sizeof(line) && write(w->ipam_fd, line, (size_t)n) != n)
		hlog(HLOG_WARN, "VM address promotion not queued", "endpoint=%s error=%s",
		     d->endpoint, hlog_q(strerror(errno)));
}
