/* bird/model_peer.c - the BGPPeer decoder (calico-semantics D.2): which
 * nodes peer (spec.node or nodeSelector, not both), with whom (peerIP,
 * optionally with a port and kept in one canonical spelling, or
 * peerSelector; not both, and asNumber only with peerIP), and the session's
 * options (local AS, filters in order, timers, source address, next hop,
 * TTL security, password, reachableBy, reversePeering). Calico's
 * localWorkloadSelector is refused by name. */
#include "bird/model_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird/secret.h"
#include "bird/validate.h"
#include "core/selector.h"

/* ---- BGPPeer -------------------------------------------------------------------------- */

void bgp_peer_free(struct bgp_peer *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->node);
	free(p->node_selector);
	free(p->peer_ip);
	free(p->peer_selector);
	bgp_secret_ref_free(&p->password);
	free(p->reachable_by);
	for (size_t i = 0; i < p->nfilters; i++)
		free(p->filters[i]);
	free(p->filters);
	memset(p, 0, sizeof(*p));
}

/* "ip", "ip:port" (v4) or "[v6]:port" into address and port. */
static int parse_peer_ip(const struct model_ctx *c, const char *s, struct bgp_peer *p)
{
	char addr[64];
	unsigned char buf[16];
	const char *port = NULL;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(addr))
			goto bad;
		memcpy(addr, s + 1, (size_t)(close - s - 1));
		addr[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, addr, buf) != 1)
			goto bad;
		port = close + 2;
	} else if (inet_pton(AF_INET6, s, buf) == 1 || inet_pton(AF_INET, s, buf) == 1) {
		snprintf(addr, sizeof(addr), "%s", s);
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(addr))
			goto bad;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
		if (inet_pton(AF_INET, addr, buf) != 1)
			goto bad;
		port = colon + 1;
	}
	if (port) {
		char *end;
		long n = strtol(port, &end, 10);
		if (!isdigit((unsigned char)*port) || *end || n < 1 || n > 65535)
			goto bad;
		p->port = (uint16_t)n;
	}
	/* One spelling per neighbour: "FD00:0::9" is fd00::9, the same session
	 * (and the same protocol name) as every other spelling of it. */
	char canon[INET6_ADDRSTRLEN], why[200];
	if (bird_addr_canon(addr, 0, canon, NULL) < 0)
		goto bad;
	if (bird_neighbour_check(canon, why, sizeof(why)) < 0)
		return model_fail(c, "spec.peerIP", "%s", why);
	if (!(p->peer_ip = strdup(canon)))
		return herr_set(c->err, -ENOMEM, "out of memory");
	return 0;
bad:
	return model_fail(c, "spec.peerIP", "\"%s\" is not an IP address, ip:port or [ipv6]:port",
	                  s);
}

static int check_selector(const struct model_ctx *c, const char *field, const json_t *v, char **out)
{
	struct selector *sel = NULL;
	struct herr why;
	const char *s = NULL;
	int rc = model_get_string(c, field, v, &s);

	if (rc < 0)
		return rc;
	if (!*s)
		return 0;
	if (selector_parse(s, &sel, &why) < 0)
		return model_fail(c, field, "%s", why.msg);
	selector_free(sel);
	if (!(*out = strdup(s)))
		return herr_set(c->err, -ENOMEM, "out of memory");
	return 0;
}

/* BGPPeer spec fields: read, or (unsupported) rejected by name. */
const char *const bgp_peer_fields[] = {"node",
                                       "nodeSelector",
                                       "peerIP",
                                       "peerSelector",
                                       "asNumber",
                                       "localASNumber",
                                       "filters",
                                       "keepaliveTime",
                                       "maxRestartTime",
                                       "sourceAddress",
                                       "nextHopMode",
                                       "keepOriginalNextHop",
                                       "numAllowedLocalASNumbers",
                                       "ttlSecurity",
                                       "password",
                                       "reachableBy",
                                       "reversePeering",
                                       NULL};
const char *const bgp_peer_unsupported[] = {"localWorkloadSelector", NULL};

/* password, reachableBy, reversePeering (the caller frees `out` on error). */
static int bgp_peer_decode_session(const struct model_ctx *c, const json_t *spec,
                                   struct bgp_peer *out)
{
	const json_t *v;
	const char *s = NULL;
	unsigned char buf[16];
	int rc;

	if ((v = json_object_get(spec, "password")) && !json_is_null(v))
		if ((rc = model_decode_secret_ref(c, "spec.password", v, &out->password)) < 0)
			return rc;
	if ((v = json_object_get(spec, "reachableBy")) && !json_is_null(v)) {
		if ((rc = model_get_string(c, "spec.reachableBy", v, &s)) < 0)
			return rc;
		if (*s) {
			bool v6 = strchr(s, ':') != NULL;
			if (inet_pton(v6 ? AF_INET6 : AF_INET, s, buf) != 1)
				return model_fail(c, "spec.reachableBy",
				                  "\"%s\" is not an IP address", s);
			/* A gateway only reaches peers of its own family. */
			if (!out->peer_ip || (strchr(out->peer_ip, ':') != NULL) != v6)
				return model_fail(
				    c, "spec.reachableBy",
				    "\"%s\" needs a peerIP of the same address family", s);
			if (!(out->reachable_by = strdup(s)))
				return herr_set(c->err, -ENOMEM, "out of memory");
		}
	}
	if ((v = json_object_get(spec, "reversePeering")) && !json_is_null(v)) {
		if ((rc = model_get_string(c, "spec.reversePeering", v, &s)) < 0)
			return rc;
		if (!strcmp(s, "Manual"))
			out->reverse_manual = true;
		else if (*s && strcmp(s, "Auto"))
			return model_fail(c, "spec.reversePeering", "\"%s\" is not Auto or Manual",
			                  s);
	}
	return 0;
}

int bgp_peer_decode(const json_t *obj, struct bgp_peer *out, struct herr *err)
{
	const char *const *fields = bgp_peer_fields, *const *unsupported = bgp_peer_unsupported;
	const char *name, *s = NULL;
	const json_t *spec, *v;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = model_decode_name(obj, "BGPPeer", &name, err)) < 0)
		return rc;
	struct model_ctx c = {"BGPPeer", name, err};
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return model_fail(&c, "spec", "required");
	if ((rc = model_check_fields(&c, "spec", spec, fields, unsupported)) < 0)
		return rc;
	if (!(out->name = strdup(name)))
		return herr_set(err, -ENOMEM, "out of memory");

	if ((v = json_object_get(spec, "node")) && !json_is_null(v)) {
		if ((rc = model_get_string(&c, "spec.node", v, &s)) < 0)
			goto out;
		if (*s && !(out->node = strdup(s)))
			goto oom;
	}
	if ((v = json_object_get(spec, "nodeSelector")) && !json_is_null(v))
		if ((rc = check_selector(&c, "spec.nodeSelector", v, &out->node_selector)) < 0)
			goto out;
	if (out->node && out->node_selector) {
		rc = model_fail(&c, "spec.nodeSelector", "cannot be combined with spec.node");
		goto out;
	}
	if ((v = json_object_get(spec, "peerIP")) && !json_is_null(v)) {
		if ((rc = model_get_string(&c, "spec.peerIP", v, &s)) < 0)
			goto out;
		if (*s && (rc = parse_peer_ip(&c, s, out)) < 0)
			goto out;
	}
	if ((v = json_object_get(spec, "peerSelector")) && !json_is_null(v))
		if ((rc = check_selector(&c, "spec.peerSelector", v, &out->peer_selector)) < 0)
			goto out;
	if (out->peer_ip && out->peer_selector) {
		rc = model_fail(&c, "spec.peerSelector", "cannot be combined with spec.peerIP");
		goto out;
	}
	if (!out->peer_ip && !out->peer_selector) {
		rc = model_fail(&c, "spec.peerIP", "one of peerIP or peerSelector is required");
		goto out;
	}
	if ((v = json_object_get(spec, "asNumber")) && !json_is_null(v)) {
		if (out->peer_selector) {
			rc = model_fail(
			    &c, "spec.asNumber",
			    "must be empty with peerSelector (the peers' own AS is used)");
			goto out;
		}
		if ((rc = model_parse_speaker_asn(&c, "spec.asNumber", v, &out->as_number)) < 0)
			goto out;
		out->has_as = true;
	}
	if ((v = json_object_get(spec, "localASNumber")) && !json_is_null(v)) {
		if ((rc = model_parse_speaker_asn(&c, "spec.localASNumber", v, &out->local_as)) < 0)
			goto out;
		out->has_local_as = true;
	}
	if ((v = json_object_get(spec, "keepaliveTime")) && !json_is_null(v))
		if ((rc = model_parse_duration_s(&c, "spec.keepaliveTime", v, 65535,
		                                 &out->keepalive_s)) < 0)
			goto out;
	if ((v = json_object_get(spec, "maxRestartTime")) && !json_is_null(v))
		if ((rc = model_parse_duration_s(&c, "spec.maxRestartTime", v, 65535,
		                                 &out->restart_time_s)) < 0)
			goto out;
	if ((v = json_object_get(spec, "sourceAddress")) && !json_is_null(v)) {
		if ((rc = model_get_string(&c, "spec.sourceAddress", v, &s)) < 0)
			goto out;
		if (!strcmp(s, "None"))
			out->no_source_address = true;
		else if (*s && strcmp(s, "UseNodeIP")) {
			rc = model_fail(&c, "spec.sourceAddress", "\"%s\" is not UseNodeIP or None",
			                s);
			goto out;
		}
	}
	if ((v = json_object_get(spec, "nextHopMode")) && !json_is_null(v)) {
		if ((rc = model_get_string(&c, "spec.nextHopMode", v, &s)) < 0)
			goto out;
		if (!strcmp(s, "Self"))
			out->next_hop = BGP_NEXT_HOP_SELF;
		else if (!strcmp(s, "Keep"))
			out->next_hop = BGP_NEXT_HOP_KEEP;
		else if (*s && strcmp(s, "Auto")) {
			rc = model_fail(&c, "spec.nextHopMode", "\"%s\" is not Auto, Self or Keep",
			                s);
			goto out;
		}
	}
	if ((v = json_object_get(spec, "keepOriginalNextHop")) && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			rc = model_fail(&c, "spec.keepOriginalNextHop", "must be true or false");
			goto out;
		}
		out->keep_original_next_hop = json_is_true(v);
		if (out->keep_original_next_hop && out->next_hop != BGP_NEXT_HOP_AUTO) {
			rc = model_fail(&c, "spec.keepOriginalNextHop",
			                "cannot be combined with nextHopMode");
			goto out;
		}
	}
	if ((v = json_object_get(spec, "numAllowedLocalASNumbers")) && !json_is_null(v)) {
		long long x = 0;
		if ((rc = model_parse_int_range(&c, "spec.numAllowedLocalASNumbers", v, 0, 10,
		                                &x)) < 0)
			goto out;
		out->allow_local_as = (uint32_t)x;
	}
	if ((v = json_object_get(spec, "ttlSecurity")) && !json_is_null(v)) {
		long long x = 0;
		if ((rc = model_parse_int_range(&c, "spec.ttlSecurity", v, 0, 255, &x)) < 0)
			goto out;
		out->ttl_security = (uint32_t)x;
	}
	if ((v = json_object_get(spec, "filters")) && !json_is_null(v)) {
		size_t i;
		json_t *e;
		if (!json_is_array(v)) {
			rc = model_fail(&c, "spec.filters", "must be a list of BGPFilter names");
			goto out;
		}
		out->filters = calloc(json_array_size(v) + 1, sizeof(*out->filters));
		if (!out->filters)
			goto oom;
		json_array_foreach(v, i, e)
		{
			char f[64];
			snprintf(f, sizeof(f), "spec.filters[%zu]", i);
			if ((rc = model_get_string(&c, f, e, &s)) < 0)
				goto out;
			if (!*s) {
				rc = model_fail(&c, f, "empty BGPFilter name");
				goto out;
			}
			if (!(out->filters[out->nfilters] = strdup(s)))
				goto oom;
			out->nfilters++;
		}
	}
	if ((rc = bgp_peer_decode_session(&c, spec, out)) < 0)
		goto out;
	return 0;
oom:
	rc = herr_set(err, -ENOMEM, "out of memory");
out:
	bgp_peer_free(out);
	return rc;
}
