/* bird_socket.c - notice BIRD coming back and push the current configuration.
 *
 * BIRD creates its control socket (unlink, bind) each time it starts. When
 * it was killed, the configuration it restarts from is the file in --bird-dir,
 * which holds the last text BIRD accepted or one written while it was down
 * (bird/reload.h); but a reload cut off by BIRD dying (or timing out) leaves
 * the old text there and the new one nowhere. So when the socket's name is
 * created again in its directory (inotify: no polling), the configuration is
 * re-rendered and reloaded if it differs from the file: BIRD runs what the
 * resources say as soon as it is back, and nothing when it already does. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "util/log.h"
#include "util/loop.h"
#include "watcher.h"

static void on_inotify(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct watcher *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *socks[2] = {w->opt.bird_socket, w->opt.bird6_socket};
	ssize_t n;

	(void)l;
	(void)events;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				w->bird_dirty = true; /* events lost: re-check anyway */
				continue;
			}
			for (int i = 0; i < 2 && ev->len; i++) {
				char copy[PATH_MAX];
				if (!socks[i])
					continue;
				snprintf(copy, sizeof(copy), "%s", socks[i]);
				if (strcmp(ev->name, basename(copy)))
					continue;
				hlog(HLOG_INFO,
				     "BIRD control socket created; pushing the current "
				     "configuration",
				     "socket=%s", socks[i]);
				w->bird_dirty = true;
			}
		}
	}
}

int bird_socket_watch_start(struct watcher *w)
{
	const char *socks[2] = {w->opt.bird_socket, w->opt.bird6_socket};
	int fd;

	if (!w->opt.bird_dir || (!socks[0] && !socks[1]))
		return 0;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		hlog(HLOG_WARN, "BIRD restarts will not be noticed", "error=%s",
		     hlog_q(strerror(errno)));
		return -errno;
	}
	for (int i = 0; i < 2; i++) {
		char copy[PATH_MAX];
		if (!socks[i])
			continue;
		snprintf(copy, sizeof(copy), "%s", socks[i]);
		/* Both sockets in one directory: inotify gives the same watch. */
		if (inotify_add_watch(fd, dirname(copy), IN_CREATE | IN_MOVED_TO) < 0)
			hlog(HLOG_WARN, "BIRD restarts will not be noticed", "socket=%s error=%s",
			     socks[i], hlog_q(strerror(errno)));
	}
	if (loop_add_fd(w->loop, fd, EPOLLIN, on_inotify, w) < 0) {
		close(fd);
		return -EIO;
	}
	w->bird_socket_fd = fd;
	return 0;
}

void bird_socket_watch_stop(struct watcher *w)
{
	if (w->bird_socket_fd > 0)
		close(w->bird_socket_fd);
	w->bird_socket_fd = 0;
}
