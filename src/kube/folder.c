/* folder.c - per-file object lists, merged into one cache on every change.
 *
 * The folder is followed by path, not by inode: the parent is watched for
 * the folder's name, so a folder replaced (`rm -rf; mkdir`) or moved away
 * and back is picked up again. A vanished folder never empties the cache:
 * the objects stay until the folder is back, and its content then decides.
 * Deletions (a file removed or renamed away, the folder lost) are applied
 * by a reconcile pass GRACE_MS after the last of them, from what the folder
 * holds then: a folder emptied and refilled in between changes only what
 * really changed. Kubernetes ConfigMap volumes (files that are symlinks
 * through `..data`, swapped atomically) are re-read when `..data` is
 * replaced. The loop sees one descriptor: an epoll set holding the inotify
 * descriptor and the reconcile timer. */
#define _GNU_SOURCE
#include "kube/folder.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util/yaml_json.h"

struct file_objs {
	char *name;            /* file name inside the folder */
	struct yaml_docs docs; /* its last good documents */
};

#define GRACE_MS 1000

struct folder_store {
	char *dir, *parent, *base; /* base: the folder's name inside parent */
	int ifd, tfd, efd;         /* inotify, reconcile timer, both for the loop */
	int wd_dir, wd_parent;     /* -1 when not watched */
	unsigned grace_ms;
	bool told_missing;
	struct file_objs *files; /* sorted by name */
	size_t nfiles;
	struct obj_cache *cache;
	obj_event_cb on_event;
	folder_error_cb on_error;
	void *arg;
};

static void report(struct folder_store *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(struct folder_store *fs, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg && fs->on_error)
		fs->on_error(fs->arg, msg);
	free(msg);
}

/* No datastore file is anywhere near this; a bigger one is refused rather
 * than read (a file that keeps growing, a sparse giant). */
#define FOLDER_MAX_FILE (16u << 20)

static const char *file_type(mode_t m)
{
	return S_ISFIFO(m)   ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISDIR(m)  ? "a directory"
	                     : "not a regular file";
}

/* Read `path` whole, if it is a regular file (after following symlinks) of
 * at most FOLDER_MAX_FILE bytes. A FIFO would block the loop, a device such
 * as /dev/zero would never end: both are refused before reading, checked
 * again on the open descriptor (which is non-blocking) in case the path
 * changed in between. */
static int read_regular(const char *path, char **out, size_t *len, struct herr *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	*out = NULL;
	*len = 0;
	if (stat(path, &st) < 0)
		return herr_set(err, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return herr_set(err, -EINVAL, "%s: %s, not read", path, file_type(st.st_mode));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return herr_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		close(fd);
		return herr_set(err, -EINVAL, "%s: %s, not read", path,
		                e ? strerror(e) : file_type(st.st_mode));
	}
	if (st.st_size > FOLDER_MAX_FILE) {
		close(fd);
		return herr_set(err, -EFBIG, "%s: %lld bytes, over the %u MiB limit, not read",
		                path, (long long)st.st_size, FOLDER_MAX_FILE >> 20);
	}
	/* One byte more than the limit tells a file that grew meanwhile. */
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return herr_set(err, -ENOMEM, "%s: out of memory", path);
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return herr_set(err, -e, "%s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			free(buf);
			close(fd);
			return herr_set(err, -EAGAIN, "%s: grew while being read; read again later",
			                path);
		}
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

static int is_data_file(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.' || name[n - 1] == '~' || name[0] == '#')
		return 0;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static struct file_objs *file_find(struct folder_store *fs, const char *name, size_t *pos)
{
	size_t i = 0;

	while (i < fs->nfiles && strcmp(fs->files[i].name, name) < 0)
		i++;
	*pos = i;
	return i < fs->nfiles && !strcmp(fs->files[i].name, name) ? &fs->files[i] : NULL;
}

static void file_drop(struct folder_store *fs, const char *name)
{
	size_t i;
	struct file_objs *f = file_find(fs, name, &i);

	if (!f)
		return;
	free(f->name);
	yaml_docs_free(&f->docs);
	memmove(&fs->files[i], &fs->files[i + 1], (fs->nfiles - i - 1) * sizeof(*fs->files));
	fs->nfiles--;
}

/* Parse one file; on success its documents replace the file's previous ones. */
static void file_load(struct folder_store *fs, const char *name)
{
	char path[PATH_MAX];
	struct yaml_docs docs = {0};
	struct herr err = {{0}};
	size_t i;
	struct file_objs *f;

	char *text;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", fs->dir, name);
	if ((rc = read_regular(path, &text, &len, &err)) == 0) {
		rc = yaml_parse(text, len, &docs, &err);
		free(text);
		if (rc < 0)
			herr_prefix(&err, "%s: ", path);
	}
	if (rc < 0) {
		if (rc == -ENOENT) { /* gone meanwhile (or a dangling symlink) */
			file_drop(fs, name);
			return;
		}
		report(fs, "%s (ignored; the file's last good objects stay)", err.msg);
		return;
	}
	/* Every document must be an object with a kind and a name. */
	for (size_t d = 0; d < docs.n; d++) {
		char key[1024];
		if (obj_key(docs.v[d], key, sizeof(key), &err) < 0) {
			report(fs,
			       "%s: document %zu: %s (file ignored; its last good objects stay)",
			       path, d + 1, err.msg);
			yaml_docs_free(&docs);
			return;
		}
	}
	f = file_find(fs, name, &i);
	if (!f) {
		struct file_objs *v = realloc(fs->files, (fs->nfiles + 1) * sizeof(*v));
		char *n = strdup(name);
		if (!v || !n) {
			free(n);
			if (v)
				fs->files = v;
			yaml_docs_free(&docs);
			return;
		}
		fs->files = v;
		memmove(&fs->files[i + 1], &fs->files[i], (fs->nfiles - i) * sizeof(*v));
		fs->nfiles++;
		f = &fs->files[i];
		f->name = n;
		memset(&f->docs, 0, sizeof(f->docs));
	}
	yaml_docs_free(&f->docs);
	f->docs = docs;
}

/* Make the cache the union of every file's objects (later files win). */
static void publish(struct folder_store *fs)
{
	size_t n = 0;
	json_t **all;
	json_t *seen = json_object();
	struct herr err = {{0}};

	for (size_t i = 0; i < fs->nfiles; i++)
		n += fs->files[i].docs.n;
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all || !seen) {
		free(all);
		json_decref(seen);
		return;
	}
	n = 0;
	for (size_t i = 0; i < fs->nfiles; i++)
		for (size_t d = 0; d < fs->files[i].docs.n; d++) {
			json_t *o = fs->files[i].docs.v[d];
			char key[1024];
			obj_key(o, key, sizeof(key), NULL);
			json_t *prev = json_object_get(seen, key);
			if (prev) {
				report(fs, "%s is defined again in %s; the later file wins", key,
				       fs->files[i].name);
				all[json_integer_value(prev)] = o;
				continue;
			}
			json_object_set_new(seen, key, json_integer((json_int_t)n));
			all[n++] = o;
		}
	obj_cache_replace(fs->cache, "", all, n, fs->on_event, fs->arg, &err);
	free(all);
	json_decref(seen);
}

/* Read every data file present (`drop_missing`: and forget the files that
 * are not), then publish. */
static int scan(struct folder_store *fs, bool drop_missing, struct herr *err)
{
	DIR *d = opendir(fs->dir);
	struct dirent *e;
	json_t *present = json_object();

	if (!d || !present) {
		int rc = herr_set(err, d ? -ENOMEM : -errno, "datastore folder %s: %s", fs->dir,
		                  d ? "out of memory" : strerror(errno));
		if (d)
			closedir(d);
		json_decref(present);
		return rc;
	}
	while ((e = readdir(d)))
		if (is_data_file(e->d_name)) {
			json_object_set_new(present, e->d_name, json_true());
			file_load(fs, e->d_name);
		}
	closedir(d);
	if (drop_missing)
		for (size_t i = fs->nfiles; i-- > 0;)
			if (!json_object_get(present, fs->files[i].name))
				file_drop(fs, fs->files[i].name);
	json_decref(present);
	publish(fs);
	return 0;
}

static void arm(struct folder_store *fs, unsigned ms)
{
	struct itimerspec it = {
	    .it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 + 1}};
	timerfd_settime(fs->tfd, 0, &it, NULL);
}

#define DIR_EVENTS                                                                                 \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF |   \
	 IN_MOVE_SELF | IN_ONLYDIR)

/* Watch the folder at its path now (a new one after `rm -rf; mkdir`). */
static int watch_dir(struct folder_store *fs, struct herr *err)
{
	int wd = inotify_add_watch(fs->ifd, fs->dir, DIR_EVENTS);

	if (wd < 0)
		return herr_set(err, -errno, "datastore folder %s: %s", fs->dir, strerror(errno));
	fs->wd_dir = wd;
	return 0;
}

/* The deferred pass: make the files exactly what the folder holds, if it is
 * there; if it is not, keep everything and wait for it to return. */
static void reconcile(struct folder_store *fs)
{
	struct herr err = {{0}};
	struct stat st;

	if (stat(fs->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (!fs->told_missing)
			report(fs,
			       "datastore folder %s is missing; its %zu objects stay until it "
			       "returns",
			       fs->dir, obj_cache_count(fs->cache));
		fs->told_missing = true;
		return;
	}
	if (watch_dir(fs, &err) < 0) { /* the same wd again when still watched */
		report(fs, "%s; trying again", err.msg);
		arm(fs, fs->grace_ms);
		return;
	}
	if (fs->told_missing)
		report(fs, "datastore folder %s is back", fs->dir);
	fs->told_missing = false;
	if (scan(fs, true, &err) < 0) {
		report(fs, "%s; trying again", err.msg);
		arm(fs, fs->grace_ms);
	}
}

struct folder_store *folder_store_open(const char *dir, obj_event_cb on_event,
                                       folder_error_cb on_error, void *arg, struct herr *err)
{
	struct folder_store *fs = calloc(1, sizeof(*fs));
	char *a = NULL, *b = NULL;

	if (!fs) {
		herr_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	fs->ifd = fs->tfd = fs->efd = fs->wd_dir = fs->wd_parent = -1;
	fs->grace_ms = GRACE_MS;
	fs->dir = strdup(dir);
	a = strdup(dir);
	b = strdup(dir);
	if (a && b) {
		fs->parent = strdup(dirname(a));
		fs->base = strdup(basename(b));
	}
	free(a);
	free(b);
	fs->cache = obj_cache_new();
	fs->on_event = on_event;
	fs->on_error = on_error;
	fs->arg = arg;
	fs->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	fs->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	fs->efd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ei = {.events = EPOLLIN, .data.fd = 0},
	                   et = {.events = EPOLLIN, .data.fd = 1};
	if (!fs->dir || !fs->parent || !fs->base || !fs->cache || fs->ifd < 0 || fs->tfd < 0 ||
	    fs->efd < 0 || epoll_ctl(fs->efd, EPOLL_CTL_ADD, fs->ifd, &ei) < 0 ||
	    epoll_ctl(fs->efd, EPOLL_CTL_ADD, fs->tfd, &et) < 0) {
		herr_set(err, errno ? -errno : -ENOMEM, "datastore folder %s: %s", dir,
		         strerror(errno ? errno : ENOMEM));
		folder_store_close(fs);
		return NULL;
	}
	/* Writers that replace files atomically (rename) show up as MOVED_TO. */
	if (watch_dir(fs, err) < 0 || scan(fs, false, err) < 0) {
		folder_store_close(fs);
		return NULL;
	}
	/* The parent tells when the folder is replaced; without it (no
	 * permission) a lost folder is still noticed, only not its return. */
	fs->wd_parent = inotify_add_watch(
	    fs->ifd, fs->parent, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
	return fs;
}

void folder_store_set_grace(struct folder_store *fs, unsigned ms)
{
	fs->grace_ms = ms;
}

/* One event of the parent: only the folder's own name matters. */
static void parent_event(struct folder_store *fs, const struct inotify_event *ev)
{
	struct herr err = {{0}};

	if (!ev->len || strcmp(ev->name, fs->base))
		return;
	if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
		/* Watch the new folder at once (files written into it next are
		 * seen), read what it holds, and drop what it lacks later. */
		if (watch_dir(fs, &err) == 0 && scan(fs, false, &err) == 0 && fs->told_missing) {
			report(fs, "datastore folder %s is back", fs->dir);
			fs->told_missing = false;
		}
	}
	arm(fs, fs->grace_ms);
}

/* One event of the folder; returns whether a file was (re)read. */
static bool dir_event(struct folder_store *fs, const struct inotify_event *ev)
{
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		/* The folder went (or moved away): stop following that inode; the
		 * reconcile finds the folder at its path again, or waits. */
		if (ev->mask & IN_MOVE_SELF)
			inotify_rm_watch(fs->ifd, fs->wd_dir);
		fs->wd_dir = -1;
		arm(fs, fs->grace_ms);
		return false;
	}
	if (!ev->len)
		return false;
	if (!strcmp(ev->name, "..data")) {
		/* A ConfigMap volume's atomic update: every file changed at once. */
		if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			arm(fs, 0);
		return false;
	}
	if (!is_data_file(ev->name))
		return false;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		arm(fs, fs->grace_ms);
		return false;
	}
	if (ev->mask & IN_CREATE) {
		/* Only a symlink is complete when created; a file is read when
		 * it is closed after writing. */
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", fs->dir, ev->name);
		if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
			return false;
	}
	file_load(fs, ev->name);
	return true;
}

int folder_store_handle(struct folder_store *fs, struct herr *err)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	uint64_t expirations;
	ssize_t n;

	while ((n = read(fs->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW)
				arm(fs, 0); /* lost events: read everything again */
			else if (ev->wd == fs->wd_parent)
				parent_event(fs, ev);
			else if (ev->wd == fs->wd_dir && fs->wd_dir >= 0)
				changed |= dir_event(fs, ev);
			/* else: a watch already given up */
		}
	}
	if (n < 0 && errno != EAGAIN)
		return herr_set(err, -errno, "datastore folder %s: inotify: %s", fs->dir,
		                strerror(errno));
	if (changed)
		publish(fs);
	if (read(fs->tfd, &expirations, sizeof(expirations)) == sizeof(expirations))
		reconcile(fs);
	return 0;
}

int folder_store_fd(const struct folder_store *fs)
{
	return fs->efd;
}

const struct obj_cache *folder_store_cache(const struct folder_store *fs)
{
	return fs->cache;
}

void folder_store_close(struct folder_store *fs)
{
	if (!fs)
		return;
	while (fs->nfiles)
		file_drop(fs, fs->files[0].name);
	free(fs->files);
	if (fs->ifd >= 0)
		close(fs->ifd);
	if (fs->tfd >= 0)
		close(fs->tfd);
	if (fs->efd >= 0)
		close(fs->efd);
	free(fs->parent);
	free(fs->base);
	obj_cache_free(fs->cache);
	free(fs->dir);
	free(fs);
}
