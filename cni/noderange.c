/* noderange.c - the node's pod ranges substituted into the IPAM
 * configuration before delegation (noderange.h). The file is written by the
 * watcher through rename(2), so a read sees a whole version of it. */
#include "noderange.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/noderanges.h"

static int read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 1024, n = 0, r;
	char *buf;

	if (!f)
		return -errno;
	if (!(buf = malloc(cap))) {
		fclose(f);
		return -ENOMEM;
	}
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = cap < (1u << 20) ? realloc(buf, cap *= 2) : NULL;
			if (!nb) {
				free(buf);
				fclose(f);
				return -EFBIG;
			}
			buf = nb;
		}
	}
	fclose(f);
	*text = buf;
	*len = n;
	return 0;
}

/* DEL without the file: ranges that parse, from the documentation blocks. */
static void stand_in(struct node_ranges *r)
{
	static char *const doc[] = {"192.0.2.0/24", "2001:db8::/64"};

	node_ranges_set(r, "unknown", doc, 2, NULL);
}

static int load(const char *path, struct node_ranges *r, struct herr *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len);

	if (rc == -ENOENT)
		return herr_set(err, -EAGAIN,
		                "ipam: %s does not exist yet (handoff-watcher writes this node's "
		                "spec.podCIDRs there once it runs); try again later",
		                path);
	if (rc < 0)
		return herr_set(err, rc, "ipam: %s: %s", path, strerror(-rc));
	rc = node_ranges_decode(text, len, r, err);
	free(text);
	if (rc < 0)
		herr_prefix(err, "ipam: %s: ", path);
	return rc;
}

int cni_noderange_apply(const char *command, const char *conf, char **rewritten, struct herr *err)
{
	json_t *root = json_loads(conf, 0, NULL), *ipam = json_object_get(root, "ipam");
	const char *path = json_string_value(json_object_get(ipam, "nodeRangesFile"));
	struct node_ranges r;
	int rc = 0;

	*rewritten = NULL;
	/* Not JSON, or no placeholder: the configuration goes through as it is
	 * (the parser has already explained any error in it). */
	if (!json_is_object(ipam) || !node_ranges_wanted(ipam)) {
		json_decref(root);
		return 0;
	}
	if (!path)
		path = CNI_NODE_RANGES_DEFAULT;
	rc = load(path, &r, err);
	if (rc < 0 && !strcmp(command, "DEL")) {
		stand_in(&r);
		rc = 0;
	}
	if (rc == 0) {
		rc = node_ranges_substitute(ipam, &r, err);
		if (rc == -ENOENT && !strcmp(command, "DEL")) {
			stand_in(&r);
			rc = node_ranges_substitute(ipam, &r, err);
		} else if (rc == -ENOENT) {
			herr_prefix(err, "%s: ", path);
			rc = -EAGAIN;
		}
	}
	if (rc == 0) {
		json_object_del(ipam, "nodeRangesFile");
		if (!(*rewritten = json_dumps(root, JSON_COMPACT)))
			rc = herr_set(err, -ENOMEM, "out of memory");
	}
	json_decref(root);
	return rc;
}
