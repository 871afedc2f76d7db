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
	char pod_ns[254], pod_name[254]; /* the identity, cni_identity() */
	char host_if[HANDOFF_IFNAMSIZ];
	const char *version; /* of the answer: the config's, or the latest */
	char details[512];   /* the error's "details"; "" -> what we were doing */
};

static int fail(const struct ctx *x, int code, const struct herr *err)
{
	char ctxt[1024];

	if (x->details[0])
		snprintf(ctxt, sizeof(ctxt), "%s", x->details);
	else
		snprintf(ctxt, sizeof(ctxt), "%.8s container=%.200s pod=%s/%s interface=%s",
		         x->command ? x->command : "no CNI_COMMAND",
		         x->container_id ? x->container_id : "", x->pod_ns, x->pod_name,
		         x->host_if);
	json_t *e = json_pack("{s:s, s:i, s:s, s:s}", "cniVersion", x->version, "code", code, "msg",
	                      err->msg, "details", ctxt);
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

static int ipam_exec(struct ctx *x, const char *command, char **out, int *code, struct herr *err)
{
	return cni_ipam_exec(x->conf.ipam_type, command, x->stdin_text, out, code, x->details,
	                     sizeof(x->details), err);
}

static void ipam_release(struct ctx *x)
{
	struct herr ignored;
	char det[64];
	int code;

	cni_ipam_exec(x->conf.ipam_type, "DEL", x->stdin_text, NULL, &code, det, sizeof(det),
	              &ignored);
}

/* Container `owner`, an older sandbox of this pod, no longer owns anything:
 * the runtime adds a new sandbox only once the old one is dead. Its record
 * (when it still holds our host interface) and its tap go; its lease stays
 * for its own DEL to release. */
static int retire(struct ctx *x, const char *owner, struct herr *err)
{
	struct cni_record old;
	struct herr ignored;

	if (!owner[0] || !strcmp(owner, x->container_id) ||
	    cni_container_id_check(owner, &ignored) < 0 ||
	    cni_record_read(x->conf.endpoint_dir, owner, &old, &ignored) < 0 ||
	    strcmp(old.host_if, x->host_if))
		return 0;
	hlog(HLOG_WARN, "CNI ADD retires a stale sandbox of the pod",
	     "pod=%s/%s interface=%s container=%s stale=%s", x->pod_ns, x->pod_name, x->host_if,
	     x->container_id, owner);
	if (old.tap[0])
		cni_wire_del_tap(old.netns, old.tap, &ignored);
	return cni_record_remove(x->conf.endpoint_dir, owner, err);
}

/* Before wiring a new sandbox: the host interface of a dead one still there
 * goes, and whatever sandbox the interface or the records name is retired. */
static int take_over(struct ctx *x, bool wired, const char *link_owner, struct herr *err)
{
	char rec_owner[CNI_CONTAINER_ID_MAX + 2];
	int r;

	if (wired) {
		hlog(HLOG_WARN, "CNI ADD replaces a stale sandbox's host interface",
		     "pod=%s/%s interface=%s container=%s stale=%s", x->pod_ns, x->pod_name,
		     x->host_if, x->container_id, link_owner[0] ? link_owner : "(unmarked)");
		if ((r = cni_wire_del(x->host_if, err)) < 0)
			return r;
		if ((r = retire(x, link_owner, err)) < 0)
			return r;
	}
	if (cni_record_owner(x->conf.endpoint_dir, x->host_if, rec_owner, sizeof(rec_owner)) == 0 &&
	    strcmp(rec_owner, link_owner))
		return retire(x, rec_owner, err);
	return 0;
}

static int cmd_add(struct ctx *x)
{
	struct herr err = {{0}}, ignored;
	struct cni_ipam_result ipam = {0};
	struct cni_record rec = {0};
	struct cni_wired w = {0};
	bool tap = x->conf.tap || x->args.tap;
	char owner[256] = "", *out = NULL;
	int code = CNI_ERR_IO, r;
	bool wired;

	r = cni_wire_owner(x->host_if, owner, sizeof(owner), &err);
	wired = r == 0;
	if (wired && !strcmp(owner, x->container_id)) {
		herr_set(&err, -EEXIST, "container %s is already wired (%s); DEL it first",
		         x->container_id, x->host_if);
		return fail(x, CNI_ERR_IO, &err);
	}
	if (r < 0 && r != -ENODEV)
		return fail(x, CNI_ERR_IO, &err);
	/* A KubeVirt VM's pod keeps the VM's addresses (vmaddr.c). */
	int vm = cni_vm_add(&x->conf, &x->args, &ipam, &code, &err);
	if (vm < 0)
		return fail(x, code, &err);
	if (!vm) {
		if (ipam_exec(x, "ADD", &out, &code, &err) < 0) {
			/* Whatever IPAM did before failing, give it back. */
			ipam_release(x);
			return fail(x, code, &err);
		}
		r = cni_ipam_result_parse(out, strlen(out), &ipam, &err);
		free(out);
	} else
		r = 0;
	code = r < 0 ? CNI_ERR_DECODE : CNI_ERR_IO;
	if (r == 0)
		r = take_over(x, wired, owner, &err);
	if (r == 0)
		r = cni_wire_add(&x->conf, x->host_if, x->container_id, x->netns, x->ifname, &ipam,
		                 tap, &w, &err);
	if (r == 0) {
		snprintf(rec.container_id, sizeof(rec.container_id), "%s", x->container_id);
		snprintf(rec.pod_ns, sizeof(rec.pod_ns), "%s", x->pod_ns);
		snprintf(rec.pod_name, sizeof(rec.pod_name), "%s", x->pod_name);
		snprintf(rec.host_if, sizeof(rec.host_if), "%s", x->host_if);
		snprintf(rec.netns, sizeof(rec.netns), "%s", x->netns);
		snprintf(rec.tap, sizeof(rec.tap), "%s", w.tap ? w.tap_name : "");
		r = cni_record_write(x->conf.endpoint_dir, &rec, &ipam, w.ctr_mac, &err);
		if (r == 0 && (r = cni_record_set_owner(x->conf.endpoint_dir, x->host_if,
		                                        x->container_id, &err)) < 0)
			cni_record_remove(x->conf.endpoint_dir, x->container_id, &ignored);
		if (r < 0)
			cni_wire_del(x->host_if, &ignored);
	}
	if (r < 0) {
		/* Nothing of this ADD survives a failure: tap, address. */
		if (tap)
			cni_wire_del_tap(x->netns, CNI_TAP_NAME, &ignored);
		if (vm) {
			int c2;
			cni_vm_del(&x->conf, &x->args, &c2, &ignored);
		} else
			ipam_release(x);
		cni_ipam_result_free(&ipam);
		x->details[0] = '\0';
		return fail(x, code, &err);
	}
	json_t *res = cni_result_build(&x->conf, x->ifname, x->netns, &ipam, &w);
	json_dumpf(res, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(res);
	hlog(HLOG_INFO, "CNI ADD", "pod=%s/%s interface=%s container=%s address=%s", x->pod_ns,
	     x->pod_name, x->host_if, x->container_id, ipam.ips[0].addr);
	cni_ipam_result_free(&ipam);
	return 0;
}

/* Idempotent, and acting only on what belongs to CNI_CONTAINERID: its record
 * says what ADD made (the runtime's CNI_ARGS on DEL may not name the pod); the
 * host side is removed only while this container still owns it (a newer
 * sandbox of the same pod may own it now); IPAM's lease is this container's
 * in any case. Everything absent already counts as removed. */
static int cmd_del(struct ctx *x)
{
	struct herr err = {{0}}, e2 = {{0}};
	struct cni_record rec;
	char owner[256];
	const char *host_if = x->host_if, *tap = NULL, *netns = x->netns;
	int code = CNI_ERR_IO, r;

	r = cni_record_read(x->conf.endpoint_dir, x->container_id, &rec, &e2);
	if (r == 0) {
		host_if = rec.host_if;
		if (rec.tap[0])
			tap = rec.tap;
		if (!netns[0])
			netns = rec.netns;
	} else if (r != -ENOENT) /* unreadable: fall back on the identity, say so */
		hlog(HLOG_WARN, "CNI DEL: endpoint record unreadable", "error=%s", hlog_q(e2.msg));
	if (!tap && (x->conf.tap || x->args.tap))
		tap = CNI_TAP_NAME;
	/* A VM pod lets go of the VM's addresses first (vmaddr.c): a watcher
	 * that cannot be reached fails the DEL, which the kubelet retries. The
	 * record names the pod when CNI_ARGS does not. */
	struct cni_args who = x->args;
	if (r == 0 && !who.pod_name[0]) {
		snprintf(who.pod_ns, sizeof(who.pod_ns), "%s", rec.pod_ns);
		snprintf(who.pod_name, sizeof(who.pod_name), "%s", rec.pod_name);
	}
	if (who.pod_ns[0] && who.pod_name[0] && cni_vm_del(&x->conf, &who, &code, &err) < 0)
		return fail(x, code, &err);
	r = ipam_exec(x, "DEL", NULL, &code, &err);
	if (cni_wire_owner(host_if, owner, sizeof(owner), &e2) == 0 &&
	    !strcmp(owner, x->container_id) && cni_wire_del(host_if, &e2) < 0 && r == 0)
		r = -1, err = e2;
	if (tap && cni_wire_del_tap(netns, tap, &e2) < 0 && r == 0)
		r = -1, err = e2;
	if (cni_record_remove(x->conf.endpoint_dir, x->container_id, &e2) < 0 && r == 0)
		r = -1, err = e2;
	cni_record_clear_owner(x->conf.endpoint_dir, host_if, x->container_id);
	if (r < 0)
		return fail(x, code, &err);
	hlog(HLOG_INFO, "CNI DEL", "container=%s interface=%s", x->container_id, host_if);
	return 0;
}

static int cmd_check(struct ctx *x)
{
	struct herr err = {{0}};
	struct cni_ipam_result prev;
	struct cni_record rec;
	int code = CNI_ERR_IO;
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
	text = json_dumps(x->conf.prev_result, JSON_COMPACT);
	r = text ? cni_ipam_result_parse(text, strlen(text), &prev, &err) : -ENOMEM;
	free(text);
	if (r < 0) {
		herr_prefix(&err, "prevResult: ");
		return fail(x, CNI_ERR_CONFIG, &err);
	}
	r = cni_record_read(x->conf.endpoint_dir, x->container_id, &rec, &err);
	if (r == -ENOENT)
		herr_set(&err, r, "endpoint record of container %s: missing in %s", x->container_id,
		         x->conf.endpoint_dir);
	/* A VM pod's addresses are the watcher's to check, not the plugin's. */
	int vm = r == 0 ? cni_vm_check(&x->conf, &x->args, &prev, &code, &err) : 0;
	if (vm < 0)
		r = vm;
	if (r == 0 && !vm)
		r = ipam_exec(x, "CHECK", NULL, &code, &err);
	if (r == 0)
		r = cni_wire_check(&x->conf, rec.host_if, x->container_id, x->netns, x->ifname,
		                   &prev, rec.tap, &err);
	cni_ipam_result_free(&prev);
	return r < 0 ? fail(x, code, &err) : 0;
}

/* VERSION answers in the cniVersion it was asked in, when it speaks it. */
static int cmd_version(struct ctx *x)
{
	json_t *in = x->stdin_text ? json_loads(x->stdin_text, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(in, "cniVersion"));

	printf("{\"cniVersion\":\"%s\",\"supportedVersions\":"
	       "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n",
	       v && cni_version_supported(v) ? v : CNI_VERSION_LATEST);
	json_decref(in);
	return 0;
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
		/* The about line CNI plugins print when run by hand; install-cni
		 * reads the release from it to never replace a newer copy. */
		fprintf(stderr, "CNI handoff-cni plugin v%s\n", HANDOFF_VERSION);
		herr_set(&err, -EINVAL, "CNI_COMMAND: environment variable required");
		return fail(&x, CNI_ERR_ENV, &err);
	}
	if (!strcmp(x.command, "VERSION")) {
		r = cmd_version(&x);
		free(x.stdin_text);
		return r;
	}
	if (!x.stdin_text) {
		herr_set(&err, -ENOMEM, "stdin: out of memory");
		return fail(&x, CNI_ERR_IO, &err);
	}
	if (cni_conf_parse(x.stdin_text, x.stdin_len, &x.conf, &code, &err) < 0) {
		snprintf(x.details, sizeof(x.details), "%s", x.conf.err_details);
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
	if (missing || cni_container_id_check(x.container_id, &err) < 0 ||
	    cni_args_parse(getenv("CNI_ARGS"), &x.args, &err) < 0)
		r = fail(&x, CNI_ERR_ENV, &err);
	else {
		cni_identity(&x.args, x.container_id, x.pod_ns, x.pod_name);
		endpoint_ifname(x.pod_ns, x.pod_name, x.host_if);
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
