/* wep.c - projectcalico.org/v3 WorkloadEndpoint -> endpoint: the ports of a
 * hypervisor without Kubernetes (an OpenStack compute node, a host whose
 * tooling writes Calico's objects).
 *
 * The identity follows Felix's v1 WorkloadEndpointKey, which is what a
 * LiveMigration's WorkloadEndpointIdentifier names (calico-semantics A.1,
 * A.4): hostname = spec.node, orchestratorID = spec.orchestrator,
 * workloadID = "<namespace>/<spec.workload>", endpointID = spec.endpoint. The
 * node stays in the identity for every orchestrator but k8s (wep_ident_set
 * clears it there), so an OpenStack LiveMigration whose source and target
 * name the same port on two hosts gives the source host SOURCE and the
 * target host TARGET, never TARGET on both.
 *
 * Decisions:
 * - only the fields handoff uses are checked; Calico's others (profiles,
 *   ports, ipNATs...) are not ours and are ignored;
 * - spec.node, spec.orchestrator, spec.workload (or spec.pod for k8s),
 *   spec.endpoint and spec.interfaceName are required: without them there is
 *   nothing to match or to route through;
 * - an ipNetworks entry must be a host prefix (/32, /128) or a bare address:
 *   handoff routes single addresses, and a wider network would silently
 *   route only its first address;
 * - spec.orchestratorID is accepted as a spelling of spec.orchestrator (the
 *   identifier's name), and must agree with it when both are given. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode_internal.h"
#include "core/model.h"

static int wep_bad(const struct dctx *c, const char *path, const char *rule, const char *value)
{
	if (value)
		return herr_set(c->err, -EINVAL, "%s: %s: \"%s\" %s", c->obj, path, value, rule);
	return herr_set(c->err, -EINVAL, "%s: %s: %s", c->obj, path, rule);
}

/* A required non-empty string member of spec. */
static int req_string(const struct dctx *c, const json_t *spec, const char *key, const char **out)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "spec.%s", key);
	if ((r = dec_opt_string(c, spec, key, path, out)) < 0)
		return r;
	if (!*out || !**out)
		return wep_bad(c, path, "required", NULL);
	return 0;
}

/* Linux interface names: 1..15 bytes, no '/', no whitespace, not "." or "..". */
static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= HANDOFF_IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || *s == '\t' || *s == '\n')
			return false;
	return true;
}

static int decode_ip_networks(const struct dctx *c, const json_t *spec, struct endpoint *ep)
{
	json_t *nets = json_object_get(spec, "ipNetworks"), *n;
	char path[64], buf[HANDOFF_ADDRSIZ + 8];
	size_t i;
	int r;

	if (!nets || json_is_null(nets))
		return 0;
	if (!json_is_array(nets))
		return herr_set(c->err, -EINVAL, "%s: spec.ipNetworks: must be an array, not %s",
		                c->obj, dec_json_kind(nets));
	json_array_foreach(nets, i, n)
	{
		snprintf(path, sizeof(path), "spec.ipNetworks[%zu]", i);
		if (!json_is_string(n))
			return herr_set(c->err, -EINVAL, "%s: %s: must be a string, not %s", c->obj,
			                path, dec_json_kind(n));
		const char *s = json_string_value(n), *slash = strchr(s, '/');
		size_t alen = slash ? (size_t)(slash - s) : strlen(s);
		if (alen >= HANDOFF_ADDRSIZ)
			return wep_bad(c, path, "is not an IPv4 or IPv6 address", s);
		memcpy(buf, s, alen);
		buf[alen] = '\0';
		int af = addr_family(buf);
		if (!af)
			return wep_bad(c, path, "is not an IPv4 or IPv6 address", s);
		if (slash && strcmp(slash + 1, af == 4 ? "32" : "128"))
			return wep_bad(c, path,
			               af == 4 ? "is not a host address (/32): handoff routes "
			                         "single addresses"
			                       : "is not a host address (/128): handoff routes "
			                         "single addresses",
			               s);
		json_t *addr = json_string(buf);
		if (!addr)
			return dec_nomem(c);
		r = dec_add_addr(c, ep, addr, path);
		json_decref(addr);
		if (r < 0)
			return r;
	}
	return 0;
}

/* spec.orchestrator, or its identifier spelling spec.orchestratorID. */
static int decode_orchestrator(const struct dctx *c, const json_t *spec, const char **out)
{
	const char *a, *b;
	int r;

	if ((r = dec_opt_string(c, spec, "orchestrator", "spec.orchestrator", &a)) < 0 ||
	    (r = dec_opt_string(c, spec, "orchestratorID", "spec.orchestratorID", &b)) < 0)
		return r;
	if (a && *a && b && *b && strcmp(a, b))
		return herr_set(c->err, -EINVAL,
		                "%s: spec.orchestratorID: \"%s\" disagrees with spec.orchestrator "
		                "\"%s\"; give one",
		                c->obj, b, a);
	*out = a && *a ? a : b;
	if (!*out || !**out)
		return wep_bad(c, "spec.orchestrator", "required", NULL);
	return 0;
}

static int decode_wep_spec(const struct dctx *c, const json_t *spec, const struct meta *m,
                           struct endpoint *ep)
{
	const char *node = NULL, *orch = NULL, *workload = NULL, *endpoint = NULL, *ifname = NULL,
	           *mac = NULL;
	char *wid = NULL;
	int r;

	if ((r = req_string(c, spec, "node", &node)) < 0 ||
	    (r = decode_orchestrator(c, spec, &orch)) < 0)
		return r;
	/* Kubernetes' WorkloadEndpoints name the pod, not a workload. */
	if (!strcmp(orch, "k8s") && (r = dec_opt_string(c, spec, "pod", "spec.pod", &workload)) < 0)
		return r;
	if ((!workload || !*workload) && (r = req_string(c, spec, "workload", &workload)) < 0)
		return r;
	if ((r = req_string(c, spec, "endpoint", &endpoint)) < 0 ||
	    (r = req_string(c, spec, "interfaceName", &ifname)) < 0)
		return r;
	if (!ifname_valid(ifname))
		return wep_bad(c, "spec.interfaceName",
		               "is not a Linux interface name (1 to 15 characters, no '/', ':' or "
		               "blank)",
		               ifname);
	memcpy(ep->ifname, ifname, strlen(ifname) + 1);
	if ((r = dec_opt_string(c, spec, "mac", "spec.mac", &mac)) < 0)
		return r;
	if (mac && *mac && !dec_parse_mac(mac, ep->mac))
		return wep_bad(c, "spec.mac", "is not a MAC address like aa:bb:cc:dd:ee:ff", mac);
	if (!(ep->node = strdup(node)) || asprintf(&wid, "%s/%s", m->ns, workload) < 0)
		return dec_nomem(c);
	r = wep_ident_set(&ep->id, node, orch, wid, endpoint);
	free(wid);
	if (r < 0)
		return dec_nomem(c);
	return decode_ip_networks(c, spec, ep);
}

int endpoint_decode_wep(const struct json_t *wep, struct endpoint *out, struct herr *err)
{
	static const char *const api[] = {"projectcalico.org/v3", NULL};
	struct dctx c = {.err = err};
	struct meta m;
	json_t *spec;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = dec_envelope(&c, wep, "WorkloadEndpoint", api, true, &m)) < 0)
		return r;
	out->adopt_iface = true;
	if (!(out->ns = strdup(m.ns)) || !(out->name = strdup(m.name)) ||
	    asprintf(&out->key, "%s/%s", m.ns, m.name) < 0) {
		out->key = NULL;
		r = dec_nomem(&c);
		goto fail;
	}
	if ((r = dec_labels(&c, json_object_get(wep, "metadata"), out)) < 0)
		goto fail;
	if ((r = dec_opt_object(&c, wep, "spec", "spec", &spec)) < 0)
		goto fail;
	if (!spec) {
		r = wep_bad(&c, "spec", "required", NULL);
		goto fail;
	}
	if ((r = decode_wep_spec(&c, spec, &m, out)) < 0)
		goto fail;
	return 0;
fail:
	endpoint_free(out);
	return r;
}
