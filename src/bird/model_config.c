/* bird/model_config.c - the BGPConfiguration decoder (calico-semantics D.1):
 * the fields handoff renders (asNumber, nodeToNodeMeshEnabled, the normal
 * route priorities of section C, listenPort, nodeMeshPassword,
 * nodeMeshMaxRestartTime, bindMode), logSeverityScreen checked as Calico
 * checks it, and Calico's other fields refused by name rather than ignored.
 * The defaults are Calico's: the mesh on, normal priority 1024 per family. */
#include "bird/model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bird/secret.h"

/* ---- BGPConfiguration --------------------------------------------------------------- */

void bgp_config_free(struct bgp_config *c)
{
	if (!c)
		return;
	free(c->name);
	bgp_secret_ref_free(&c->mesh_password);
	memset(c, 0, sizeof(*c));
}

/* BGPConfiguration spec fields: read, or (unsupported) rejected by name. */
const char *const bgp_config_fields[] = {"asNumber",
                                         "nodeToNodeMeshEnabled",
                                         "ipv4NormalRoutePriority",
                                         "ipv6NormalRoutePriority",
                                         "listenPort",
                                         "logSeverityScreen",
                                         "nodeMeshPassword",
                                         "nodeMeshMaxRestartTime",
                                         "bindMode",
                                         NULL};
/* Calico fields that change what BIRD would do; silently ignoring them
 * would render something the operator did not ask for. */
const char *const bgp_config_unsupported[] = {
    "ignoredInterfaces",        "communities",
    "prefixAdvertisements",     "serviceClusterIPs",
    "serviceExternalIPs",       "serviceLoadBalancerIPs",
    "programClusterRoutes",     "localWorkloadPeeringIPV4",
    "localWorkloadPeeringIPV6", NULL};

/* nodeMeshPassword, nodeMeshMaxRestartTime, bindMode (on error the
 * password decoded here is freed again). */
static int bgp_config_decode_mesh(const struct model_ctx *c, const json_t *spec,
                                  struct bgp_config *out)
{
	const json_t *v;
	const char *s = NULL;
	int rc;

	if ((v = json_object_get(spec, "nodeMeshPassword")) && !json_is_null(v))
		if ((rc = model_decode_secret_ref(c, "spec.nodeMeshPassword", v,
		                                  &out->mesh_password)) < 0)
			return rc;
	if ((v = json_object_get(spec, "nodeMeshMaxRestartTime")) && !json_is_null(v))
		if ((rc = model_parse_duration_s(c, "spec.nodeMeshMaxRestartTime", v, 65535,
		                                 &out->mesh_restart_time_s)) < 0)
			goto out;
	if ((v = json_object_get(spec, "bindMode")) && !json_is_null(v)) {
		if ((rc = model_get_string(c, "spec.bindMode", v, &s)) < 0)
			goto out;
		if (!strcmp(s, "NodeIP"))
			out->bind_node_ip = true;
		else if (*s && strcmp(s, "None")) {
			rc = model_fail(c, "spec.bindMode", "\"%s\" is not None or NodeIP", s);
			goto out;
		}
	}
	return 0;
out:
	bgp_secret_ref_free(&out->mesh_password);
	return rc;
}

int bgp_config_decode(const json_t *obj, struct bgp_config *out, struct herr *err)
{
	const char *const *fields = bgp_config_fields, *const *unsupported = bgp_config_unsupported;
	const char *name;
	const json_t *spec, *v;
	long long x = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = model_decode_name(obj, "BGPConfiguration", &name, err)) < 0)
		return rc;
	struct model_ctx c = {"BGPConfiguration", name, err};
	out->mesh_enabled = true;
	out->normal[BGP_V4] = out->normal[BGP_V6] = BGP_DEFAULT_PRIORITY;
	spec = json_object_get(obj, "spec");
	if (spec && !json_is_null(spec)) {
		if (!json_is_object(spec))
			return model_fail(&c, "spec", "must be an object");
		if ((rc = model_check_fields(&c, "spec", spec, fields, unsupported)) < 0)
			return rc;
		if ((v = json_object_get(spec, "asNumber")) && !json_is_null(v)) {
			if ((rc = model_parse_speaker_asn(&c, "spec.asNumber", v,
			                                  &out->as_number)) < 0)
				return rc;
			out->has_as = true;
		}
		if ((v = json_object_get(spec, "nodeToNodeMeshEnabled")) && !json_is_null(v)) {
			if (!json_is_boolean(v))
				return model_fail(&c, "spec.nodeToNodeMeshEnabled",
				                  "must be true or false");
			out->mesh_enabled = json_is_true(v);
		}
		if ((v = json_object_get(spec, "ipv4NormalRoutePriority")) && !json_is_null(v))
			if ((rc = model_parse_priority(&c, "spec.ipv4NormalRoutePriority", v,
			                               &out->normal[BGP_V4])) < 0)
				return rc;
		if ((v = json_object_get(spec, "ipv6NormalRoutePriority")) && !json_is_null(v))
			if ((rc = model_parse_priority(&c, "spec.ipv6NormalRoutePriority", v,
			                               &out->normal[BGP_V6])) < 0)
				return rc;
		if ((v = json_object_get(spec, "listenPort")) && !json_is_null(v)) {
			if ((rc = model_parse_int_range(&c, "spec.listenPort", v, 1, 65535, &x)) <
			    0)
				return rc;
			out->listen_port = (uint16_t)x;
		}
		/* Accepted so Calico's own default object applies; BIRD's logging is
		 * not rendered from it, but a value Calico would refuse is refused. */
		if ((v = json_object_get(spec, "logSeverityScreen")) && !json_is_null(v)) {
			const char *s = NULL;
			if ((rc = model_get_string(&c, "spec.logSeverityScreen", v, &s)) < 0)
				return rc;
			if (strcmp(s, "Debug") && strcmp(s, "Info") && strcmp(s, "Warning") &&
			    strcmp(s, "Error") && strcmp(s, "Fatal"))
				return model_fail(
				    &c, "spec.logSeverityScreen",
				    "\"%s\" is not Debug, Info, Warning, Error or Fatal", s);
		}
		if ((rc = bgp_config_decode_mesh(&c, spec, out)) < 0)
			return rc;
	}
	if (!(out->name = strdup(name))) {
		bgp_config_free(out);
		return herr_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}
