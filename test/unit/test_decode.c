/* test_decode.c - LiveMigration, VMIM, FelixConfiguration and Pod decoders:
 * what a good object yields, and that every bad one is refused with a
 * message naming the object and the field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/config.h"
#include "core/model.h"
#include "util/yaml_json.h"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return j;
}

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

static void assert_contains(const char *msg, const char *want)
{
	if (!strstr(msg, want))
		fail_msg("message \"%s\" does not contain \"%s\"", msg, want);
}

static void assert_ident(const struct wep_ident *id, const char *host, const char *orch,
                         const char *wl, const char *ep)
{
	assert_string_equal(id->hostname, host);
	assert_string_equal(id->orchestrator, orch);
	assert_string_equal(id->workload, wl);
	assert_string_equal(id->endpoint, ep);
}

/* ---- LiveMigration -------------------------------------------------------- */

#define LM_HEAD                                                                                    \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"LiveMigration\","                     \
	"\"metadata\":{\"namespace\":\"default\",\"name\":\"lm1\",\"uid\":\"uid-1\"},"

static void test_lm_kubevirt_style(void **state)
{
	json_t *j = load_yaml("apiVersion: projectcalico.org/v3\n"
	                      "kind: LiveMigration\n"
	                      "metadata: {namespace: vms, name: lm1, uid: uid-123}\n"
	                      "spec:\n"
	                      "  source:\n"
	                      "    workload:\n"
	                      "      hostname: node-a\n"
	                      "      orchestratorID: k8s\n"
	                      "      workloadID: vms/virt-launcher-x\n"
	                      "  target:\n"
	                      "    selector: \"kubevirt.io/migrationJobUID == 'uid-123'\"\n");
	struct live_migration lm;
	struct herr err = {{0}};

	assert_int_equal(live_migration_decode(j, &lm, &err), 0);
	assert_string_equal(lm.ns, "vms");
	assert_string_equal(lm.name, "lm1");
	assert_string_equal(lm.uid, "uid-123");
	assert_true(lm.has_source);
	/* hostname is ignored for k8s: namespace/pod is unique already. */
	assert_ident(&lm.source, "", "k8s", "vms/virt-launcher-x", "");
	assert_string_equal(lm.target_selector, "kubevirt.io/migrationJobUID == 'uid-123'");
	assert_false(lm.has_target);
	live_migration_free(&lm);
	assert_null(lm.name);
	json_decref(j);
}

static void test_lm_openstack_style(void **state)
{
	json_t *j = load(LM_HEAD "\"spec\":{\"source\":{\"workloadEndpoint\":{"
	                         "\"hostname\":\"compute2\",\"orchestratorID\":\"openstack\","
	                         "\"workloadID\":\"openstack/dev1\",\"endpointID\":\"port1\"}},"
	                         "\"target\":{\"workloadEndpoint\":{"
	                         "\"hostname\":\"compute3\",\"orchestratorID\":\"openstack\","
	                         "\"workloadID\":\"openstack/dev1\",\"endpointID\":\"port1\"}}}}");
	struct live_migration lm;
	struct herr err = {{0}};

	assert_int_equal(live_migration_decode(j, &lm, &err), 0);
	assert_true(lm.has_source);
	assert_ident(&lm.source, "compute2", "openstack", "openstack/dev1", "port1");
	assert_true(lm.has_target);
	assert_ident(&lm.target, "compute3", "openstack", "openstack/dev1", "port1");
	assert_null(lm.target_selector);
	live_migration_free(&lm);
	json_decref(j);
}

static void test_lm_source_prefers_workload(void **state)
{
	json_t *j = load(
	    LM_HEAD "\"spec\":{\"source\":{"
	            "\"workloadEndpoint\":{\"orchestratorID\":\"k8s\","
	            "\"workloadID\":\"default/wep\",\"endpointID\":\"eth0\"},"
	            "\"workload\":{\"orchestratorID\":\"k8s\",\"workloadID\":\"default/wl\"}}}}");
	struct live_migration lm;
	struct herr err = {{0}};

	assert_int_equal(live_migration_decode(j, &lm, &err), 0);
	assert_true(lm.has_source);
	assert_ident(&lm.source, "", "k8s", "default/wl", "");
	live_migration_free(&lm);
	json_decref(j);
}

static void test_lm_minimal_and_empty(void **state)
{
	/* No spec, no uid, no namespace, no apiVersion/kind: tolerated; the
	 * identities are still non-NULL strings. */
	json_t *j = load("{\"metadata\":{\"name\":\"bare\"}}");
	struct live_migration lm;
	struct herr err = {{0}};

	assert_int_equal(live_migration_decode(j, &lm, &err), 0);
	assert_string_equal(lm.ns, "default");
	assert_string_equal(lm.uid, "");
	assert_false(lm.has_source);
	assert_false(lm.has_target);
	assert_null(lm.target_selector);
	assert_ident(&lm.source, "", "", "", "");
	assert_ident(&lm.target, "", "", "", "");
	live_migration_free(&lm);
	json_decref(j);

	/* Empty identifiers and an empty selector track nothing (A.5). */
	j = load(LM_HEAD "\"spec\":{\"source\":{\"workload\":{}},\"target\":{\"selector\":\"\"}}}");
	assert_int_equal(live_migration_decode(j, &lm, &err), 0);
	assert_false(lm.has_source);
	assert_null(lm.target_selector);
	live_migration_free(&lm);
	json_decref(j);
}

struct bad_case {
	const char *json;
	const char *want; /* substring of the message, naming object and field */
};

static void run_bad_lm(const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *j = load(cases[i].json);
		struct live_migration lm;
		struct herr err = {{0}};

		if (live_migration_decode(j, &lm, &err) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		assert_contains(err.msg, cases[i].want);
		/* A failed decode leaves the struct zeroed. */
		assert_null(lm.name);
		assert_null(lm.source.workload);
		assert_null(lm.target_selector);
		json_decref(j);
	}
}

static void test_lm_bad(void **state)
{
	static const struct bad_case cases[] = {
	    {LM_HEAD "\"spec\":{\"target\":{\"selector\":5}}}",
	     "LiveMigration default/lm1: spec.target.selector: must be a string"},
	    {LM_HEAD "\"spec\":{\"target\":{\"selectr\":\"a == 'b'\"}}}",
	     "LiveMigration default/lm1: spec.target.selectr: unknown field"},
	    {LM_HEAD "\"spec\":{\"sourc\":{}}}",
	     "LiveMigration default/lm1: spec.sourc: unknown field"},
	    {LM_HEAD "\"spec\":{\"source\":{\"workload\":{\"endpointID\":\"eth0\"}}}}",
	     "LiveMigration default/lm1: spec.source.workload.endpointID: unknown field"},
	    {LM_HEAD "\"spec\":{\"source\":{\"workloadEndpoint\":{\"workloadID\":7}}}}",
	     "LiveMigration default/lm1: spec.source.workloadEndpoint.workloadID: must be a "
	     "string"},
	    {LM_HEAD "\"spec\":{\"target\":{\"selector\":\"a == 'b'\","
	             "\"workloadEndpoint\":{\"workloadID\":\"x/y\"}}}}",
	     "LiveMigration default/lm1: spec.target: selector and workloadEndpoint are both set"},
	    {LM_HEAD "\"spec\":{\"target\":{\"selector\":\"a == \"}}}",
	     "LiveMigration default/lm1: spec.target.selector: column"},
	    {LM_HEAD "\"spec\":{\"target\":[]}}",
	     "LiveMigration default/lm1: spec.target: must be an object"},
	    {LM_HEAD "\"spec\":\"x\"}", "LiveMigration default/lm1: spec: must be an object"},
	    {"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"Pod\","
	     "\"metadata\":{\"namespace\":\"ns\",\"name\":\"lm1\"}}",
	     "LiveMigration ns/lm1: kind: \"Pod\" is not LiveMigration"},
	    {"{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":\"LiveMigration\","
	     "\"metadata\":{\"name\":\"lm1\"}}",
	     "LiveMigration default/lm1: apiVersion: \"crd.projectcalico.org/v1\" is not "
	     "projectcalico.org/v3"},
	    {"{\"kind\":\"LiveMigration\",\"metadata\":{}}",
	     "LiveMigration: metadata.name: required"},
	    {"{\"kind\":\"LiveMigration\",\"metadata\":{\"name\":\"a\",\"uid\":1}}",
	     "LiveMigration default/a: metadata.uid: must be a string"},
	    {"{\"kind\":\"LiveMigration\"}", "LiveMigration: metadata.name: required"},
	    {"[1]", "LiveMigration: must be a JSON object, not an array"},
	};
	run_bad_lm(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- VMIM -> LiveMigration (A.3) ------------------------------------------ */

static json_t *vmim(const char *phase, const char *vmi, const char *uid, const char *source_pod)
{
	json_t *j = load("{\"apiVersion\":\"kubevirt.io/v1\","
	                 "\"kind\":\"VirtualMachineInstanceMigration\","
	                 "\"metadata\":{\"namespace\":\"vms\",\"name\":\"mig1\"},"
	                 "\"spec\":{},\"status\":{}}");
	json_t *md = json_object_get(j, "metadata");

	if (uid)
		json_object_set_new(md, "uid", json_string(uid));
	if (vmi)
		json_object_set_new(json_object_get(j, "spec"), "vmiName", json_string(vmi));
	if (phase)
		json_object_set_new(json_object_get(j, "status"), "phase", json_string(phase));
	if (source_pod)
		json_object_set_new(json_object_get(j, "status"), "migrationState",
		                    json_pack("{s:s}", "sourcePod", source_pod));
	return j;
}

static void test_vmim_phase_table(void **state)
{
	static const struct {
		const char *phase;
		int yields;
	} table[] = {
	    {NULL, 0},          {"", 0},          {"Pending", 0},
	    {"Scheduling", 1},  {"Scheduled", 1}, {"PreparingTarget", 1},
	    {"TargetReady", 1}, {"Running", 1},   {"Succeeded", 0},
	    {"Failed", 1},      {"Unknown", 0},   {"running", 0},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		json_t *j = vmim(table[i].phase, "my-vmi", "uid-123", "virt-launcher-src");
		struct live_migration lm;
		struct herr err = {{0}};
		int r = vmim_to_live_migration(j, &lm, &err);

		if (r != table[i].yields)
			fail_msg("phase %s: got %d, want %d (%s)",
			         table[i].phase ? table[i].phase : "(unset)", r, table[i].yields,
			         err.msg);
		if (r == 0)
			assert_null(lm.name);
		live_migration_free(&lm);
		json_decref(j);
	}
}

static void test_vmim_mapping(void **state)
{
	json_t *j = vmim("Running", "my-vmi", "uid-123", "virt-launcher-my-vmi-abcde");
	struct live_migration lm;
	struct herr err = {{0}};

	assert_int_equal(vmim_to_live_migration(j, &lm, &err), 1);
	assert_string_equal(lm.ns, "vms");
	assert_string_equal(lm.name, "mig1");
	assert_string_equal(lm.uid, "uid-123");
	assert_string_equal(
	    lm.target_selector,
	    "(vmi.kubevirt.io/id == 'my-vmi' || vm.kubevirt.io/name == 'my-vmi') && "
	    "kubevirt.io/migrationJobUID == 'uid-123'");
	assert_false(lm.has_target);
	assert_true(lm.has_source);
	assert_ident(&lm.source, "", "k8s", "vms/virt-launcher-my-vmi-abcde", "");
	live_migration_free(&lm);
	json_decref(j);

	/* No migrationState (or an empty sourcePod): no source. */
	j = vmim("Scheduling", "my-vmi", "uid-123", NULL);
	assert_int_equal(vmim_to_live_migration(j, &lm, &err), 1);
	assert_false(lm.has_source);
	assert_ident(&lm.source, "", "", "", "");
	assert_non_null(lm.target_selector);
	live_migration_free(&lm);
	json_decref(j);
	j = vmim("Scheduling", "my-vmi", "uid-123", "");
	assert_int_equal(vmim_to_live_migration(j, &lm, &err), 1);
	assert_false(lm.has_source);
	live_migration_free(&lm);
	json_decref(j);

	/* v1alpha3 is still served by KubeVirt. */
	j = vmim("Running", "my-vmi", "uid-123", NULL);
	json_object_set_new(j, "apiVersion", json_string("kubevirt.io/v1alpha3"));
	assert_int_equal(vmim_to_live_migration(j, &lm, &err), 1);
	live_migration_free(&lm);
	json_decref(j);
}

static void test_vmim_missing_name_or_uid_yields_nothing(void **state)
{
	const char *vmis[] = {NULL, "", "my-vmi", "my-vmi"};
	const char *uids[] = {"uid-1", "uid-1", NULL, ""};

	for (size_t i = 0; i < 4; i++) {
		json_t *j = vmim("Running", vmis[i], uids[i], "src");
		struct live_migration lm;
		struct herr err = {{0}};

		assert_int_equal(vmim_to_live_migration(j, &lm, &err), 0);
		assert_null(lm.target_selector);
		json_decref(j);
	}
}

static void test_vmim_bad(void **state)
{
	static const struct {
		const char *patch; /* merged into a Running VMIM */
		const char *want;
	} cases[] = {
	    {"{\"kind\":\"VirtualMachineInstance\"}",
	     "VirtualMachineInstanceMigration vms/mig1: kind: \"VirtualMachineInstance\" is not "
	     "VirtualMachineInstanceMigration"},
	    {"{\"apiVersion\":\"kubevirt.io/v2\"}",
	     "VirtualMachineInstanceMigration vms/mig1: apiVersion: \"kubevirt.io/v2\" is not "
	     "kubevirt.io/v1 or kubevirt.io/v1alpha3"},
	    {"{\"status\":{\"phase\":3}}",
	     "VirtualMachineInstanceMigration vms/mig1: status.phase: must be a string"},
	    {"{\"spec\":{\"vmiName\":[]}}",
	     "VirtualMachineInstanceMigration vms/mig1: spec.vmiName: must be a string"},
	    {"{\"status\":{\"phase\":\"Running\",\"migrationState\":{\"sourcePod\":1}}}",
	     "VirtualMachineInstanceMigration vms/mig1: status.migrationState.sourcePod: must be a "
	     "string"},
	    {"{\"spec\":{\"vmiName\":\"a' || all() || 'b\"}}",
	     "VirtualMachineInstanceMigration vms/mig1: spec.vmiName: \"a' || all() || 'b\" "
	     "contains a quote"},
	    {"{\"metadata\":{\"name\":\"\"}}",
	     "VirtualMachineInstanceMigration: metadata.name: required"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = vmim("Running", "my-vmi", "uid-123", "src");
		json_t *patch = load(cases[i].patch);
		struct live_migration lm;
		struct herr err = {{0}};

		json_object_update_recursive(j, patch);
		if (vmim_to_live_migration(j, &lm, &err) != -EINVAL)
			fail_msg("case %zu accepted", i);
		assert_contains(err.msg, cases[i].want);
		assert_null(lm.name);
		json_decref(patch);
		json_decref(j);
	}
}

/* ---- FelixConfiguration --------------------------------------------------- */

static void test_felix_good(void **state)
{
	json_t *j = load_yaml("apiVersion: projectcalico.org/v3\n"
	                      "kind: FelixConfiguration\n"
	                      "metadata: {name: node.n1}\n"
	                      "spec:\n"
	                      "  logSeverityScreen: Info\n" /* other Felix fields are ignored */
	                      "  ipv4NormalRoutePriority: 2000\n"
	                      "  ipv4ElevatedRoutePriority: 1\n"
	                      "  ipv6NormalRoutePriority: 2147483646\n"
	                      "  ipv6ElevatedRoutePriority: 100\n"
	                      "  liveMigrationRouteConvergenceTime: 1m30s\n");
	struct felix_config fc;
	struct herr err = {{0}};

	assert_int_equal(felix_config_decode(j, &fc, &err), 0);
	assert_string_equal(fc.name, "node.n1");
	assert_int_equal(fc.set, FC_IPV4_NORMAL | FC_IPV4_ELEVATED | FC_IPV6_NORMAL |
	                             FC_IPV6_ELEVATED | FC_CONVERGENCE);
	assert_int_equal(fc.ipv4_normal, 2000);
	assert_int_equal(fc.ipv4_elevated, 1);
	assert_int_equal(fc.ipv6_normal, 2147483646u);
	assert_int_equal(fc.ipv6_elevated, 100);
	assert_int_equal(fc.convergence_ms, 90000);
	felix_config_free(&fc);
	assert_null(fc.name);
	json_decref(j);

	/* Only what is set is marked set; no spec at all is fine. */
	j = load("{\"kind\":\"FelixConfiguration\",\"metadata\":{\"name\":\"default\"},"
	         "\"spec\":{\"ipv6ElevatedRoutePriority\":300,\"ipv4NormalRoutePriority\":null}}");
	assert_int_equal(felix_config_decode(j, &fc, &err), 0);
	assert_int_equal(fc.set, FC_IPV6_ELEVATED);
	assert_int_equal(fc.ipv6_elevated, 300);
	felix_config_free(&fc);
	json_decref(j);
	j = load("{\"metadata\":{\"name\":\"default\"}}");
	assert_int_equal(felix_config_decode(j, &fc, &err), 0);
	assert_int_equal(fc.set, 0);
	assert_string_equal(fc.name, "default");
	felix_config_free(&fc);
	json_decref(j);
}

static void test_felix_bad(void **state)
{
	static const struct {
		const char *name, *spec, *want;
	} cases[] = {
	    {"node.n1", "{\"ipv4ElevatedRoutePriority\":0}",
	     "FelixConfiguration node.n1: spec.ipv4ElevatedRoutePriority: 0 is out of range "
	     "1..2147483646"},
	    {"default", "{\"ipv4NormalRoutePriority\":2147483647}",
	     "FelixConfiguration default: spec.ipv4NormalRoutePriority: 2147483647 is out of range "
	     "1..2147483646"},
	    {"default", "{\"ipv6NormalRoutePriority\":-5}",
	     "FelixConfiguration default: spec.ipv6NormalRoutePriority: -5 is out of range"},
	    {"default", "{\"ipv6ElevatedRoutePriority\":512.5}",
	     "FelixConfiguration default: spec.ipv6ElevatedRoutePriority: 512.5 is not an integer"},
	    {"default", "{\"ipv6ElevatedRoutePriority\":\"512\"}",
	     "FelixConfiguration default: spec.ipv6ElevatedRoutePriority: must be an integer, not "
	     "a "
	     "string"},
	    {"default", "{\"liveMigrationRouteConvergenceTime\":\"30x\"}",
	     "FelixConfiguration default: spec.liveMigrationRouteConvergenceTime: \"30x\" is not a "
	     "duration (expected e.g. 30s, 1m30s, 500ms)"},
	    {"default", "{\"liveMigrationRouteConvergenceTime\":\"-5s\"}",
	     "FelixConfiguration default: spec.liveMigrationRouteConvergenceTime: \"-5s\" is "
	     "negative"},
	    {"default", "{\"liveMigrationRouteConvergenceTime\":30}",
	     "FelixConfiguration default: spec.liveMigrationRouteConvergenceTime: must be a "
	     "duration "
	     "string such as \"30s\", not an integer"},
	    {"default", "[]", "FelixConfiguration default: spec: must be an object"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_pack("{s:s,s:s,s:{s:s},s:o}", "apiVersion", "projectcalico.org/v3",
		                      "kind", "FelixConfiguration", "metadata", "name",
		                      cases[i].name, "spec", load(cases[i].spec));
		struct felix_config fc;
		struct herr err = {{0}};

		assert_non_null(j);
		if (felix_config_decode(j, &fc, &err) != -EINVAL)
			fail_msg("case %zu accepted", i);
		assert_contains(err.msg, cases[i].want);
		assert_null(fc.name);
		assert_int_equal(fc.set, 0);
		json_decref(j);
	}

	/* Envelope errors. */
	json_t *j = load("{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPConfiguration\","
	                 "\"metadata\":{\"name\":\"default\"}}");
	struct felix_config fc;
	struct herr err = {{0}};
	assert_int_equal(felix_config_decode(j, &fc, &err), -EINVAL);
	assert_contains(err.msg, "FelixConfiguration default: kind: \"BGPConfiguration\" is not "
	                         "FelixConfiguration");
	json_decref(j);
	j = load("{\"kind\":\"FelixConfiguration\",\"metadata\":{\"name\":3}}");
	assert_int_equal(felix_config_decode(j, &fc, &err), -EINVAL);
	assert_contains(err.msg, "FelixConfiguration: metadata.name: must be a string");
	json_decref(j);
}

/* ---- Pod -> endpoint ------------------------------------------------------ */

static void test_pod_good(void **state)
{
	json_t *j = load_yaml("apiVersion: v1\n"
	                      "kind: Pod\n"
	                      "metadata:\n"
	                      "  namespace: vms\n"
	                      "  name: virt-launcher-a\n"
	                      "  labels:\n"
	                      "    kubevirt.io: virt-launcher\n"
	                      "    vmi.kubevirt.io/id: my-vmi\n"
	                      "  annotations:\n"
	                      "    handoff.dev/mac: 52:54:00:AB:cd:01\n"
	                      "    other: 5\n" /* not ours: not checked */
	                      "spec: {nodeName: node-b}\n"
	                      "status:\n"
	                      "  podIP: 10.65.0.9\n"
	                      "  podIPs:\n"
	                      "  - ip: 10.65.0.10\n"
	                      "  - ip: fd00:0:0:0::0a\n");
	struct endpoint ep;
	struct herr err = {{0}};
	char ifname[HANDOFF_IFNAMSIZ];

	assert_int_equal(endpoint_decode_pod(j, &ep, &err), 0);
	assert_string_equal(ep.key, "vms/virt-launcher-a");
	assert_string_equal(ep.ns, "vms");
	assert_string_equal(ep.name, "virt-launcher-a");
	assert_string_equal(ep.node, "node-b");
	assert_ident(&ep.id, "", "k8s", "vms/virt-launcher-a", "eth0");
	assert_int_equal(ep.labels.n, 2);
	assert_string_equal(labels_get(&ep.labels, "vmi.kubevirt.io/id"), "my-vmi");
	assert_string_equal(labels_get(&ep.labels, "kubevirt.io"), "virt-launcher");
	/* podIPs wins over podIP; addresses are canonical. */
	assert_int_equal(ep.naddrs, 2);
	assert_string_equal(ep.addrs[0], "10.65.0.10");
	assert_string_equal(ep.addrs[1], "fd00::a");
	endpoint_ifname("vms", "virt-launcher-a", ifname);
	assert_string_equal(ep.ifname, ifname);
	assert_true(strlen(ep.ifname) <= 15);
	assert_string_equal(ep.mac, "52:54:00:ab:cd:01");
	endpoint_free(&ep);
	assert_null(ep.key);
	json_decref(j);
}

static void test_pod_minimal(void **state)
{
	/* Unscheduled, no IP yet, no labels: a valid endpoint with nothing to route. */
	json_t *j = load("{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIP\":\"\"}}");
	struct endpoint ep;
	struct herr err = {{0}};

	assert_int_equal(endpoint_decode_pod(j, &ep, &err), 0);
	assert_string_equal(ep.key, "default/p");
	assert_string_equal(ep.node, "");
	assert_int_equal(ep.naddrs, 0);
	assert_int_equal(ep.labels.n, 0);
	assert_string_equal(ep.mac, "");
	endpoint_free(&ep);
	json_decref(j);

	/* Only the legacy single podIP. */
	j = load("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"a\","
	         "\"name\":\"p\"},\"status\":{\"podIP\":\"2001:db8::1\"}}");
	assert_int_equal(endpoint_decode_pod(j, &ep, &err), 0);
	assert_int_equal(ep.naddrs, 1);
	assert_string_equal(ep.addrs[0], "2001:db8::1");
	endpoint_free(&ep);
	json_decref(j);
}

static void test_pod_bad(void **state)
{
	static const struct bad_case cases[] = {
	    {"{\"metadata\":{\"namespace\":\"ns\"}}", "Pod: metadata.name: required"},
	    {"{\"kind\":\"Node\",\"metadata\":{\"name\":\"p\"}}",
	     "Pod default/p: kind: \"Node\" is not Pod"},
	    {"{\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"p\"}}",
	     "Pod default/p: apiVersion: \"apps/v1\" is not v1"},
	    {"{\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"x\",\"n\":3}}}",
	     "Pod default/p: metadata.labels[\"n\"]: must be a string, not an integer"},
	    {"{\"metadata\":{\"name\":\"p\",\"labels\":[]}}",
	     "Pod default/p: metadata.labels: must be an object"},
	    {"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":true}}",
	     "Pod default/p: spec.nodeName: must be a string, not a boolean"},
	    {"{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIPs\":[{\"ip\":\"10.0.0.1\"},"
	     "{\"ip\":\"10.0.0.300\"}]}}",
	     "Pod default/p: status.podIPs[1].ip: \"10.0.0.300\" is not an IPv4 or IPv6 address"},
	    {"{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIPs\":[{\"ip\":\"10.0.0.0/24\"}]}}",
	     "Pod default/p: status.podIPs[0].ip: \"10.0.0.0/24\" is not an IPv4 or IPv6 address"},
	    {"{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIPs\":[{}]}}",
	     "Pod default/p: status.podIPs[0].ip: required"},
	    {"{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIPs\":[\"10.0.0.1\"]}}",
	     "Pod default/p: status.podIPs[0]: must be an object, not a string"},
	    {"{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIPs\":{}}}",
	     "Pod default/p: status.podIPs: must be an array"},
	    {"{\"metadata\":{\"name\":\"p\"},\"status\":{\"podIP\":\"nope\"}}",
	     "Pod default/p: status.podIP: \"nope\" is not an IPv4 or IPv6 address"},
	    {"{\"metadata\":{\"name\":\"p\",\"annotations\":{\"handoff.dev/"
	     "mac\":\"52:54:00:ab:cd\"}}}",
	     "Pod default/p: metadata.annotations[\"handoff.dev/mac\"]: \"52:54:00:ab:cd\" is not "
	     "a "
	     "MAC address"},
	    {"{\"metadata\":{\"name\":\"p\",\"annotations\":{\"handoff.dev/mac\":1}}}",
	     "Pod default/p: metadata.annotations[\"handoff.dev/mac\"]: must be a string"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = load(cases[i].json);
		struct endpoint ep;
		struct herr err = {{0}};

		if (endpoint_decode_pod(j, &ep, &err) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		assert_contains(err.msg, cases[i].want);
		assert_null(ep.key);
		assert_int_equal(ep.labels.n, 0);
		assert_null(ep.addrs);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lm_kubevirt_style),
	    cmocka_unit_test(test_lm_openstack_style),
	    cmocka_unit_test(test_lm_source_prefers_workload),
	    cmocka_unit_test(test_lm_minimal_and_empty),
	    cmocka_unit_test(test_lm_bad),
	    cmocka_unit_test(test_vmim_phase_table),
	    cmocka_unit_test(test_vmim_mapping),
	    cmocka_unit_test(test_vmim_missing_name_or_uid_yields_nothing),
	    cmocka_unit_test(test_vmim_bad),
	    cmocka_unit_test(test_felix_good),
	    cmocka_unit_test(test_felix_bad),
	    cmocka_unit_test(test_pod_good),
	    cmocka_unit_test(test_pod_minimal),
	    cmocka_unit_test(test_pod_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
