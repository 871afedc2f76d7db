/* Pod store and record merge: what the engine gets for a pod, before and
 * after its IPs are known, and what survives a bad update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "core/pods.h"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	assert_non_null(j);
	return j;
}

#define POD(name, labels, ips)                                                                     \
	"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" name                   \
	"\",\"namespace\":\"vms\",\"labels\":" labels "},\"spec\":{\"nodeName\":\"node-1\"},"      \
	"\"status\":{\"podIPs\":" ips "}}"

static void upsert_get_delete(void **state)
{
	struct pod_store *s = pod_store_new();
	json_t *p1 = load(POD("vm1", "{\"app\":\"a\"}", "[{\"ip\":\"10.65.0.7\"}]"));
	json_t *p2 = load(POD("vm1", "{\"app\":\"b\"}", "[{\"ip\":\"10.65.0.7\"}]"));
	struct herr err = {{0}};

	(void)state;
	assert_int_equal(pod_store_upsert(s, p1, &err), 0);
	const struct endpoint *ep = pod_store_get(s, "vms/vm1");
	assert_non_null(ep);
	assert_string_equal(labels_get(&ep->labels, "app"), "a");
	assert_int_equal(ep->naddrs, 1);
	assert_string_equal(ep->addrs[0], "10.65.0.7");
	assert_int_equal(pod_store_upsert(s, p2, &err), 0);
	assert_int_equal(pod_store_count(s), 1);
	assert_string_equal(labels_get(&pod_store_get(s, "vms/vm1")->labels, "app"), "b");
	assert_int_equal(pod_store_delete(s, "vms/vm1"), 0);
	assert_null(pod_store_get(s, "vms/vm1"));
	assert_int_equal(pod_store_delete(s, "vms/vm1"), -ENOENT);
	assert_int_equal(pod_store_count(s), 0);
	json_decref(p1);
	json_decref(p2);
	pod_store_free(s);
}

static void bad_update_keeps_the_previous_version(void **state)
{
	struct pod_store *s = pod_store_new();
	json_t *good = load(POD("vm1", "{\"app\":\"a\"}", "[{\"ip\":\"10.65.0.7\"}]"));
	json_t *bad = load(POD("vm1", "{\"app\":\"b\"}", "[{\"ip\":\"10.65.0.999\"}]"));
	struct herr err = {{0}};

	(void)state;
	assert_int_equal(pod_store_upsert(s, good, &err), 0);
	assert_int_equal(pod_store_upsert(s, bad, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "vms/vm1"));
	assert_non_null(strstr(err.msg, "status.podIPs"));
	assert_string_equal(labels_get(&pod_store_get(s, "vms/vm1")->labels, "app"), "a");
	json_decref(good);
	json_decref(bad);
	pod_store_free(s);
}

/* Many pods: the map grows and every one is still found. */
static void many_pods(void **state)
{
	struct pod_store *s = pod_store_new();
	struct herr err = {{0}};
	char text[512], key[64];

	(void)state;
	for (int i = 0; i < 3000; i++) {
		snprintf(text, sizeof(text),
		         "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%d\",\"namespace\":\"vms\"}}",
		         i);
		json_t *p = load(text);
		assert_int_equal(pod_store_upsert(s, p, &err), 0);
		json_decref(p);
	}
	for (int i = 0; i < 3000; i += 2) {
		snprintf(key, sizeof(key), "vms/p%d", i);
		assert_int_equal(pod_store_delete(s, key), 0);
	}
	assert_int_equal(pod_store_count(s), 1500);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "vms/p%d", i);
		if (i % 2)
			assert_string_equal(pod_store_get(s, key)->key, key);
		else
			assert_null(pod_store_get(s, key));
	}
	pod_store_free(s);
}

static void record_fills_what_the_pod_lacks(void **state)
{
	json_t *no_ips = load(POD("vm1", "{}", "[]"));
	json_t *with_ips = load(POD("vm1", "{}", "[{\"ip\":\"10.65.0.7\"}]"));
	json_t *rec = load("{\"kind\":\"EndpointRecord\",\"metadata\":{\"name\":\"vm1\","
	                   "\"namespace\":\"vms\"},\"spec\":{\"interface\":\"cni0abc\","
	                   "\"mac\":\"52:54:00:00:00:01\",\"addresses\":[\"10.65.0.9/32\","
	                   "\"fd00::9/128\",\"not-an-ip\"]}}");
	struct pod_store *s = pod_store_new();
	struct endpoint ep;
	struct herr err = {{0}};

	(void)state;
	/* Before the API server has the IPs: the record's addresses, interface, MAC. */
	assert_int_equal(pod_store_upsert(s, no_ips, &err), 0);
	assert_int_equal(endpoint_with_record(pod_store_get(s, "vms/vm1"), rec, &ep), 0);
	assert_string_equal(ep.ifname, "cni0abc");
	assert_string_equal(ep.mac, "52:54:00:00:00:01");
	assert_int_equal(ep.naddrs, 2);
	assert_string_equal(ep.addrs[0], "10.65.0.9");
	assert_string_equal(ep.addrs[1], "fd00::9");
	endpoint_free(&ep);
	/* Once the Pod reports its IPs, they win; the interface stays the record's. */
	assert_int_equal(pod_store_upsert(s, with_ips, &err), 0);
	assert_int_equal(endpoint_with_record(pod_store_get(s, "vms/vm1"), rec, &ep), 0);
	assert_int_equal(ep.naddrs, 1);
	assert_string_equal(ep.addrs[0], "10.65.0.7");
	assert_string_equal(ep.ifname, "cni0abc");
	endpoint_free(&ep);
	/* Without a record: the Pod's own endpoint, interface derived from its name. */
	assert_int_equal(endpoint_with_record(pod_store_get(s, "vms/vm1"), NULL, &ep), 0);
	assert_int_equal(strncmp(ep.ifname, "ho", 2), 0);
	assert_string_equal(ep.mac, "");
	endpoint_free(&ep);
	json_decref(no_ips);
	json_decref(with_ips);
	json_decref(rec);
	pod_store_free(s);
}

/* The DaemonSet's own pod runs in the node's namespace with the node's IP:
 * stored, it would get a workload route and an ARP drop for the node. */
static void host_network_pods_are_not_workloads(void **state)
{
	json_t *hn = load("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
	                  "\"handoff-x\",\"namespace\":\"handoff-system\"},\"spec\":{\"nodeName\":"
	                  "\"node-1\",\"hostNetwork\":true},\"status\":{\"podIPs\":[{\"ip\":"
	                  "\"192.168.1.10\"}]}}");
	json_t *plain = load("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
	                     "\"handoff-x\",\"namespace\":\"handoff-system\"},\"spec\":{"
	                     "\"nodeName\":\"node-1\",\"hostNetwork\":false},\"status\":{"
	                     "\"podIPs\":[{\"ip\":\"10.65.0.4\"}]}}");
	json_t *bad = load("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
	                   "\"handoff-x\",\"namespace\":\"handoff-system\"},\"spec\":{\"nodeName\":"
	                   "\"node-1\",\"hostNetwork\":\"yes\"}}");
	struct pod_store *s = pod_store_new();
	struct herr err = {{0}};

	(void)state;
	assert_int_equal(pod_store_upsert(s, hn, &err), 0);
	assert_null(pod_store_get(s, "handoff-system/handoff-x"));
	assert_int_equal(pod_store_count(s), 0);
	/* hostNetwork: false is an ordinary workload. */
	assert_int_equal(pod_store_upsert(s, plain, &err), 0);
	assert_non_null(pod_store_get(s, "handoff-system/handoff-x"));
	/* A version that says hostNetwork drops what was kept under the name. */
	assert_int_equal(pod_store_upsert(s, hn, &err), 0);
	assert_null(pod_store_get(s, "handoff-system/handoff-x"));
	assert_int_equal(pod_store_upsert(s, bad, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "spec.hostNetwork: must be true or false"));
	json_decref(hn);
	json_decref(plain);
	json_decref(bad);
	pod_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(upsert_get_delete),
	    cmocka_unit_test(bad_update_keeps_the_previous_version),
	    cmocka_unit_test(many_pods),
	    cmocka_unit_test(record_fills_what_the_pod_lacks),
	    cmocka_unit_test(host_network_pods_are_not_workloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
