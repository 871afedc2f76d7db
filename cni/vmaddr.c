/* vmaddr.c - a KubeVirt VM pod's addresses come from the node's watcher
 * (watcher/ipam.h), not from the IPAM plugin, so that a migration target
 * gets exactly the VM's addresses on any node (issue 11).
 *
 * Enabled by "vmAddressSocket" in the "ipam" object (the IPAM plugin
 * ignores keys it does not know). Only pods named virt-launcher-* (the
 * prefix KubeVirt gives them) are asked about: ordinary pods never wait on
 * the watcher. The watcher reads the pod's labels and answers {"vm":false}
 * for a pod that is not a VM's: the IPAM plugin then serves it as usual.
 * A watcher that is not running (no socket, nobody accepting) is CNI error
 * 11, try again later: the kubelet retries the sandbox. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cni.h"
#include "core/vmaddr.h"

#define VM_POD_PREFIX "virt-launcher-"

static const char *vm_socket(const struct cni_conf *c, const struct cni_args *a)
{
	const char *s = json_string_value(json_object_get(c->ipam, "vmAddressSocket"));

	if (!s || !*s || strncmp(a->pod_name, VM_POD_PREFIX, strlen(VM_POD_PREFIX)))
		return NULL;
	return s;
}

/* The request and its newline; MSG_NOSIGNAL: a watcher that went away is
 * an error to report (EPIPE), not a SIGPIPE that kills the plugin. */
static int send_all(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off <= len) {
		const char *p = off < len ? text + off : "\n";
		ssize_t w = send(fd, p, off < len ? len - off : 1, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* One request, one answer. */
static int ask(const char *path, json_t *req, json_t **ans, int *code, struct herr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 60};
	char *text = json_dumps(req, JSON_COMPACT), buf[8192];
	size_t n = 0;
	int fd, r = 0;

	*code = CNI_ERR_TRY_LATER;
	if (!text)
		return herr_set(err, -ENOMEM, "vmAddressSocket: out of memory");
	if (strlen(path) >= sizeof(sa.sun_path)) {
		free(text);
		*code = CNI_ERR_CONFIG;
		return herr_set(err, -ENAMETOOLONG, "ipam.vmAddressSocket: \"%s\" is too long",
		                path);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = herr_set(
		    err, -errno,
		    "the node's handoff-watcher does not serve VM addresses at %s yet (%s); "
		    "try again later",
		    path, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (send_all(fd, text) < 0 || shutdown(fd, SHUT_WR) < 0) {
		r = herr_set(err, -errno, "vmAddressSocket %s: %s", path, strerror(errno));
		goto out;
	}
	while (n + 1 < sizeof(buf)) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	if (!(*ans = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL)))
		r = herr_set(err, -EIO,
		             "the node's handoff-watcher gave no answer at %s (it may have "
		             "restarted); try again later",
		             path);
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return r;
}

static int answer_failed(json_t *ans, int *code, struct herr *err)
{
	json_t *c = json_object_get(ans, "code");
	if (!c)
		return 0;
	*code = (int)json_integer_value(c);
	return herr_set(err, -EIO, "VM addresses: %s",
	                json_string_value(json_object_get(ans, "msg")) ?: "failed");
}

/* Ask the watcher COMMAND about this pod: 0 with the answer in *ans (the
 * caller decrefs it), or -errno with *code and err set. */
static int request(const char *path, const char *command, const struct cni_conf *c,
                   const struct cni_args *a, json_t **ans, int *code, struct herr *err)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "command", command, "namespace", a->pod_ns,
	                        "pod", a->pod_name, "network", c->name);
	int r = req ? ask(path, req, ans, code, err) : -ENOMEM;

	json_decref(req);
	if (r == 0 && (r = answer_failed(*ans, code, err)) < 0) {
		json_decref(*ans);
		*ans = NULL;
	}
	return r;
}

int cni_vm_add(const struct cni_conf *c, const struct cni_args *a, struct cni_ipam_result *out,
               int *code, struct herr *err)
{
	const char *path = vm_socket(c, a);
	json_t *ans = NULL, *ip;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (!path)
		return 0;
	r = request(path, "ADD", c, a, &ans, code, err);
	if (r == 0 && !json_is_true(json_object_get(ans, "vm"))) {
		json_decref(ans);
		return 0; /* an ordinary pod after all */
	}
	json_array_foreach(json_object_get(ans, "ips"), i, ip)
	{
		const char *s = json_string_value(ip);
		if (r < 0 || !s || out->nips == CNI_MAX_IPS ||
		    strlen(s) >= sizeof(out->ips[0].addr)) {
			*code = CNI_ERR_DECODE;
			r = herr_set(err, -EINVAL,
			             "VM addresses: malformed answer from the watcher");
			break;
		}
		struct cni_ip *o = &out->ips[out->nips++];
		o->family = strchr(s, ':') ? 6 : 4;
		snprintf(o->addr, sizeof(o->addr), "%s", s);
		o->prefix = o->family == 4 ? 32 : 128;
	}
	if (r == 0 && out->nips == 0) {
		*code = CNI_ERR_IO;
		r = herr_set(err, -EIO, "VM addresses: the watcher gave pod %s/%s none", a->pod_ns,
		             a->pod_name);
	}
	/* No DNS from the watcher; an empty object as host-local gives (the
	 * result takes its own reference). */
	if (r == 0 && !(out->dns = json_object()))
		r = herr_set(err, -ENOMEM, "out of memory");
	json_decref(ans);
	return r < 0 ? r : 1;
}

int cni_vm_del(const struct cni_conf *c, const struct cni_args *a, int *code, struct herr *err)
{
	const char *path = vm_socket(c, a);
	json_t *ans = NULL;
	int r;

	if (!path)
		return 0;
	r = request(path, "DEL", c, a, &ans, code, err);
	if (r == 0)
		r = json_is_true(json_object_get(ans, "vm")) ? 1 : 0;
	json_decref(ans);
	return r;
}

int cni_vm_split_conf(const char *conf, char **rewritten, struct herr *err)
{
	json_t *root = json_loads(conf, 0, NULL), *ipam = json_object_get(root, "ipam");
	int r = 0;

	*rewritten = NULL;
	if (!json_is_string(json_object_get(ipam, "vmAddressSocket"))) {
		json_decref(root);
		return 0; /* no VM addresses on this network: host-local's as written */
	}
	if ((r = vm_ipam_split(ipam, err)) == 0 && !(*rewritten = json_dumps(root, JSON_COMPACT)))
		r = herr_set(err, -ENOMEM, "out of memory");
	json_decref(root);
	return r;
}

int cni_vm_check(const struct cni_conf *c, const struct cni_args *a,
                 const struct cni_ipam_result *prev, int *code, struct herr *err)
{
	const char *path = vm_socket(c, a);
	json_t *ans = NULL, *ips;
	int r;

	if (!path)
		return 0;
	r = request(path, "CHECK", c, a, &ans, code, err);
	if (r == 0 && !json_is_true(json_object_get(ans, "vm"))) {
		json_decref(ans);
		return 0;
	}
	ips = json_object_get(ans, "ips");
	for (int i = 0; r == 0 && i < prev->nips; i++) {
		bool found = false;
		json_t *ip;
		size_t k;
		json_array_foreach(ips, k, ip) found |=
		    !strcmp(json_string_value(ip) ?: "", prev->ips[i].addr);
		if (!found) {
			*code = CNI_ERR_IO;
			r = herr_set(
			    err, -EIO,
			    "prevResult: address %s is not one of VM pod %s/%s's addresses",
			    prev->ips[i].addr, a->pod_ns, a->pod_name);
		}
	}
	json_decref(ans);
	return r < 0 ? r : 1;
}
