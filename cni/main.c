/* main.c - handoff-cni: CNI_COMMAND dispatch (ADD, DEL, CHECK, VERSION), the
 * result on stdout, errors as CNI error JSON on stdout with a non-zero exit.
 * Logs go to stderr (the runtime's log); stdout carries only the JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "core/model.h"
#include "util/log.h"

struct ctx {
	const char *command, *container_id, *netns, *ifname;
	char *stdin_text;
	size_t stdin_len;
	struct cni_conf conf;
	struct cni_args args;
	char host_if[HANDOFF_IFNAMSIZ];
	const char *version; /* of the answer: the config's, or the latest */
};

static int fail(const struct ctx *x, int code, const struct herr *err)
{
	json_t *e = json_pack("{s:s, s:i, s:s, s:s}", "cniVersion", x->version, "code", code, "msg",
	                      err->msg, "details", x->command ? x->command : "no CNI_COMMAND");
	json_dumpf(e, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(e);
	hlog(HLOG_ERROR, "CNI command failed", "command=%s container=%s code=%d error=%s",
	     x->command ? x->command : "", x->container_id ? x->container_id : "", code,
	     hlog_q(err->msg));
	return 1;
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, r;
	char *buf = malloc(cap);

	while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *env_required(const char *name, int *missing, struct herr *err)
{
	const char *v = getenv(name);
	if ((!v || !*v) && !*missing) {
		*missing = 1;
		herr_set(err, -EINVAL, "%s: environment variable required", name);
	}
	return v;
}

static json_t *result_json(const struct ctx *x, const struct cni_ipam_result *ipam,
                           const struct cni_wired *w)
{
	bool legacy = strcmp(x->version, "1.0.0") != 0; /* 0.3.x/0.4.0 ips carry "version" */
	json_t *ifs = json_array(), *ips = json_array(), *routes = json_array();
	char gw6[64];
	bool v4 = false, v6 = false;

	cni_mac_link_local(x->conf.host_mac, gw6, sizeof(gw6));
	json_array_append_new(ifs, json_pack("{s:s, s:s}", "name", w->host_if, "mac", w->host_mac));
	json_array_append_new(ifs, json_pack("{s:s, s:s, s:s}", "name", x->ifname, "mac",
	                                     w->ctr_mac, "sandbox", x->netns));
	if (w->tap)
		json_array_append_new(ifs,
		                      json_pack("{s:s, s:s}", "name", "tap0", "sandbox", x->netns));
	for (int i = 0; i < ipam->nips; i++) {
		const struct cni_ip *ip = &ipam->ips[i];
		char cidr[80];
		snprintf(cidr, sizeof(cidr), "%s/%d", ip->addr, ip->family == 4 ? 32 : 128);
		json_t *o = json_pack("{s:s, s:s, s:i}", "address", cidr, "gateway",
		                      ip->family == 4 ? "169.254.1.1" : gw6, "interface", 1);
		if (legacy)
			json_object_set_new(o, "version", json_string(ip->family == 4 ? "4" : "6"));
		json_array_append_new(ips, o);
		v4 |= ip->family == 4;
		v6 |= ip->family == 6;
	}
	if (v4)
		json_array_append_new(
		    routes, json_pack("{s:s, s:s}", "dst", "0.0.0.0/0", "gw", "169.254.1.1"));
	if (v6)
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", "::/0", "gw", gw6));
	return json_pack("{s:s, s:o, s:o, s:o, s:O}", "cniVersion", x->version, "interfaces", ifs,
	                 "ips", ips, "routes", routes, "dns",
	                 ipam->dns ? ipam->dns : json_object());
}

static int cmd_add(struct ctx *x)
{
	struct herr err = {{0}}, ignored;
	struct cni_ipam_result ipam;
	struct cni_wired w;
	char *out = NULL;
	int r, code;

	if (!x->args.pod_ns[0] || !x->args.pod_name[0]) {
		herr_set(&err, -EINVAL,
		         "CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME are required (the "
		         "interface name and the endpoint record derive from them)");
		return fail(x, CNI_ERR_ENV, &err);
	}
	/* A KubeVirt VM's pod keeps the VM's addresses (vmaddr.c). */
	int vm = cni_vm_add(&x->conf, &x->args, &ipam, &code, &err);
	if (vm < 0)
		return fail(x, code, &err);
	if (!vm) {
		if (cni_ipam_exec(x->conf.ipam_type, "ADD", x->stdin_text, &out, &err) < 0)
			return fail(x, CNI_ERR_IO, &err);
		r = cni_ipam_result_parse(out, strlen(out), &ipam, &err);
		free(out);
	} else
		r = 0;
	if (r == 0) {
		r = cni_wire_add(&x->conf, x->host_if, x->netns, x->ifname, &ipam,
		                 x->conf.tap || x->args.tap, &w, &err);
		if (r == -EEXIST)
			herr_prefix(&err, "a stale endpoint of pod %s/%s is still wired: ",
			            x->args.pod_ns, x->args.pod_name);
	}
	if (r == 0) {
		r = cni_record_write(x->conf.endpoint_dir, x->args.pod_ns, x->args.pod_name,
		                     x->host_if, &ipam, w.ctr_mac, x->container_id, x->netns, &err);
		if (r < 0) {
			cni_wire_del(x->host_if, &ignored);
			if (w.tap)
				cni_wire_del_tap(x->netns, &ignored);
		}
	}
	if (r < 0) {
		/* Give the address back: nothing of this ADD survives a failure. */
		if (vm)
			cni_vm_del(&x->conf, &x->args, &code, &ignored);
		else
			cni_ipam_exec(x->conf.ipam_type, "DEL", x->stdin_text, NULL, &ignored);
		cni_ipam_result_free(&ipam);
		return fail(x, CNI_ERR_IO, &err);
	}
	json_t *res = result_json(x, &ipam, &w);
	json_dumpf(res, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(res);
	hlog(HLOG_INFO, "CNI ADD", "pod=%s/%s interface=%s container=%s address=%s", x->args.pod_ns,
	     x->args.pod_name, x->host_if, x->container_id, ipam.ips[0].addr);
	cni_ipam_result_free(&ipam);
	return 0;
}

/* Idempotent: everything absent already counts as removed. */
static int cmd_del(struct ctx *x)
{
	struct herr err = {{0}}, e2 = {{0}};
	int code, r;

	/* A VM pod lets go of the VM's addresses first: a watcher that cannot
	 * be reached fails the DEL, which the kubelet retries. */
	if (x->args.pod_ns[0] && x->args.pod_name[0] &&
	    cni_vm_del(&x->conf, &x->args, &code, &err) < 0)
		return fail(x, code, &err);
	r = cni_ipam_exec(x->conf.ipam_type, "DEL", x->stdin_text, NULL, &err);

	if (x->args.pod_ns[0] && x->args.pod_name[0]) {
		if (cni_wire_del(x->host_if, &e2) < 0 && r == 0)
			r = -1, err = e2;
		if ((x->conf.tap || x->args.tap) && cni_wire_del_tap(x->netns, &e2) < 0 && r == 0)
			r = -1, err = e2;
		if (cni_record_remove(x->conf.endpoint_dir, x->args.pod_ns, x->args.pod_name, &e2) <
		        0 &&
		    r == 0)
			r = -1, err = e2;
	}
	if (r < 0)
		return fail(x, CNI_ERR_IO, &err);
	hlog(HLOG_INFO, "CNI DEL", "pod=%s/%s interface=%s container=%s", x->args.pod_ns,
	     x->args.pod_name, x->host_if, x->container_id);
	return 0;
}

static int cmd_check(struct ctx *x)
{
	struct herr err = {{0}};
	struct cni_ipam_result prev;
	char *text;
	int r;

	if (!strncmp(x->version, "0.3.", 4)) {
		herr_set(&err, -ENOTSUP, "cniVersion: CHECK needs 0.4.0 or later");
		return fail(x, CNI_ERR_VERSION, &err);
	}
	if (!x->conf.prev_result) {
		herr_set(&err, -EINVAL, "prevResult: required for CHECK");
		return fail(x, CNI_ERR_CONFIG, &err);
	}
	if (!x->args.pod_ns[0] || !x->args.pod_name[0]) {
		herr_set(&err, -EINVAL,
		         "CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME are required");
		return fail(x, CNI_ERR_ENV, &err);
	}
	text = json_dumps(x->conf.prev_result, JSON_COMPACT);
	r = text ? cni_ipam_result_parse(text, strlen(text), &prev, &err) : -ENOMEM;
	free(text);
	if (r < 0) {
		herr_prefix(&err, "prevResult: ");
		return fail(x, CNI_ERR_CONFIG, &err);
	}
	/* A VM pod's addresses are the watcher's to check, not the plugin's. */
	int code = CNI_ERR_IO, vm = cni_vm_check(&x->conf, &x->args, &prev, &code, &err);
	if (vm < 0) {
		cni_ipam_result_free(&prev);
		return fail(x, code, &err);
	}
	r = vm ? 0 : cni_ipam_exec(x->conf.ipam_type, "CHECK", x->stdin_text, NULL, &err);
	if (r == 0)
		r = cni_wire_check(x->host_if, x->conf.host_mac, x->netns, x->ifname, &prev, &err);
	cni_ipam_result_free(&prev);
	return r < 0 ? fail(x, CNI_ERR_IO, &err) : 0;
}

int main(void)
{
	struct ctx x = {.version = CNI_VERSION_LATEST};
	struct herr err = {{0}};
	int missing = 0, code, r;

	hlog_init();
	x.command = getenv("CNI_COMMAND");
	x.stdin_text = read_all(stdin, &x.stdin_len);
	if (!x.command || !*x.command) {
		herr_set(&err, -EINVAL, "CNI_COMMAND: environment variable required");
		return fail(&x, CNI_ERR_ENV, &err);
	}
	if (!strcmp(x.command, "VERSION")) {
		printf("{\"cniVersion\":\"%s\",\"supportedVersions\":"
		       "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n",
		       CNI_VERSION_LATEST);
		free(x.stdin_text);
		return 0;
	}
	if (!x.stdin_text) {
		herr_set(&err, -ENOMEM, "stdin: out of memory");
		return fail(&x, CNI_ERR_IO, &err);
	}
	if (cni_conf_parse(x.stdin_text, x.stdin_len, &x.conf, &code, &err) < 0) {
		r = fail(&x, code, &err);
		free(x.stdin_text);
		return r;
	}
	x.version = x.conf.cni_version;
	x.container_id = env_required("CNI_CONTAINERID", &missing, &err);
	x.ifname = env_required("CNI_IFNAME", &missing, &err);
	env_required("CNI_PATH", &missing, &err);
	x.netns = getenv("CNI_NETNS");
	if (strcmp(x.command, "DEL"))
		x.netns = env_required("CNI_NETNS", &missing, &err);
	if (!x.netns)
		x.netns = "";
	if (missing || cni_args_parse(getenv("CNI_ARGS"), &x.args, &err) < 0)
		r = fail(&x, CNI_ERR_ENV, &err);
	else {
		if (x.args.pod_ns[0] && x.args.pod_name[0])
			endpoint_ifname(x.args.pod_ns, x.args.pod_name, x.host_if);
		if (!strcmp(x.command, "ADD"))
			r = cmd_add(&x);
		else if (!strcmp(x.command, "DEL"))
			r = cmd_del(&x);
		else if (!strcmp(x.command, "CHECK"))
			r = cmd_check(&x);
		else {
			herr_set(&err, -EINVAL,
			         "CNI_COMMAND: \"%s\" is not ADD, DEL, CHECK or VERSION",
			         x.command);
			r = fail(&x, CNI_ERR_ENV, &err);
		}
	}
	cni_conf_free(&x.conf);
	free(x.stdin_text);
	return r;
}
