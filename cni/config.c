/* config.c - the network configuration, CNI_ARGS and an IPAM result, parsed
 * and validated. Pure: no I/O, so that test_cni_config covers every rule. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

static const char *const supported_versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

bool cni_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(*supported_versions); i++)
		if (!strcmp(v, supported_versions[i]))
			return true;
	return false;
}

/* "ee:ee:ee:ee:ee:ee": six hex pairs, unicast (a multicast source MAC is invalid). */
static bool valid_unicast_mac(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	return !(strtoul((char[]){s[0], s[1], 0}, NULL, 16) & 1);
}

static int bad(int *code, int c, struct herr *err, int e, const char *msg, const char *field)
{
	*code = c;
	return herr_set(err, e, "%s: %s", field, msg);
}

/* The offending value, for the error's "details" (cut to fit). */
static void set_details(struct cni_conf *c, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	snprintf(c->err_details, sizeof(c->err_details), "%s", text ? text : "");
	free(text);
}

/* A uid or gid for the tap's owner: a non-negative integer below 2^32-1. */
static bool valid_id(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 &&
	       json_integer_value(v) < 4294967295LL;
}

/* Known top-level fields. The standard ones a runtime injects are accepted and
 * ignored; anything else is a typo the user wants to hear about. */
static const char *const passthrough_fields[] = {"runtimeConfig", "args", "capabilities", "dns"};

static bool is_passthrough(const char *key)
{
	for (size_t i = 0; i < sizeof(passthrough_fields) / sizeof(*passthrough_fields); i++)
		if (!strcmp(key, passthrough_fields[i]))
			return true;
	return false;
}

static int copy_string(const json_t *v, char *dst, size_t len)
{
	if (!json_is_string(v) || json_string_length(v) >= len)
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int parse_fields(json_t *root, struct cni_conf *c, int *code, struct herr *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v)
	{
		/* Whatever this field's verdict, an error about it shows its value. */
		set_details(c, v);
		if (!strcmp(key, "cniVersion")) {
			if (copy_string(v, c->cni_version, sizeof(c->cni_version)) < 0)
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be a string like \"1.0.0\"", key);
			if (!cni_version_supported(c->cni_version))
				return bad(code, CNI_ERR_VERSION, err, -ENOTSUP,
				           "unsupported version; this plugin speaks 0.3.0, 0.3.1, "
				           "0.4.0 and 1.0.0",
				           key);
		} else if (!strcmp(key, "name")) {
			if (copy_string(v, c->name, sizeof(c->name)) < 0 || !c->name[0])
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be a non-empty string of at most 255 characters",
				           key);
		} else if (!strcmp(key, "type")) {
			if (!json_is_string(v))
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL, "must be a string",
				           key);
		} else if (!strcmp(key, "hostMAC")) {
			if (copy_string(v, c->host_mac, sizeof(c->host_mac)) < 0 ||
			    !valid_unicast_mac(c->host_mac))
				return bad(
				    code, CNI_ERR_CONFIG, err, -EINVAL,
				    "must be a string like ee:ee:ee:ee:ee:ee (a unicast MAC)", key);
		} else if (!strcmp(key, "endpointDir")) {
			if (copy_string(v, c->endpoint_dir, sizeof(c->endpoint_dir)) < 0 ||
			    c->endpoint_dir[0] != '/')
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be an absolute path like /run/handoff/endpoints",
				           key);
		} else if (!strcmp(key, "mtu")) {
			if (!json_is_integer(v) || json_integer_value(v) < 68 ||
			    json_integer_value(v) > 65535)
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be an integer from 68 to 65535", key);
			c->mtu = (int)json_integer_value(v);
		} else if (!strcmp(key, "tap")) {
			if (!json_is_boolean(v))
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be true or false", key);
			c->tap = json_is_true(v);
		} else if (!strcmp(key, "tapMultiqueue")) {
			if (!json_is_boolean(v))
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be true or false", key);
			c->tap_multiqueue = json_is_true(v);
		} else if (!strcmp(key, "tapOwner") || !strcmp(key, "tapGroup")) {
			if (!valid_id(v))
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be a numeric id from 0 to 4294967294", key);
			*(key[3] == 'O' ? &c->tap_owner : &c->tap_group) =
			    (long)json_integer_value(v);
		} else if (!strcmp(key, "ipam")) {
			if (!json_is_object(v) ||
			    copy_string(json_object_get(v, "type"), c->ipam_type,
			                sizeof(c->ipam_type)) < 0 ||
			    !c->ipam_type[0] || strchr(c->ipam_type, '/'))
				return bad(
				    code, CNI_ERR_CONFIG, err, -EINVAL,
				    "must be an object with a \"type\" naming the IPAM plugin, "
				    "e.g. {\"type\": \"host-local\", ...}",
				    key);
			c->ipam = json_incref(v);
		} else if (!strcmp(key, "prevResult")) {
			if (!json_is_object(v))
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL,
				           "must be an object (a previous CNI result)", key);
			c->prev_result = json_incref(v);
		} else if (is_passthrough(key)) {
			if (!json_is_object(v))
				return bad(code, CNI_ERR_CONFIG, err, -EINVAL, "must be an object",
				           key);
		} else {
			return bad(code, CNI_ERR_UNSUPPORTED, err, -EINVAL,
			           "unknown field (handoff-cni knows cniVersion, name, type, "
			           "hostMAC, endpointDir, mtu, tap, tapMultiqueue, tapOwner, "
			           "tapGroup, ipam)",
			           key);
		}
	}
	c->err_details[0] = '\0';
	return 0;
}

int cni_conf_parse(const char *text, size_t len, struct cni_conf *out, int *code, struct herr *err)
{
	json_error_t jerr;
	json_t *root;
	int r;

	memset(out, 0, sizeof(*out));
	*code = 0;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		*code = CNI_ERR_DECODE;
		return herr_set(err, -EINVAL, "network configuration: line %d: %s", jerr.line,
		                jerr.text);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*code = CNI_ERR_DECODE;
		return herr_set(err, -EINVAL, "network configuration: must be a JSON object");
	}
	snprintf(out->host_mac, sizeof(out->host_mac), "%s", "ee:ee:ee:ee:ee:ee");
	out->tap_owner = out->tap_group = -1;
	snprintf(out->endpoint_dir, sizeof(out->endpoint_dir), "%s", CNI_ENDPOINT_DIR_DEFAULT);
	r = parse_fields(root, out, code, err);
	json_decref(root);
	if (r == 0 && !out->cni_version[0])
		r = bad(code, CNI_ERR_CONFIG, err, -EINVAL, "required (e.g. \"1.0.0\")",
		        "cniVersion");
	/* The spec requires a name (libcni injects the conflist's); without one
	 * IPAM plugins such as host-local cannot key their leases. */
	if (r == 0 && !out->name[0])
		r = bad(code, CNI_ERR_CONFIG, err, -EINVAL, "required (the network's name)",
		        "name");
	if (r == 0 && !out->ipam)
		r = bad(code, CNI_ERR_CONFIG, err, -EINVAL,
		        "required: an object naming the IPAM plugin, e.g. {\"type\": "
		        "\"host-local\", ...}",
		        "ipam");
	if (r < 0)
		cni_conf_free(out);
	return r;
}

void cni_conf_free(struct cni_conf *c)
{
	json_decref(c->ipam);
	json_decref(c->prev_result);
	c->ipam = c->prev_result = NULL;
}

int cni_container_id_check(const char *id, struct herr *err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > CNI_CONTAINER_ID_MAX)
		return herr_set(err, -EINVAL, "CNI_CONTAINERID: must be 1 to %d characters",
		                CNI_CONTAINER_ID_MAX);
	if (!isalnum((unsigned char)id[0]))
		return herr_set(err, -EINVAL,
		                "CNI_CONTAINERID: \"%.40s\" must start with a letter or digit", id);
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
			return herr_set(err, -EINVAL,
			                "CNI_CONTAINERID: \"%.40s\": only letters, digits, '_', "
			                "'.' and '-' are allowed",
			                id);
	return 0;
}

void cni_identity(const struct cni_args *a, const char *container_id, char ns[254], char name[254])
{
	snprintf(ns, 254, "%s", a->pod_ns[0] && a->pod_name[0] ? a->pod_ns : "default");
	snprintf(name, 254, "%s", a->pod_name[0] ? a->pod_name : container_id);
}

int cni_args_parse(const char *args, struct cni_args *out, struct herr *err)
{
	const char *p = args ? args : "";

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *end = strchr(p, ';'), *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p), klen, vlen;

		eq = memchr(p, '=', n);
		if (!eq && n)
			return herr_set(err, -EINVAL, "CNI_ARGS: \"%.*s\" is not KEY=VALUE", (int)n,
			                p);
		if (eq) {
			klen = (size_t)(eq - p);
			vlen = n - klen - 1;
			char *dst = NULL;
			if (klen == 17 && !strncmp(p, "K8S_POD_NAMESPACE", klen))
				dst = out->pod_ns;
			else if (klen == 12 && !strncmp(p, "K8S_POD_NAME", klen))
				dst = out->pod_name;
			else if (klen == 11 && !strncmp(p, "HANDOFF_TAP", klen))
				out->tap = (vlen == 1 && eq[1] == '1') ||
				           (vlen == 4 && !strncmp(eq + 1, "true", 4));
			if (dst) {
				if (vlen == 0 || vlen >= sizeof(out->pod_ns))
					return herr_set(
					    err, -EINVAL,
					    "CNI_ARGS: %.*s: must be 1 to 253 characters",
					    (int)klen, p);
				memcpy(dst, eq + 1, vlen);
				dst[vlen] = '\0';
				/* No Kubernetes name holds a slash: this is not one. */
				if (strchr(dst, '/'))
					return herr_set(err, -EINVAL,
					                "CNI_ARGS: %.*s: must not contain '/'",
					                (int)klen, p);
			}
		}
		p += n;
		if (*p == ';')
			p++;
	}
	return 0;
}

/* "10.66.0.2/24" -> family, address, prefix. */
static int split_cidr(const char *s, struct cni_ip *ip)
{
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	char *end;
	long pfx;
	size_t n;

	if (!slash || (n = (size_t)(slash - s)) >= sizeof(ip->addr))
		return -1;
	memcpy(ip->addr, s, n);
	ip->addr[n] = '\0';
	pfx = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1)
		return -1;
	if (inet_pton(AF_INET, ip->addr, buf) == 1)
		ip->family = 4;
	else if (inet_pton(AF_INET6, ip->addr, buf) == 1)
		ip->family = 6;
	else
		return -1;
	if (pfx < 0 || pfx > (ip->family == 4 ? 32 : 128))
		return -1;
	ip->prefix = (int)pfx;
	return 0;
}

int cni_ipam_result_parse(const char *text, size_t len, struct cni_ipam_result *out,
                          struct herr *err)
{
	json_error_t jerr;
	json_t *root, *ips, *e;
	size_t i;

	memset(out, 0, sizeof(*out));
	root = json_loadb(text, len, 0, &jerr);
	if (!root)
		return herr_set(err, -EINVAL, "IPAM result: line %d: %s", jerr.line, jerr.text);
	ips = json_object_get(root, "ips");
	if (!json_is_array(ips) || json_array_size(ips) == 0) {
		json_decref(root);
		return herr_set(err, -EINVAL, "IPAM result: ips: must be a non-empty array");
	}
	json_array_foreach(ips, i, e)
	{
		const char *a = json_string_value(json_object_get(e, "address"));
		const char *gw = json_string_value(json_object_get(e, "gateway"));
		struct cni_ip *ip = &out->ips[out->nips];

		if (out->nips == CNI_MAX_IPS) {
			json_decref(root);
			return herr_set(err, -E2BIG, "IPAM result: ips: more than %d addresses",
			                CNI_MAX_IPS);
		}
		if (!a || split_cidr(a, ip) < 0) {
			json_decref(root);
			return herr_set(err, -EINVAL,
			                "IPAM result: ips[%zu].address: must be a CIDR like "
			                "10.65.0.10/24",
			                i);
		}
		if (gw)
			snprintf(ip->gateway, sizeof(ip->gateway), "%s", gw);
		out->nips++;
	}
	json_t *routes = json_object_get(root, "routes");
	if (routes && !json_is_array(routes)) {
		json_decref(root);
		return herr_set(err, -EINVAL, "IPAM result: routes: must be an array");
	}
	json_array_foreach(routes, i, e)
	{
		const char *dst = json_string_value(json_object_get(e, "dst"));
		struct cni_route *rt = &out->routes[out->nroutes];
		struct cni_ip ip;

		if (!dst || strlen(dst) >= sizeof(rt->dst) || split_cidr(dst, &ip) < 0) {
			json_decref(root);
			return herr_set(err, -EINVAL,
			                "IPAM result: routes[%zu].dst: must be a CIDR like "
			                "10.96.0.0/12",
			                i);
		}
		if (out->nroutes == CNI_MAX_ROUTES) {
			json_decref(root);
			return herr_set(err, -E2BIG, "IPAM result: routes: more than %d",
			                CNI_MAX_ROUTES);
		}
		rt->family = ip.family;
		memcpy(rt->dst, dst, strlen(dst) + 1);
		out->nroutes++;
	}
	out->dns = json_incref(json_object_get(root, "dns"));
	json_decref(root);
	return 0;
}

bool cni_route_is_default(const struct cni_route *rt)
{
	const char *slash = strrchr(rt->dst, '/');

	return slash && !strcmp(slash, "/0");
}

void cni_ipam_result_free(struct cni_ipam_result *r)
{
	json_decref(r->dns);
	r->dns = NULL;
}

int cni_mac_link_local(const char *mac, char *out, size_t len)
{
	unsigned int b[6];
	unsigned char a[16] = {0xfe, 0x80};

	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	/* EUI-64: flip the universal/local bit, insert ff:fe in the middle. */
	a[8] = (unsigned char)(b[0] ^ 2), a[9] = (unsigned char)b[1], a[10] = (unsigned char)b[2];
	a[11] = 0xff, a[12] = 0xfe;
	a[13] = (unsigned char)b[3], a[14] = (unsigned char)b[4], a[15] = (unsigned char)b[5];
	return inet_ntop(AF_INET6, a, out, (socklen_t)len) ? 0 : -ENOSPC;
}
