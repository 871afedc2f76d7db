/* noderanges.c - publishes this node's spec.podCIDRs for handoff-cni
 * (src/core/noderanges.h): host-local cannot read a Node, the watcher already
 * follows it. Written through a temporary file and rename(2), so the CNI reads
 * the old or the new ranges, never a torn file; rewritten only when the text
 * changes. Until the initial list is done nothing is written: a file with no
 * ranges would be a wrong answer, an absent one makes the CNI say "try again
 * later". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/noderanges.h"
#include "util/log.h"
#include "watcher.h"

static int write_atomic(const char *path, const char *text, struct herr *err)
{
	char tmp[4096];
	size_t len = strlen(text);
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
		return herr_set(err, -ENAMETOOLONG, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return herr_set(err, -errno, "%s: %s", tmp, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len)
		r = herr_set(err, -EIO, "%s: short write", tmp);
	if (close(fd) < 0 && r == 0)
		r = herr_set(err, -errno, "%s: %s", tmp, strerror(errno));
	if (r == 0 && rename(tmp, path) < 0)
		r = herr_set(err, -errno, "%s: rename: %s", path, strerror(errno));
	if (r < 0)
		unlink(tmp);
	return r;
}

void node_ranges_sync(struct watcher *w)
{
	const struct bgp_node *n;
	struct node_ranges r;
	struct herr err = {{0}};
	char *text;

	if (!w->opt.node_ranges_file || w->pending_lists)
		return;
	n = bgp_resources_node(&w->bgp, w->opt.node);
	if (node_ranges_set(&r, w->opt.node, n ? n->pod_cidrs : NULL, n ? n->npod_cidrs : 0, &err) <
	    0) {
		hlog(HLOG_WARN, "Node ranges not published", "error=%s", hlog_q(err.msg));
		return;
	}
	if (!(text = node_ranges_encode(&r)))
		return;
	if (w->last_node_ranges && !strcmp(w->last_node_ranges, text)) {
		free(text);
		return;
	}
	if (write_atomic(w->opt.node_ranges_file, text, &err) < 0) {
		hlog(HLOG_ERROR, "Node ranges not published", "error=%s", hlog_q(err.msg));
		free(text);
		return;
	}
	hlog(HLOG_INFO, "Node ranges published for the CNI", "file=%s ranges=%zu node=%s",
	     w->opt.node_ranges_file, r.n, w->opt.node);
	free(w->last_node_ranges);
	w->last_node_ranges = text;
}
