/* record.c - the endpoint record: how the CNI hands a new endpoint to the
 * watcher (watcher/intake.c), and how a later DEL or CHECK finds what its ADD
 * made when the runtime no longer sends the pod's name.
 *
 * One file per container, <endpointDir>/<CNI_CONTAINERID>.json: container IDs
 * are unique and of a restricted alphabet (cni_container_id_check), so two
 * pods can never share a file (a pod-derived "<ns>_<name>" did: a_b/c and
 * a/b_c), and any 253-character pod name fits since the name is in the file,
 * not in its name. The watcher keys records by their metadata, not the file.
 *
 * Written to a fresh hidden temporary name created with O_EXCL (mkostemp), so
 * that nothing planted at a predictable name is ever written through, then
 * renamed (rename replaces a planted link, it does not follow it). Read with
 * O_NOFOLLOW for the same reason.
 *
 * Next to the records, a hidden symlink per host interface,
 * .<host interface>.owner -> <container id>, names the container whose
 * record holds that interface: a new sandbox of a pod finds the previous
 * sandbox's record through it in one readlink, even when that sandbox's veth
 * is already gone, and retires it, so that the watcher never sees two
 * records of one pod. The watcher ignores hidden files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni.h"

/* mkdir -p, for the endpoint folder on a fresh tmpfs /run. */
static int mkdirs(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int record_path(const char *dir, const char *container_id, char *path, size_t len,
                       struct herr *err)
{
	int r = cni_container_id_check(container_id, err);

	if (r < 0)
		return r;
	if ((size_t)snprintf(path, len, "%s/%s.json", dir, container_id) >= len)
		return herr_set(err, -ENAMETOOLONG, "endpointDir %s: path too long", dir);
	return 0;
}

static json_t *record_json(const struct cni_record *rec, const struct cni_ipam_result *ipam,
                           const char *ctr_mac)
{
	json_t *addrs = json_array(), *spec;

	for (int i = 0; i < ipam->nips; i++) {
		char a[80];
		snprintf(a, sizeof(a), "%s/%d", ipam->ips[i].addr,
		         ipam->ips[i].family == 4 ? 32 : 128);
		json_array_append_new(addrs, json_string(a));
	}
	spec = json_pack("{s:s, s:o, s:s, s:s, s:s}", "interface", rec->host_if, "addresses", addrs,
	                 "mac", ctr_mac, "containerID", rec->container_id, "netns", rec->netns);
	if (spec && rec->tap[0])
		json_object_set_new(spec, "tap", json_string(rec->tap));
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "handoff.dev/v1", "kind",
	                 "EndpointRecord", "metadata", "namespace", rec->pod_ns, "name",
	                 rec->pod_name, "spec", spec);
}

int cni_record_write(const char *dir, const struct cni_record *rec,
                     const struct cni_ipam_result *ipam, const char *ctr_mac, struct herr *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	json_t *j;
	int fd, r;

	if ((r = record_path(dir, rec->container_id, path, sizeof(path), err)) < 0)
		return r;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.json.XXXXXX", dir, rec->container_id) >=
	    sizeof(tmp))
		return herr_set(err, -ENAMETOOLONG, "endpointDir %s: path too long", dir);
	if ((r = mkdirs(dir)) < 0)
		return herr_set(err, r, "endpointDir %s: mkdir: %s", dir, strerror(-r));
	if (!(j = record_json(rec, ipam, ctr_mac)))
		return herr_set(err, -ENOMEM, "endpoint record %s: out of memory", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		json_decref(j);
		return herr_set(err, r, "endpoint record %s: create: %s", tmp, strerror(-r));
	}
	r = fchmod(fd, 0644) < 0 ? -errno : 0;
	if (r == 0 &&
	    (json_dumpfd(j, fd, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || write(fd, "\n", 1) != 1))
		r = -EIO;
	json_decref(j);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return herr_set(err, r, "endpoint record %s: write: %s", path, strerror(-r));
	}
	return 0;
}

static void copy_field(const json_t *obj, const char *key, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(obj, key));

	snprintf(dst, len, "%s", v && strlen(v) < len ? v : "");
}

int cni_record_read(const char *dir, const char *container_id, struct cni_record *out,
                    struct herr *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *j, *md, *spec;
	int fd, r;

	memset(out, 0, sizeof(*out));
	if ((r = record_path(dir, container_id, path, sizeof(path), err)) < 0)
		return r;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return r;
		return herr_set(err, r, "endpoint record %s: open: %s", path, strerror(-r));
	}
	j = json_loadfd(fd, 0, &jerr);
	close(fd);
	if (!j)
		return herr_set(err, -EINVAL, "endpoint record %s: line %d: %s", path, jerr.line,
		                jerr.text);
	md = json_object_get(j, "metadata");
	spec = json_object_get(j, "spec");
	snprintf(out->container_id, sizeof(out->container_id), "%s", container_id);
	copy_field(md, "namespace", out->pod_ns, sizeof(out->pod_ns));
	copy_field(md, "name", out->pod_name, sizeof(out->pod_name));
	copy_field(spec, "interface", out->host_if, sizeof(out->host_if));
	copy_field(spec, "netns", out->netns, sizeof(out->netns));
	copy_field(spec, "tap", out->tap, sizeof(out->tap));
	json_decref(j);
	if (!out->host_if[0])
		return herr_set(err, -EINVAL, "endpoint record %s: spec.interface: missing", path);
	return 0;
}

int cni_record_remove(const char *dir, const char *container_id, struct herr *err)
{
	char path[PATH_MAX];
	int r;

	if ((r = record_path(dir, container_id, path, sizeof(path), err)) < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return herr_set(err, -errno, "endpoint record %s: remove: %s", path,
		                strerror(errno));
	return 0;
}

static int owner_path(const char *dir, const char *host_if, char *path, size_t len,
                      struct herr *err)
{
	if (!*host_if || strchr(host_if, '/') ||
	    (size_t)snprintf(path, len, "%s/.%s.owner", dir, host_if) >= len)
		return herr_set(err, -EINVAL, "endpoint owner of \"%s\": bad interface name",
		                host_if);
	return 0;
}

int cni_record_owner(const char *dir, const char *host_if, char *owner, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;

	if (owner_path(dir, host_if, path, sizeof(path), NULL) < 0)
		return -EINVAL;
	n = readlink(path, owner, len - 1);
	if (n < 0)
		return -errno;
	owner[n] = '\0';
	return cni_container_id_check(owner, NULL) < 0 ? -EINVAL : 0;
}

int cni_record_set_owner(const char *dir, const char *host_if, const char *container_id,
                         struct herr *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	int r = owner_path(dir, host_if, path, sizeof(path), err);

	if (r < 0)
		return r;
	/* A fresh name each try: symlink() never follows what is there. */
	for (unsigned i = 0; i < 16; i++) {
		snprintf(tmp, sizeof(tmp), "%s.%d.%u", path, (int)getpid(), i);
		if (symlink(container_id, tmp) == 0)
			break;
		if (errno != EEXIST || i == 15)
			return herr_set(err, -errno, "endpoint owner %s: %s", tmp, strerror(errno));
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return herr_set(err, r, "endpoint owner %s: %s", path, strerror(-r));
	}
	return 0;
}

void cni_record_clear_owner(const char *dir, const char *host_if, const char *container_id)
{
	char path[PATH_MAX], owner[CNI_CONTAINER_ID_MAX + 2];

	if (cni_record_owner(dir, host_if, owner, sizeof(owner)) == 0 &&
	    !strcmp(owner, container_id) && owner_path(dir, host_if, path, sizeof(path), NULL) == 0)
		unlink(path);
}
