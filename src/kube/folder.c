/* folder.c - per-file object lists, merged into one cache on every change. */
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
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/yaml_json.h"

struct file_objs {
	char *name;            /* file name inside the folder */
	struct yaml_docs docs; /* its last good documents */
};

struct folder_store {
	char *dir;
	int ifd;
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

static int load_all(struct folder_store *fs, struct herr *err)
{
	DIR *d = opendir(fs->dir);
	struct dirent *e;

	if (!d)
		return herr_set(err, -errno, "datastore folder %s: %s", fs->dir, strerror(errno));
	while ((e = readdir(d)))
		if (is_data_file(e->d_name))
			file_load(fs, e->d_name);
	closedir(d);
	publish(fs);
	return 0;
}

struct folder_store *folder_store_open(const char *dir, obj_event_cb on_event,
                                       folder_error_cb on_error, void *arg, struct herr *err)
{
	struct folder_store *fs = calloc(1, sizeof(*fs));

	if (!fs) {
		herr_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	fs->dir = strdup(dir);
	fs->cache = obj_cache_new();
	fs->on_event = on_event;
	fs->on_error = on_error;
	fs->arg = arg;
	fs->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!fs->dir || !fs->cache || fs->ifd < 0) {
		herr_set(err, -errno, "datastore folder %s: %s", dir, strerror(errno));
		folder_store_close(fs);
		return NULL;
	}
	/* Writers that replace files atomically (rename) show up as MOVED_TO. */
	if (inotify_add_watch(fs->ifd, dir,
	                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
		herr_set(err, -errno, "datastore folder %s: %s", dir, strerror(errno));
		folder_store_close(fs);
		return NULL;
	}
	if (load_all(fs, err) < 0) {
		folder_store_close(fs);
		return NULL;
	}
	return fs;
}

int folder_store_handle(struct folder_store *fs, struct herr *err)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(fs->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Lost events: re-read everything. */
				while (fs->nfiles)
					file_drop(fs, fs->files[0].name);
				load_all(fs, err);
				continue;
			}
			if (!ev->len || !is_data_file(ev->name))
				continue;
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				file_drop(fs, ev->name);
			else
				file_load(fs, ev->name);
			changed = true;
		}
	}
	if (n < 0 && errno != EAGAIN)
		return herr_set(err, -errno, "datastore folder %s: inotify: %s", fs->dir,
		                strerror(errno));
	if (changed)
		publish(fs);
	return 0;
}

int folder_store_fd(const struct folder_store *fs)
{
	return fs->ifd;
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
	obj_cache_free(fs->cache);
	free(fs->dir);
	free(fs);
}
