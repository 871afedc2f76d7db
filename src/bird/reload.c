/* reload.c - atomic configuration files and BIRD reconfiguration (reload.h). */
#define _GNU_SOURCE
#include "bird/reload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bird/control.h"

/* "<dir>/<name><suffix>" into out (PATH_MAX bytes); name must be a plain file
 * name so that nothing is written outside dir. */
static int join_path(char *out, const char *dir, const char *name, const char *suffix,
                     struct herr *err)
{
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return herr_set(err, -EINVAL, "bird config: file name \"%s\" must be a plain name",
		                name);
	if (snprintf(out, PATH_MAX, "%s/%s%s", dir, name, suffix) >= PATH_MAX)
		return herr_set(err, -ENAMETOOLONG, "bird config: path %s/%s too long", dir, name);
	return 0;
}

/* 1 when path holds exactly `text`, 0 when it differs or does not exist. */
static int file_holds(const char *path, const char *text, struct herr *err)
{
	size_t len = strlen(text), off = 0;
	char buf[65536];
	struct stat st;
	int fd, same = 1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return herr_set(err, -errno, "bird config %s: open: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || (size_t)st.st_size != len) {
		close(fd);
		return 0;
	}
	while (same) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return herr_set(err, -e, "bird config %s: read: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		if (off + (size_t)n > len || memcmp(buf, text + off, (size_t)n))
			same = 0;
		off += (size_t)n;
	}
	close(fd);
	return same && off == len;
}

static int fsync_dir(const char *dir, struct herr *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return herr_set(err, -errno, "bird config dir %s: open: %s", dir, strerror(errno));
	if (fsync(fd) < 0)
		rc = herr_set(err, -errno, "bird config dir %s: fsync: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/* Write text to a new file "<dir>/.<name>.XXXXXX" (path into tmp, PATH_MAX
 * bytes), flushed to disk before anyone renames it into place. Mode 0600:
 * the text may hold BGP passwords (`password "..."` in a protocol, as the
 * reference renders it; a change of password is then a change of this text,
 * which bird_reload hands to BIRD, and BIRD restarts only that protocol).
 * BIRD runs as root next to the watcher, so it still reads the file. */
static int write_temp(const char *dir, const char *name, const char *text, char *tmp,
                      struct herr *err)
{
	size_t len = strlen(text), off = 0;
	int fd, e;

	if (snprintf(tmp, PATH_MAX, "%s/.%s.XXXXXX", dir, name) >= PATH_MAX)
		return herr_set(err, -ENAMETOOLONG, "bird config: path %s/%s too long", dir, name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return herr_set(err, -errno, "bird config %s: create temporary file: %s", dir,
		                strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return herr_set(err, -e, "bird config %s: write: %s", tmp, strerror(e));
}

static int rename_into(const char *from, const char *to, const char *dir, struct herr *err)
{
	if (rename(from, to) < 0) {
		int e = errno;
		unlink(from);
		return herr_set(err, -e, "bird config: rename %s to %s: %s", from, to, strerror(e));
	}
	return fsync_dir(dir, err);
}

/* Replace every occurrence of `from` in msg by `to`, truncating at the end. */
static void replace_all(char *msg, size_t cap, const char *from, const char *to)
{
	char out[sizeof(((struct herr *)0)->msg)];
	size_t flen = strlen(from), tlen = strlen(to), o = 0;
	const char *p = msg, *hit;

	while ((hit = strstr(p, from)) && o + (size_t)(hit - p) + tlen < sizeof(out)) {
		memcpy(out + o, p, (size_t)(hit - p));
		o += (size_t)(hit - p);
		memcpy(out + o, to, tlen);
		o += tlen;
		p = hit + flen;
	}
	snprintf(out + o, sizeof(out) - o, "%s", p);
	snprintf(msg, cap, "%s", out);
}

int bird_write_if_changed(const char *dir, const char *name, const char *text, struct herr *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int rc = join_path(path, dir, name, "", err);

	if (rc < 0)
		return rc;
	rc = file_holds(path, text, err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = write_temp(dir, name, text, tmp, err);
	if (rc < 0)
		return rc;
	rc = rename_into(tmp, path, dir, err);
	return rc < 0 ? rc : 1;
}

int bird_reload_prepare(const char *dir, const char *name, const char *text, char *tmp,
                        struct herr *err)
{
	char path[PATH_MAX];
	int rc;

	tmp[0] = '\0';
	if ((rc = join_path(path, dir, name, "", err)) < 0)
		return rc;
	rc = file_holds(path, text, err);
	if (rc != 0)
		return rc < 0 ? rc : BIRD_RELOAD_UNCHANGED;
	rc = write_temp(dir, name, text, tmp, err);
	return rc < 0 ? rc : BIRD_RELOAD_PREPARED;
}

int bird_reload_finish(const char *dir, const char *name, const char *tmp, int configure_rc,
                       struct herr *err)
{
	char path[PATH_MAX], rejected[PATH_MAX];
	int rc = configure_rc;

	if (join_path(path, dir, name, "", NULL) < 0 ||
	    join_path(rejected, dir, name, ".rejected", NULL) < 0) {
		unlink(tmp);
		return herr_set(err, -EINVAL, "bird config: bad file name %s", name);
	}
	if (rc == 0 || rc == -ENOENT || rc == -ECONNREFUSED) {
		/* Accepted, or no BIRD to ask: BIRD reads the file when it starts. */
		int applied = rc == 0;

		rc = rename_into(tmp, path, dir, err);
		if (rc < 0)
			return rc;
		unlink(rejected);
		return applied ? BIRD_RELOAD_APPLIED : BIRD_RELOAD_WRITTEN;
	}
	if (rc == -EINVAL) {
		/* BIRD keeps running its previous configuration; so does the file
		 * it restarts from. Keep the rejected text where the message
		 * points. */
		if (rename(tmp, rejected) == 0) {
			if (err)
				replace_all(err->msg, sizeof(err->msg), tmp, rejected);
		} else {
			unlink(tmp);
		}
		return rc;
	}
	unlink(tmp);
	return rc;
}

int bird_reload(const char *dir, const char *name, const char *text, const char *sock_path,
                struct herr *err)
{
	char tmp[PATH_MAX];
	int rc = bird_reload_prepare(dir, name, text, tmp, err);

	if (rc != BIRD_RELOAD_PREPARED)
		return rc;
	rc = sock_path ? bird_control_configure(sock_path, tmp, NULL, err) : -ENOENT;
	return bird_reload_finish(dir, name, tmp, rc, err);
}
