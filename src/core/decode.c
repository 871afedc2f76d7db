/* decode.c - jansson trees -> typed resources (model.h).
 *
 * Every error names the object ("LiveMigration default/lm1") and the field
 * path ("spec.target.selector"), then the rule. Decisions:
 * - apiVersion and kind are checked when present and may be absent: the
 *   API server omits them on the items of a list of built-in types, and the
 *   caller already knows what it listed;
 * - a JSON null is the same as an absent field (Kubernetes semantics);
 * - a namespaced object without metadata.namespace is in "default", as
 *   kubectl would place it;
 * - LiveMigration is strict inside `spec` (a misspelt field is an error, not
 *   a silently ignored selector); FelixConfiguration ignores the many Felix
 *   fields that are not ours; a Pod is read leniently (it is not ours). */
#define _GNU_SOURCE /* asprintf */
#include "core/model.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/decode_internal.h"
#include "core/selector.h"

#define CALICO_API_VERSION "projectcalico.org/v3"
#define MAC_ANNOTATION     "handoff.dev/mac"

static int bad(const struct dctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "<object>: <path>: <rule>" */
static int bad(const struct dctx *c, const char *path, const char *fmt, ...)
{
	char rule[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	return herr_set(c->err, -EINVAL, "%s: %s: %s", c->obj, path, rule);
}

static int nomem(const struct dctx *c)
{
	return herr_set(c->err, -ENOMEM, "%s: out of memory", c->obj);
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Member `key` of `obj`, NULL when absent or null. */
static json_t *member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

/* Optional string member: *out is NULL when absent. */
static int opt_string(const struct dctx *c, const json_t *obj, const char *key, const char *path,
                      const char **out)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return bad(c, path, "must be a string, not %s", json_kind(v));
	*out = json_string_value(v);
	return 0;
}

/* Optional object member: *out is NULL when absent. */
static int opt_object(const struct dctx *c, const json_t *obj, const char *key, const char *path,
                      json_t **out)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return bad(c, path, "must be an object, not %s", json_kind(v));
	*out = v;
	return 0;
}

/* Reject members of `obj` not listed in `known` (NULL-terminated). */
static int only_known_fields(const struct dctx *c, const json_t *obj, const char *path,
                             const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		const char *const *k;
		for (k = known; *k; k++)
			if (!strcmp(*k, key))
				break;
		if (!*k) {
			char full[300];
			snprintf(full, sizeof(full), "%s.%s", path, key);
			return bad(c, full, "unknown field");
		}
	}
	return 0;
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

/* ---- envelope: object identity, apiVersion, kind, metadata --------------- */

/* Check that `obj` is an object of `kind`, with one of `api_versions` when it
 * says, and read its metadata. Fills c->obj for every later message. */
static int decode_envelope(struct dctx *c, const json_t *obj, const char *kind,
                           const char *const *api_versions, bool namespaced, struct meta *m)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *s;
	int r;

	/* Name the object as well as we can before anything is validated. */
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	if (namespaced && (!ns || !*ns))
		ns = "default";
	if (name && *name && namespaced)
		snprintf(c->obj, sizeof(c->obj), "%s %s/%s", kind, ns, name);
	else if (name && *name)
		snprintf(c->obj, sizeof(c->obj), "%s %s", kind, name);
	else
		snprintf(c->obj, sizeof(c->obj), "%s", kind);

	if (!json_is_object(obj))
		return herr_set(c->err, -EINVAL, "%s: must be a JSON object, not %s", kind,
		                obj ? json_kind(obj) : "nothing");
	if ((r = opt_string(c, obj, "kind", "kind", &s)) < 0)
		return r;
	if (s && strcmp(s, kind))
		return bad(c, "kind", "\"%s\" is not %s", s, kind);
	if ((r = opt_string(c, obj, "apiVersion", "apiVersion", &s)) < 0)
		return r;
	if (s) {
		const char *const *v;
		for (v = api_versions; *v; v++)
			if (!strcmp(*v, s))
				break;
		if (!*v)
			return bad(c, "apiVersion", "\"%s\" is not %s%s%s", s, api_versions[0],
			           api_versions[1] ? " or " : "",
			           api_versions[1] ? api_versions[1] : "");
	}

	if (!md || json_is_null(md))
		return bad(c, "metadata.name", "required");
	if (!json_is_object(md))
		return bad(c, "metadata", "must be an object, not %s", json_kind(md));
	if ((r = opt_string(c, md, "name", "metadata.name", &m->name)) < 0)
		return r;
	if (!m->name || !*m->name)
		return bad(c, "metadata.name", "required");
	if ((r = opt_string(c, md, "namespace", "metadata.namespace", &m->ns)) < 0)
		return r;
	if (!namespaced)
		m->ns = "";
	else if (!m->ns || !*m->ns)
		m->ns = "default";
	if ((r = opt_string(c, md, "uid", "metadata.uid", &m->uid)) < 0)
		return r;
	if (!m->uid)
		m->uid = "";
	return 0;
}

/* ---- LiveMigration -------------------------------------------------------- */

void live_migration_free(struct live_migration *lm)
{
	free(lm->ns);
	free(lm->name);
	free(lm->uid);
	wep_ident_free(&lm->source);
	free(lm->target_selector);
	selector_free(lm->target_parsed);
	wep_ident_free(&lm->target);
	memset(lm, 0, sizeof(*lm));
}

static bool wep_ident_empty(const struct wep_ident *id)
{
	return !*id->hostname && !*id->orchestrator && !*id->workload && !*id->endpoint;
}

const char *const workload_ident_fields[] = {"hostname", "orchestratorID", "workloadID", NULL};
const char *const wep_ident_fields[] = {"hostname", "orchestratorID", "workloadID", "endpointID",
                                        NULL};
/* A DNS name, "k8s"/"openstack", "<namespace>/<name>", an interface id:
 * bounds well above real values, so a runaway object is refused by name. */
const unsigned wep_ident_max_len[4] = {253, 64, 512, 256};

/* A WorkloadIdentifier (with_endpoint false) or WorkloadEndpointIdentifier at
 * `path`. Sets *present when the identifier names something: an identifier
 * with every field empty is tolerated and tracks nothing (A.5). */
static int decode_ident(const struct dctx *c, const json_t *obj, const char *path,
                        bool with_endpoint, struct wep_ident *id, bool *present)
{
	const char *const *names = wep_ident_fields;
	const char *v[4] = {NULL, NULL, NULL, NULL};
	char p[128];
	int r;

	if ((r = only_known_fields(c, obj, path,
	                           with_endpoint ? wep_ident_fields : workload_ident_fields)) < 0)
		return r;
	for (int i = 0; i < (with_endpoint ? 4 : 3); i++) {
		snprintf(p, sizeof(p), "%s.%s", path, names[i]);
		if ((r = opt_string(c, obj, names[i], p, &v[i])) < 0)
			return r;
		if (v[i] && strlen(v[i]) > wep_ident_max_len[i])
			return bad(c, p, "longer than %u characters", wep_ident_max_len[i]);
	}
	if (wep_ident_set(id, v[0], v[1], v[2], v[3]) < 0)
		return nomem(c);
	*present = !wep_ident_empty(id);
	return 0;
}

const char *const live_migration_source_fields[] = {"workload", "workloadEndpoint", NULL};
const char *const live_migration_target_fields[] = {"selector", "workloadEndpoint", NULL};
const char *const live_migration_spec_fields[] = {"source", "target", NULL};

static int decode_lm_source(const struct dctx *c, const json_t *src, struct live_migration *lm)
{
	const char *const *fields = live_migration_source_fields;
	json_t *wl, *wep;
	int r;

	if ((r = only_known_fields(c, src, "spec.source", fields)) < 0)
		return r;
	if ((r = opt_object(c, src, "workload", "spec.source.workload", &wl)) < 0 ||
	    (r = opt_object(c, src, "workloadEndpoint", "spec.source.workloadEndpoint", &wep)) < 0)
		return r;
	/* Both set breaks the API's "exactly one" marker, but Calico tolerates it
	 * and prefers the workload (A.5); validate both all the same. */
	if (wep) {
		if ((r = decode_ident(c, wep, "spec.source.workloadEndpoint", true, &lm->source,
		                      &lm->has_source)) < 0)
			return r;
	}
	if (wl) {
		if ((r = decode_ident(c, wl, "spec.source.workload", false, &lm->source,
		                      &lm->has_source)) < 0)
			return r;
	}
	return 0;
}

static int decode_lm_target(const struct dctx *c, const json_t *tgt, struct live_migration *lm)
{
	const char *const *fields = live_migration_target_fields;
	const char *sel;
	json_t *wep;
	int r;

	if ((r = only_known_fields(c, tgt, "spec.target", fields)) < 0)
		return r;
	if ((r = opt_string(c, tgt, "selector", "spec.target.selector", &sel)) < 0 ||
	    (r = opt_object(c, tgt, "workloadEndpoint", "spec.target.workloadEndpoint", &wep)) < 0)
		return r;
	/* An empty selector selects nothing here (the LMC tracks no selector). */
	if (sel && !*sel)
		sel = NULL;
	if (sel && strlen(sel) > LM_SELECTOR_MAX_LEN)
		return bad(c, "spec.target.selector", "longer than %u characters",
		           LM_SELECTOR_MAX_LEN);
	if (sel && wep)
		return bad(c, "spec.target",
		           "selector and workloadEndpoint are both set; set exactly one");
	if (sel) {
		struct selector *s = NULL;
		struct herr serr = {{0}};
		if ((r = selector_parse(sel, &s, &serr)) < 0)
			return bad(c, "spec.target.selector", "%s", serr.msg);
		lm->target_parsed = s; /* kept for the roles (model.h) */
		if (!(lm->target_selector = strdup(sel)))
			return nomem(c);
	}
	if (wep)
		return decode_ident(c, wep, "spec.target.workloadEndpoint", true, &lm->target,
		                    &lm->has_target);
	return 0;
}

/* Every identity string is non-NULL after decoding (model.h), also when the
 * object has no source or target. */
static int lm_init(const struct dctx *c, struct live_migration *lm, const struct meta *m)
{
	lm->ns = xstrdup(m->ns);
	lm->name = xstrdup(m->name);
	lm->uid = xstrdup(m->uid);
	if (!lm->ns || !lm->name || !lm->uid ||
	    wep_ident_set(&lm->source, NULL, NULL, NULL, NULL) < 0 ||
	    wep_ident_set(&lm->target, NULL, NULL, NULL, NULL) < 0)
		return nomem(c);
	return 0;
}

int live_migration_decode(const struct json_t *obj, struct live_migration *out, struct herr *err)
{
	static const char *const api[] = {CALICO_API_VERSION, NULL};
	const char *const *spec_fields = live_migration_spec_fields;
	struct dctx c = {.err = err};
	struct meta m;
	json_t *spec, *src = NULL, *tgt = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_envelope(&c, obj, "LiveMigration", api, true, &m)) < 0)
		return r;
	if ((r = lm_init(&c, out, &m)) < 0)
		goto fail;
	if ((r = opt_object(&c, obj, "spec", "spec", &spec)) < 0)
		goto fail;
	if (spec && ((r = only_known_fields(&c, spec, "spec", spec_fields)) < 0 ||
	             (r = opt_object(&c, spec, "source", "spec.source", &src)) < 0 ||
	             (r = opt_object(&c, spec, "target", "spec.target", &tgt)) < 0))
		goto fail;
	if (src && (r = decode_lm_source(&c, src, out)) < 0)
		goto fail;
	if (tgt && (r = decode_lm_target(&c, tgt, out)) < 0)
		goto fail;
	return 0;
fail:
	live_migration_free(out);
	return r;
}

/* ---- KubeVirt VirtualMachineInstanceMigration (A.3) ---------------------- */

/* The phases from which Calico emits a LiveMigration. Failed is kept so the
 * target stays suppressed until its pod goes away. */
static bool vmim_phase_emits(const char *phase)
{
	static const char *const phases[] = {"Scheduling",  "Scheduled", "PreparingTarget",
	                                     "TargetReady", "Running",   "Failed"};

	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(phase, phases[i]))
			return true;
	return false;
}

/* Values are single-quoted in the selector: a quote or backslash in them
 * would change its meaning (neither is valid in a Kubernetes name or uid). */
static int selector_safe(const struct dctx *c, const char *path, const char *v)
{
	if (strpbrk(v, "'\"\\"))
		return bad(c, path, "\"%s\" contains a quote or backslash", v);
	return 0;
}

int vmim_to_live_migration(const struct json_t *vmim, struct live_migration *out, struct herr *err)
{
	static const char *const api[] = {"kubevirt.io/v1", "kubevirt.io/v1alpha3", NULL};
	struct dctx c = {.err = err};
	struct meta m;
	json_t *spec, *status, *ms = NULL;
	const char *vmi = NULL, *phase = NULL, *source_pod = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_envelope(&c, vmim, "VirtualMachineInstanceMigration", api, true, &m)) < 0)
		return r;
	if ((r = opt_object(&c, vmim, "spec", "spec", &spec)) < 0 ||
	    (r = opt_object(&c, vmim, "status", "status", &status)) < 0)
		return r;
	if (spec && (r = opt_string(&c, spec, "vmiName", "spec.vmiName", &vmi)) < 0)
		return r;
	if (status &&
	    ((r = opt_string(&c, status, "phase", "status.phase", &phase)) < 0 ||
	     (r = opt_object(&c, status, "migrationState", "status.migrationState", &ms)) < 0))
		return r;
	if (ms && (r = opt_string(&c, ms, "sourcePod", "status.migrationState.sourcePod",
	                          &source_pod)) < 0)
		return r;
	if (!phase || !vmim_phase_emits(phase) || !vmi || !*vmi || !*m.uid)
		return 0;
	if ((r = selector_safe(&c, "spec.vmiName", vmi)) < 0 ||
	    (r = selector_safe(&c, "metadata.uid", m.uid)) < 0)
		return r;

	if ((r = lm_init(&c, out, &m)) < 0)
		goto fail;
	if (asprintf(&out->target_selector,
	             "(vmi.kubevirt.io/id == '%s' || vm.kubevirt.io/name == '%s') && "
	             "kubevirt.io/migrationJobUID == '%s'",
	             vmi, vmi, m.uid) < 0) {
		out->target_selector = NULL;
		r = nomem(&c);
		goto fail;
	}
	if (source_pod && *source_pod) {
		char *wl;
		if (asprintf(&wl, "%s/%s", m.ns, source_pod) < 0) {
			r = nomem(&c);
			goto fail;
		}
		r = wep_ident_set(&out->source, "", "k8s", wl, "");
		free(wl);
		if (r < 0) {
			r = nomem(&c);
			goto fail;
		}
		out->has_source = true;
	}
	return 1;
fail:
	live_migration_free(out);
	return r;
}

/* ---- FelixConfiguration --------------------------------------------------- */

void felix_config_free(struct felix_config *fc)
{
	free(fc->name);
	memset(fc, 0, sizeof(*fc));
}

static int decode_priority(const struct dctx *c, const json_t *spec, const char *key, unsigned bit,
                           uint32_t *out, unsigned *set)
{
	json_t *v = member(spec, key);
	char path[96];

	if (!v)
		return 0;
	snprintf(path, sizeof(path), "spec.%s", key);
	if (json_is_real(v))
		return bad(c, path, "%g is not an integer", json_real_value(v));
	if (!json_is_integer(v))
		return bad(c, path, "must be an integer, not %s", json_kind(v));
	json_int_t n = json_integer_value(v);
	if (n < (json_int_t)ROUTE_PRIORITY_MIN || n > (json_int_t)ROUTE_PRIORITY_MAX)
		return bad(c, path, "%" JSON_INTEGER_FORMAT " is out of range %u..%u", n,
		           ROUTE_PRIORITY_MIN, ROUTE_PRIORITY_MAX);
	*out = (uint32_t)n;
	*set |= bit;
	return 0;
}

/* The route priorities, in the order of felix_config_fields. */
static const struct {
	unsigned bit;
	size_t off;
} felix_priorities[] = {
    {FC_IPV4_NORMAL, offsetof(struct felix_config, ipv4_normal)},
    {FC_IPV4_ELEVATED, offsetof(struct felix_config, ipv4_elevated)},
    {FC_IPV6_NORMAL, offsetof(struct felix_config, ipv6_normal)},
    {FC_IPV6_ELEVATED, offsetof(struct felix_config, ipv6_elevated)},
};
const char *const felix_config_fields[] = {
    "ipv4NormalRoutePriority",   "ipv4ElevatedRoutePriority",         "ipv6NormalRoutePriority",
    "ipv6ElevatedRoutePriority", "liveMigrationRouteConvergenceTime", NULL};

int felix_config_decode(const struct json_t *obj, struct felix_config *out, struct herr *err)
{
	static const char *const api[] = {CALICO_API_VERSION, NULL};
	struct dctx c = {.err = err};
	struct meta m;
	json_t *spec, *conv;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_envelope(&c, obj, "FelixConfiguration", api, false, &m)) < 0)
		return r;
	if ((r = opt_object(&c, obj, "spec", "spec", &spec)) < 0)
		return r;
	for (size_t i = 0; spec && i < sizeof(felix_priorities) / sizeof(felix_priorities[0]); i++)
		if ((r = decode_priority(&c, spec, felix_config_fields[i], felix_priorities[i].bit,
		                         (uint32_t *)((char *)out + felix_priorities[i].off),
		                         &out->set)) < 0)
			goto fail;
	conv = spec ? member(spec, felix_config_fields[4]) : NULL;
	if (conv) {
		static const char path[] = "spec.liveMigrationRouteConvergenceTime";
		struct herr derr = {{0}};
		if (!json_is_string(conv)) {
			r = bad(&c, path, "must be a duration string such as \"30s\", not %s",
			        json_kind(conv));
			goto fail;
		}
		if ((r = parse_k8s_duration(json_string_value(conv), &out->convergence_ms, &derr)) <
		    0) {
			r = bad(&c, path, "%s", derr.msg);
			goto fail;
		}
		out->set |= FC_CONVERGENCE;
	}
	if (!(out->name = strdup(m.name))) {
		r = nomem(&c);
		goto fail;
	}
	return 0;
fail:
	felix_config_free(out);
	return r;
}

/* ---- Pod -> endpoint ------------------------------------------------------ */

/* Append `ip` (validated, written in canonical form) to the endpoint; a
 * repeated address is kept once, so the plan never programs it twice. */
static int endpoint_add_addr(const struct dctx *c, struct endpoint *ep, const json_t *ip,
                             const char *path)
{
	unsigned char bin[16];
	char canon[HANDOFF_ADDRSIZ];
	const char *s;
	int af;

	if (!json_is_string(ip))
		return bad(c, path, "must be a string, not %s", json_kind(ip));
	s = json_string_value(ip);
	af = addr_family(s);
	if (!af)
		return bad(c, path, "\"%s\" is not an IPv4 or IPv6 address", s);
	/* "fd00::0a" and "fd00::a" are one address: keep one spelling. */
	inet_pton(af == 4 ? AF_INET : AF_INET6, s, bin);
	inet_ntop(af == 4 ? AF_INET : AF_INET6, bin, canon, sizeof(canon));
	for (size_t i = 0; i < ep->naddrs; i++)
		if (!strcmp(ep->addrs[i], canon))
			return 0;
	char(*nv)[HANDOFF_ADDRSIZ] = realloc(ep->addrs, (ep->naddrs + 1) * sizeof(*nv));
	if (!nv)
		return nomem(c);
	ep->addrs = nv;
	memcpy(ep->addrs[ep->naddrs++], canon, sizeof(canon));
	return 0;
}

static int decode_pod_addrs(const struct dctx *c, const json_t *status, struct endpoint *ep)
{
	json_t *ips = member(status, "podIPs"), *ip;
	char path[64];
	size_t i;
	int r;

	if (ips && !json_is_array(ips))
		return bad(c, "status.podIPs", "must be an array, not %s", json_kind(ips));
	json_array_foreach(ips, i, ip)
	{
		snprintf(path, sizeof(path), "status.podIPs[%zu]", i);
		if (!json_is_object(ip))
			return bad(c, path, "must be an object, not %s", json_kind(ip));
		snprintf(path, sizeof(path), "status.podIPs[%zu].ip", i);
		json_t *v = member(ip, "ip");
		if (!v)
			return bad(c, path, "required");
		if ((r = endpoint_add_addr(c, ep, v, path)) < 0)
			return r;
	}
	/* Older API servers and hand-written objects carry only podIP. */
	if (!json_array_size(ips)) {
		json_t *v = member(status, "podIP");
		if (v && !(json_is_string(v) && !*json_string_value(v)))
			return endpoint_add_addr(c, ep, v, "status.podIP");
	}
	return 0;
}

/* "aa:bb:cc:dd:ee:ff" in any case -> lower case into `out`. */
static bool parse_mac(const char *s, char out[18])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[17] = '\0';
	return true;
}

static int decode_pod_labels(const struct dctx *c, const json_t *md, struct endpoint *ep)
{
	json_t *labels, *v;
	const char *key;
	char path[300];
	int r;

	if ((r = opt_object(c, md, "labels", "metadata.labels", &labels)) < 0)
		return r;
	json_object_foreach(labels, key, v)
	{
		if (!json_is_string(v)) {
			snprintf(path, sizeof(path), "metadata.labels[\"%s\"]", key);
			return bad(c, path, "must be a string, not %s", json_kind(v));
		}
		if (labels_set(&ep->labels, key, json_string_value(v)) < 0)
			return nomem(c);
	}
	return 0;
}

static int decode_pod_mac(const struct dctx *c, const json_t *md, struct endpoint *ep)
{
	static const char path[] = "metadata.annotations[\"" MAC_ANNOTATION "\"]";
	json_t *ann;
	const char *mac;
	int r;

	if ((r = opt_object(c, md, "annotations", "metadata.annotations", &ann)) < 0)
		return r;
	if (!ann || (r = opt_string(c, ann, MAC_ANNOTATION, path, &mac)) < 0 || !mac)
		return r;
	if (!parse_mac(mac, ep->mac))
		return bad(c, path, "\"%s\" is not a MAC address like aa:bb:cc:dd:ee:ff", mac);
	return 0;
}

int endpoint_decode_pod(const struct json_t *pod, struct endpoint *out, struct herr *err)
{
	static const char *const api[] = {"v1", NULL};
	struct dctx c = {.err = err};
	struct meta m;
	json_t *spec, *status;
	const char *node = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = decode_envelope(&c, pod, "Pod", api, true, &m)) < 0)
		return r;
	json_t *md = json_object_get(pod, "metadata");
	out->ns = xstrdup(m.ns);
	out->name = xstrdup(m.name);
	if (!out->ns || !out->name || asprintf(&out->key, "%s/%s", m.ns, m.name) < 0) {
		out->key = NULL;
		r = nomem(&c);
		goto fail;
	}
	if ((r = opt_object(&c, pod, "spec", "spec", &spec)) < 0 ||
	    (spec && (r = opt_string(&c, spec, "nodeName", "spec.nodeName", &node)) < 0))
		goto fail;
	/* The node's own network namespace (the DaemonSet's pod, with the node's
	 * IP): not a workload, no route, no ARP drop. */
	json_t *hn = member(spec, "hostNetwork");
	if (hn && !json_is_boolean(hn)) {
		r = bad(&c, "spec.hostNetwork", "must be true or false, not %s", json_kind(hn));
		goto fail;
	}
	out->host_network = json_is_true(hn);
	if (!(out->node = xstrdup(node))) {
		r = nomem(&c);
		goto fail;
	}
	if (wep_ident_set(&out->id, "", "k8s", out->key, "eth0") < 0) {
		r = nomem(&c);
		goto fail;
	}
	if ((r = decode_pod_labels(&c, md, out)) < 0 || (r = decode_pod_mac(&c, md, out)) < 0)
		goto fail;
	if ((r = opt_object(&c, pod, "status", "status", &status)) < 0 ||
	    (status && (r = decode_pod_addrs(&c, status, out)) < 0))
		goto fail;
	endpoint_ifname(m.ns, m.name, out->ifname);
	return 0;
fail:
	endpoint_free(out);
	return r;
}

/* Keep only the members of `obj` named in `keep`. */
static void keep_only(json_t *obj, const char *const *keep)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v)
	{
		bool wanted = false;
		for (const char *const *k = keep; *k && !wanted; k++)
			wanted = !strcmp(key, *k);
		if (!wanted)
			json_object_del(obj, key);
	}
}

void endpoint_pod_trim(json_t *pod)
{
	static const char *const top[] = {"kind", "apiVersion", "metadata", "spec", "status", NULL};
	static const char *const md[] = {"name", "namespace", "uid", "labels", "annotations", NULL};
	static const char *const ann[] = {MAC_ANNOTATION, NULL};
	static const char *const spec[] = {"nodeName", "hostNetwork", NULL};
	static const char *const status[] = {"podIP", "podIPs", NULL};
	json_t *m = json_object_get(pod, "metadata");

	if (!json_is_object(pod))
		return;
	keep_only(pod, top);
	/* Members of the wrong type stay: the decoder must still reject them. */
	if (json_is_object(m)) {
		json_t *a = json_object_get(m, "annotations");
		keep_only(m, md);
		if (json_is_object(a)) {
			keep_only(a, ann);
			if (!json_object_size(a)) /* an empty object still costs a table */
				json_object_del(m, "annotations");
		}
	}
	if (json_is_object(json_object_get(pod, "spec")))
		keep_only(json_object_get(pod, "spec"), spec);
	json_t *st = json_object_get(pod, "status");
	if (json_is_object(st)) {
		keep_only(st, status);
		/* podIP is read only when podIPs is empty or absent. */
		json_t *ips = json_object_get(st, "podIPs");
		if (json_is_array(ips) && json_array_size(ips))
			json_object_del(st, "podIP");
	}
}

/* ---- shared with the other decoders (decode_internal.h) ------------------ */

int dec_envelope(struct dctx *c, const json_t *obj, const char *kind,
                 const char *const *api_versions, bool namespaced, struct meta *m)
{
	return decode_envelope(c, obj, kind, api_versions, namespaced, m);
}

int dec_opt_string(const struct dctx *c, const json_t *obj, const char *key, const char *path,
                   const char **out)
{
	return opt_string(c, obj, key, path, out);
}

int dec_opt_object(const struct dctx *c, const json_t *obj, const char *key, const char *path,
                   json_t **out)
{
	return opt_object(c, obj, key, path, out);
}

const char *dec_json_kind(const json_t *v)
{
	return json_kind(v);
}

int dec_nomem(const struct dctx *c)
{
	return nomem(c);
}

int dec_add_addr(const struct dctx *c, struct endpoint *ep, const json_t *ip, const char *path)
{
	return endpoint_add_addr(c, ep, ip, path);
}

bool dec_parse_mac(const char *s, char out[18])
{
	return parse_mac(s, out);
}

int dec_labels(const struct dctx *c, const json_t *md, struct endpoint *ep)
{
	return decode_pod_labels(c, md, ep);
}
