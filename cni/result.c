/* result.c - the ADD result (spec "Success" for 1.0.0; 0.3.x/0.4.0 differ in
 * giving each IP a "version").
 *
 * Chained after another plugin, the configuration carries that plugin's
 * result as prevResult: its interfaces, IPs, routes and DNS are kept, and ours
 * are appended, our IPs' "interface" indices counting from the end of the
 * previous interfaces. The pod's addresses are reported as /32 and /128 with
 * the link-local gateways they are routed through. */
#include <stdio.h>
#include <string.h>

#include "cni.h"

#define GATEWAY4 "169.254.1.1"

/* A copy of prevResult's array `key`, or a new empty array. */
static json_t *prev_array(const struct cni_conf *c, const char *key)
{
	json_t *a = json_object_get(c->prev_result, key);

	return json_is_array(a) ? json_deep_copy(a) : json_array();
}

static void add_route(json_t *routes, const char *dst, const char *gw)
{
	json_t *r = json_pack("{s:s, s:s}", "dst", dst, "gw", gw);

	/* A route the previous plugin reported already stays once. */
	for (size_t i = 0; i < json_array_size(routes); i++)
		if (json_equal(json_array_get(routes, i), r)) {
			json_decref(r);
			return;
		}
	json_array_append_new(routes, r);
}

json_t *cni_result_build(const struct cni_conf *c, const char *ifname, const char *netns,
                         const struct cni_ipam_result *ipam, const struct cni_wired *w)
{
	bool legacy = strcmp(c->cni_version, "1.0.0") != 0; /* 0.3.x/0.4.0 ips carry "version" */
	json_t *ifs = prev_array(c, "interfaces"), *ips = prev_array(c, "ips");
	json_t *routes = prev_array(c, "routes"), *dns;
	char gw6[64];
	bool v4 = false, v6 = false;
	int pod_ix;

	cni_mac_link_local(c->host_mac, gw6, sizeof(gw6));
	json_array_append_new(ifs, json_pack("{s:s, s:s}", "name", w->host_if, "mac", w->host_mac));
	pod_ix = (int)json_array_size(ifs);
	json_array_append_new(
	    ifs, json_pack("{s:s, s:s, s:s}", "name", ifname, "mac", w->ctr_mac, "sandbox", netns));
	if (w->tap)
		json_array_append_new(ifs, json_pack("{s:s, s:s, s:s}", "name", w->tap_name, "mac",
		                                     w->tap_mac, "sandbox", netns));
	for (int i = 0; i < ipam->nips; i++) {
		const struct cni_ip *ip = &ipam->ips[i];
		char cidr[80];
		snprintf(cidr, sizeof(cidr), "%s/%d", ip->addr, ip->family == 4 ? 32 : 128);
		json_t *o = json_pack("{s:s, s:s, s:i}", "address", cidr, "gateway",
		                      ip->family == 4 ? GATEWAY4 : gw6, "interface", pod_ix);
		if (legacy)
			json_object_set_new(o, "version", json_string(ip->family == 4 ? "4" : "6"));
		json_array_append_new(ips, o);
		v4 |= ip->family == 4;
		v6 |= ip->family == 6;
	}
	if (v4)
		add_route(routes, "0.0.0.0/0", GATEWAY4);
	if (v6)
		add_route(routes, "::/0", gw6);
	for (int i = 0; i < ipam->nroutes; i++) {
		const struct cni_route *rt = &ipam->routes[i];
		if (!cni_route_is_default(rt) && (rt->family == 4 ? v4 : v6))
			add_route(routes, rt->dst, rt->family == 4 ? GATEWAY4 : gw6);
	}
	/* DNS: the previous plugin's when it gave one, else IPAM's. */
	dns = json_object_get(c->prev_result, "dns");
	if (!json_is_object(dns) || !json_object_size(dns))
		dns = ipam->dns;
	dns = dns ? json_incref(dns) : json_object();
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "cniVersion", c->cni_version, "interfaces",
	                 ifs, "ips", ips, "routes", routes, "dns", dns);
}
