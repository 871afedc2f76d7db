/* record.c - the endpoint record: how the CNI hands a new endpoint to the
 * watcher (watcher/intake.c merge_record). Written to a temporary name and
 * renamed, so that the watcher's folder reader never sees half a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

int cni_record_write(const char *dir, const char *pod_ns, const char *pod_name, const char *host_if,
                     const struct cni_ipam_result *ipam, const char *ctr_mac,
                     const char *container_id, const char *netns, struct herr *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *addrs = json_array(), *rec;
	int fd, r;

	for (int i = 0; i < ipam->nips; i++) {
		char a[80];
		snprintf(a, sizeof(a), "%s/%d", ipam->ips[i].addr,
		         ipam->ips[i].family == 4 ? 32 : 128);
		json_array_append_new(addrs, json_string(a));
	}
	rec = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:o, s:s, s:s, s:s}}", "apiVersion",
	                "handoff.dev/v1", "kind", "EndpointRecord", "metadata", "namespace", pod_ns,
	                "name", pod_name, "spec", "interface", host_if, "addresses", addrs, "mac",
	                ctr_mac, "containerID", container_id ? container_id : "", "netns",
	                netns ? netns : "");
	if (!rec)
		return herr_set(err, -ENOMEM, "endpoint record %s/%s: out of memory", pod_ns,
		                pod_name);
	if ((r = mkdirs(dir)) < 0) {
		json_decref(rec);
		return herr_set(err, r, "endpointDir %s: mkdir: %s", dir, strerror(-r));
	}
	snprintf(path, sizeof(path), "%s/%s_%s.json", dir, pod_ns, pod_name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		json_decref(rec);
		return herr_set(err, r, "endpoint record %s: open: %s", tmp, strerror(-r));
	}
	r = json_dumpfd(rec, fd, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || write(fd, "\n", 1) != 1
	        ? -EIO
	        : 0;
	json_decref(rec);
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

int cni_record_remove(const char *dir, const char *pod_ns, const char *pod_name, struct herr *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s_%s.json", dir, pod_ns, pod_name);
	if (unlink(path) < 0 && errno != ENOENT)
		return herr_set(err, -errno, "endpoint record %s: remove: %s", path,
		                strerror(errno));
	return 0;
}
