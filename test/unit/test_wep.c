/* test_wep.c - projectcalico.org/v3 WorkloadEndpoint objects as endpoints
 * (src/core/wep.c) and OpenStack-style LiveMigrations matching them through
 * the engine (calico-semantics A.4: for a non-k8s orchestrator the node takes
 * part in matching; A.5: target wins over source).
 *
 * The migration is the one networking-calico writes for a Neutron port that
 * moves from host-a to host-b: both hosts hold a WorkloadEndpoint for the
 * same port (same orchestrator, workload and endpoint; different node), and
 * the LiveMigration names the port on host-a as source and on host-b as
 * target. Each host's engine sees only its own endpoint as local. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/engine.h"
#include "core/model.h"
#include "util/yaml_json.h"

static json_t *load_yaml(const char *text)
{
	struct yaml_docs d;
	struct herr err = {{0}};

	if (yaml_parse(text, strlen(text), &d, &err) < 0)
		fail_msg("bad test YAML: %s", err.msg);
	assert_int_equal(d.n, 1);
	json_t *j = json_incref(d.v[0]);
	yaml_docs_free(&d);
	return j;
}

/* A WorkloadEndpoint of port `port` of instance `inst` on `node`, its tap
 * named as libvirt names it, with `extra` appended to its spec. */
static json_t *wep(const char *node, const char *inst, const char *port, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "apiVersion: projectcalico.org/v3\n"
	         "kind: WorkloadEndpoint\n"
	         "metadata:\n"
	         "  namespace: openstack\n"
	         "  name: %s-openstack-%s-%s\n"
	         "  labels: {projectcalico.org/orchestrator: openstack, tier: web}\n"
	         "spec:\n"
	         "  node: %s\n"
	         "  orchestrator: openstack\n"
	         "  workload: %s\n"
	         "  endpoint: %s\n"
	         "  interfaceName: tap%.11s\n"
	         "  mac: FA:16:3E:12:34:60\n"
	         "  ipNetworks: [10.65.0.60/32, \"fd00:65::60/128\"]\n"
	         "  profiles: [openstack-sg-default]\n"
	         "%s",
	         node, inst, port, node, inst, port, port, extra ? extra : "");
	return load_yaml(text);
}

static void test_decode_openstack_port(void **state)
{
	(void)state;
	json_t *j = wep("host-a", "inst1", "0a1b2c3d-4e5f", NULL);
	struct endpoint ep;
	struct herr err = {{0}};

	assert_int_equal(endpoint_decode_wep(j, &ep, &err), 0);
	assert_string_equal(ep.key, "openstack/host-a-openstack-inst1-0a1b2c3d-4e5f");
	assert_string_equal(ep.node, "host-a");
	assert_string_equal(ep.id.hostname, "host-a");
	assert_string_equal(ep.id.orchestrator, "openstack");
	assert_string_equal(ep.id.workload, "openstack/inst1");
	assert_string_equal(ep.id.endpoint, "0a1b2c3d-4e5f");
	assert_string_equal(ep.ifname, "tap0a1b2c3d-4e");
	assert_string_equal(ep.mac, "fa:16:3e:12:34:60");
	assert_int_equal(ep.naddrs, 2);
	assert_string_equal(ep.addrs[0], "10.65.0.60");
	assert_string_equal(ep.addrs[1], "fd00:65::60");
	assert_string_equal(labels_get(&ep.labels, "tier"), "web");
	assert_true(ep.adopt_iface);
	endpoint_free(&ep);
	json_decref(j);
}

/* A Kubernetes WorkloadEndpoint names the pod; the node leaves the identity. */
static void test_decode_k8s_style(void **state)
{
	(void)state;
	json_t *j = load_yaml("apiVersion: projectcalico.org/v3\n"
	                      "kind: WorkloadEndpoint\n"
	                      "metadata: {namespace: vms, name: n1-k8s-pod1-eth0}\n"
	                      "spec: {node: n1, orchestrator: k8s, pod: pod1, endpoint: eth0,\n"
	                      "       interfaceName: cali1234567890a, ipNetworks: [10.65.0.7]}\n");
	struct endpoint ep;
	struct herr err = {{0}};

	assert_int_equal(endpoint_decode_wep(j, &ep, &err), 0);
	assert_string_equal(ep.id.hostname, "");
	assert_string_equal(ep.id.workload, "vms/pod1");
	assert_string_equal(ep.node, "n1");
	assert_string_equal(ep.addrs[0], "10.65.0.7");
	endpoint_free(&ep);
	json_decref(j);
}

struct bad_case {
	const char *extra_or_yaml; /* a whole object when it starts with "apiVersion" */
	const char *want;          /* in the message */
};

static void test_decode_errors_name_object_and_field(void **state)
{
	(void)state;
	static const char obj[] = "WorkloadEndpoint openstack/host-a-openstack-inst1-p1: ";
	static const struct bad_case cases[] = {
	    {"apiVersion: v1\nkind: WorkloadEndpoint\nmetadata: {name: w}\nspec: {}\n",
	     "WorkloadEndpoint default/w: apiVersion: \"v1\" is not projectcalico.org/v3"},
	    {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n",
	     "WorkloadEndpoint default/w: spec: required"},
	    {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"
	     "spec: {orchestrator: openstack, workload: i, endpoint: p, interfaceName: tap1}\n",
	     "WorkloadEndpoint default/w: spec.node: required"},
	    {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"
	     "spec: {node: h, workload: i, endpoint: p, interfaceName: tap1}\n",
	     "WorkloadEndpoint default/w: spec.orchestrator: required"},
	    {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"
	     "spec: {node: h, orchestrator: openstack, workload: i, endpoint: p}\n",
	     "WorkloadEndpoint default/w: spec.interfaceName: required"},
	    {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"
	     "spec: {node: h, orchestrator: openstack, workload: i, interfaceName: tap1}\n",
	     "WorkloadEndpoint default/w: spec.endpoint: required"},
	    {"  orchestratorID: libvirt\n",
	     "spec.orchestratorID: \"libvirt\" disagrees with spec.orchestrator \"openstack\""},
	};
	/* Bad values of the fields the good object already sets, in a whole spec. */
	struct {
		const char *ifname, *mac, *net, *want;
	} values[] = {
	    {"tap0123456789abcdef", "fa:16:3e:00:00:01", "10.0.0.1/32",
	     "spec.interfaceName: \"tap0123456789abcdef\" is not a Linux interface name"},
	    {"tap/1", "fa:16:3e:00:00:01", "10.0.0.1/32",
	     "spec.interfaceName: \"tap/1\" is not a Linux interface name"},
	    {"tap1", "fa:16:3e:00:01", "10.0.0.1/32",
	     "spec.mac: \"fa:16:3e:00:01\" is not a MAC address"},
	    {"tap1", "fa:16:3e:00:00:01", "10.0.0.0/24",
	     "spec.ipNetworks[0]: \"10.0.0.0/24\" is not a host address (/32)"},
	    {"tap1", "fa:16:3e:00:00:01", "fd00::/64",
	     "spec.ipNetworks[0]: \"fd00::/64\" is not a host address (/128)"},
	    {"tap1", "fa:16:3e:00:00:01", "10.0.0.300",
	     "spec.ipNetworks[0]: \"10.0.0.300\" is not an IPv4 or IPv6 address"},
	};
	struct endpoint ep;
	struct herr err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = strncmp(cases[i].extra_or_yaml, "apiVersion", 10)
		                ? wep("host-a", "inst1", "p1", cases[i].extra_or_yaml)
		                : load_yaml(cases[i].extra_or_yaml);
		memset(&err, 0, sizeof(err));
		assert_int_equal(endpoint_decode_wep(j, &ep, &err), -EINVAL);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].want);
		assert_null(ep.key); /* left zeroed */
		json_decref(j);
	}
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char text[1024];
		snprintf(
		    text, sizeof(text),
		    "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
		    "metadata: {namespace: openstack, name: host-a-openstack-inst1-p1}\n"
		    "spec: {node: host-a, orchestrator: openstack, workload: inst1, "
		    "endpoint: p1, interfaceName: \"%s\", mac: \"%s\", ipNetworks: [\"%s\"]}\n",
		    values[i].ifname, values[i].mac, values[i].net);
		json_t *j = load_yaml(text);
		memset(&err, 0, sizeof(err));
		assert_int_equal(endpoint_decode_wep(j, &ep, &err), -EINVAL);
		if (strncmp(err.msg, obj, strlen(obj)) || !strstr(err.msg, values[i].want))
			fail_msg("value %zu: \"%s\" lacks \"%s%s\"", i, err.msg, obj,
			         values[i].want);
		json_decref(j);
	}
}

/* ---- matching through the engine ------------------------------------------ */

#define PORT "0a1b2c3d-4e5f"

static json_t *lm(const char *uid, const char *src_host, const char *dst_host)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         "apiVersion: projectcalico.org/v3\n"
	         "kind: LiveMigration\n"
	         "metadata: {namespace: openstack, name: port-" PORT ", uid: %s}\n"
	         "spec:\n"
	         "  source:\n"
	         "    workloadEndpoint: {hostname: %s, orchestratorID: openstack,\n"
	         "                       workloadID: openstack/inst1, endpointID: " PORT "}\n"
	         "  target:\n"
	         "    workloadEndpoint: {hostname: %s, orchestratorID: openstack,\n"
	         "                       workloadID: openstack/inst1, endpointID: " PORT "}\n",
	         uid, src_host, dst_host);
	return load_yaml(text);
}

static void apply(struct engine *e, json_t *obj, struct decisions *d)
{
	struct herr err = {{0}};

	if (engine_apply(e, obj, 1000, d, &err) != 0)
		fail_msg("engine_apply: %s", err.msg);
	json_decref(obj);
}

/* The role the engine last decided for `key` in `d`, or -1. */
static int last_role(const struct decisions *d, const char *key)
{
	int role = -1;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == DEC_ROLE && !strcmp(d->v[i].endpoint, key))
			role = (int)d->v[i].role;
	return role;
}

static const struct plan_route *route_to(const struct plan *p, const char *dst)
{
	for (size_t i = 0; i < p->nroutes; i++)
		if (!strcmp(p->routes[i].dst, dst))
			return &p->routes[i];
	return NULL;
}

static const char KEY_A[] = "openstack/host-a-openstack-inst1-" PORT;
static const char KEY_B[] = "openstack/host-b-openstack-inst1-" PORT;

/* Both hosts' WorkloadEndpoints are in the datastore (as etcd holds them);
 * each engine takes only its own. The source host's endpoint is SOURCE and
 * keeps its route; the target host's is TARGET, routeless, captured. Were
 * the node left out of the identity, the source endpoint would also match
 * the target identifier and be TARGET (target wins), losing its route. */
static void test_openstack_lm_roles_by_host(void **state)
{
	(void)state;
	struct engine *a = engine_new("host-a"), *b = engine_new("host-b");
	struct decisions da = {0}, db = {0};
	const struct endpoint *const *eps;
	struct plan p = {0};

	assert_non_null(a);
	assert_non_null(b);
	for (int i = 0; i < 2; i++) {
		struct engine *e = i ? b : a;
		struct decisions *d = i ? &db : &da;
		apply(e, wep("host-a", "inst1", PORT, NULL), d);
		apply(e, wep("host-b", "inst1", PORT, NULL), d);
		assert_int_equal(engine_endpoints(e, &eps), 1);
		assert_string_equal(eps[0]->key, i ? KEY_B : KEY_A);
	}
	decisions_clear(&da);
	decisions_clear(&db);
	apply(a, lm("nova-mig-1", "host-a", "host-b"), &da);
	apply(b, lm("nova-mig-1", "host-a", "host-b"), &db);
	assert_int_equal(last_role(&da, KEY_A), LM_ROLE_SOURCE);
	assert_int_equal(last_role(&db, KEY_B), LM_ROLE_TARGET);
	assert_int_equal(engine_state(b, KEY_B), LM_TARGET);

	assert_int_equal(engine_plan(a, &p), 0);
	assert_non_null(route_to(&p, "10.65.0.60/32"));
	assert_true(route_to(&p, "10.65.0.60/32")->metric > 0);
	assert_string_equal(route_to(&p, "10.65.0.60/32")->ifname, "tap0a1b2c3d-4e");
	plan_free(&p);
	assert_int_equal(engine_plan(b, &p), 0);
	const struct plan_route *r = route_to(&p, "10.65.0.60/32");
	assert_true(!r || r->metric == 0);
	assert_int_equal(p.ncaptures, 1);
	assert_string_equal(p.captures[0].ifname, "tap0a1b2c3d-4e");
	assert_string_equal(p.captures[0].endpoint_key, KEY_B);
	plan_free(&p);

	/* QEMU's RARP on host-b's tap makes the target live, by interface. */
	struct herr err = {{0}};
	assert_int_equal(engine_garp(b, NULL, "tap0a1b2c3d-4e", 2000, &db, &err), 0);
	assert_int_equal(engine_state(b, KEY_B), LM_LIVE);

	decisions_free(&da);
	decisions_free(&db);
	engine_free(a);
	engine_free(b);
}

/* An LM naming another host as source gives this host's endpoint no role;
 * the WEP moving to another node, or being deleted, removes it. */
static void test_other_host_and_delete(void **state)
{
	(void)state;
	struct engine *a = engine_new("host-a");
	struct decisions d = {0};
	const struct endpoint *const *eps;
	struct herr err = {{0}};

	apply(a, wep("host-a", "inst1", PORT, NULL), &d);
	apply(a, lm("nova-mig-2", "host-c", "host-b"), &d);
	assert_int_equal(last_role(&d, KEY_A), -1);
	assert_int_equal(engine_state(a, KEY_A), LM_BASE);
	assert_int_equal(engine_delete(a, "WorkloadEndpoint", "openstack",
	                               "host-a-openstack-inst1-" PORT, 3000, &d, &err),
	                 0);
	assert_int_equal(engine_endpoints(a, &eps), 0);
	/* Without a namespace, the object is in "default", for delete as well. */
	apply(a,
	      load_yaml("apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	                "metadata: {name: w1}\nspec: {node: host-a, orchestrator: openstack, "
	                "workload: i, endpoint: p, interfaceName: tap1}\n"),
	      &d);
	assert_int_equal(engine_endpoints(a, &eps), 1);
	assert_int_equal(engine_delete(a, "WorkloadEndpoint", "", "w1", 3000, &d, &err), 0);
	assert_int_equal(engine_endpoints(a, &eps), 0);
	decisions_free(&d);
	engine_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_openstack_port),
	    cmocka_unit_test(test_decode_k8s_style),
	    cmocka_unit_test(test_decode_errors_name_object_and_field),
	    cmocka_unit_test(test_openstack_lm_roles_by_host),
	    cmocka_unit_test(test_other_host_and_delete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
