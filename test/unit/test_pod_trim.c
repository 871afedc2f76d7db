/* test_pod_trim.c - endpoint_pod_trim(): a trimmed Pod decodes to the same
 * endpoint, an update of fields the endpoint is not made of trims to an equal
 * tree (so the cache reports no change), and an update that matters does not;
 * a malformed field survives trimming so that the decoder still refuses it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/model.h"

/* A virt-launcher Pod as the API server sends it; %s are the IPv4, the
 * Ready condition's time and the resourceVersion. */
static const char POD[] =
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"virt-launcher-vm-1-x\","
    "\"namespace\":\"tenant\",\"uid\":\"u-1\",\"resourceVersion\":\"%s\","
    "\"generateName\":\"virt-launcher-vm-1-\",\"creationTimestamp\":\"2026-11-20T10:00:00Z\","
    "\"labels\":{\"kubevirt.io\":\"virt-launcher\",\"vmi.kubevirt.io/id\":\"vm-1\","
    "\"kubevirt.io/migrationJobUID\":\"job-1\"},"
    "\"annotations\":{\"handoff.dev/mac\":\"AA:bb:cc:dd:ee:01\",\"kubevirt.io/domain\":\"vm-1\"},"
    "\"ownerReferences\":[{\"kind\":\"VirtualMachineInstance\",\"name\":\"vm-1\"}],"
    "\"managedFields\":[{\"manager\":\"kubelet\",\"operation\":\"Update\"}]},"
    "\"spec\":{\"nodeName\":\"node-1\",\"hostNetwork\":true,\"containers\":[{\"name\":\"compute\"}]"
    ","
    "\"restartPolicy\":\"Never\"},"
    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
    "\"lastTransitionTime\":\"%s\"}],\"hostIP\":\"192.168.0.11\",\"podIP\":\"%s\","
    "\"podIPs\":[{\"ip\":\"%s\"},{\"ip\":\"fd00::1\"}]}}";

static json_t *pod(const char *rv, const char *when, const char *ip)
{
	char text[sizeof(POD) + 128];
	json_error_t je;

	snprintf(text, sizeof(text), POD, rv, when, ip, ip);
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

static void assert_same_endpoint(const struct endpoint *a, const struct endpoint *b)
{
	assert_string_equal(a->key, b->key);
	assert_string_equal(a->node, b->node);
	assert_true(labels_equal(&a->labels, &b->labels));
	assert_true(wep_ident_equal(&a->id, &b->id));
	assert_int_equal(a->naddrs, b->naddrs);
	for (size_t i = 0; i < a->naddrs; i++)
		assert_string_equal(a->addrs[i], b->addrs[i]);
	assert_string_equal(a->ifname, b->ifname);
	assert_string_equal(a->mac, b->mac);
	assert_int_equal(a->host_network, b->host_network);
}

static void test_trimmed_decodes_the_same(void **state)
{
	json_t *full = pod("10", "2026-11-20T10:00:05Z", "10.0.0.1");
	json_t *trimmed = json_deep_copy(full);
	struct endpoint a = {0}, b = {0};
	struct herr err = {{0}};

	endpoint_pod_trim(trimmed);
	assert_int_equal(endpoint_decode_pod(full, &a, &err), 0);
	assert_int_equal(endpoint_decode_pod(trimmed, &b, &err), 0);
	assert_same_endpoint(&a, &b);
	assert_string_equal(b.mac, "aa:bb:cc:dd:ee:01");
	assert_int_equal(b.naddrs, 2);
	assert_true(b.host_network); /* kept: it decides whether the pod is a workload */
	/* What is gone is gone. */
	assert_null(json_object_get(json_object_get(trimmed, "metadata"), "managedFields"));
	assert_null(json_object_get(json_object_get(trimmed, "metadata"), "resourceVersion"));
	assert_null(
	    json_object_get(json_object_get(json_object_get(trimmed, "metadata"), "annotations"),
	                    "kubevirt.io/domain"));
	assert_null(json_object_get(json_object_get(trimmed, "spec"), "containers"));
	assert_null(json_object_get(json_object_get(trimmed, "status"), "conditions"));
	endpoint_free(&a);
	endpoint_free(&b);
	json_decref(full);
	json_decref(trimmed);
}

static void test_irrelevant_update_trims_equal(void **state)
{
	json_t *v1 = pod("10", "2026-11-20T10:00:05Z", "10.0.0.1");
	json_t *v2 = pod("11", "2026-11-20T10:09:59Z", "10.0.0.1");
	json_t *v3 = pod("12", "2026-11-20T10:09:59Z", "10.0.0.2");

	assert_false(json_equal(v1, v2));
	endpoint_pod_trim(v1);
	endpoint_pod_trim(v2);
	endpoint_pod_trim(v3);
	assert_true(json_equal(v1, v2));  /* status conditions and resourceVersion only */
	assert_false(json_equal(v2, v3)); /* a new address is a change */
	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
}

static void test_bad_fields_survive(void **state)
{
	json_error_t je;
	json_t *p =
	    json_loads("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":1}},"
	               "\"status\":{\"podIPs\":\"10.0.0.1\"}}",
	               0, &je);
	struct endpoint ep = {0};
	struct herr err = {{0}};

	assert_non_null(p);
	endpoint_pod_trim(p);
	assert_int_equal(endpoint_decode_pod(p, &ep, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "metadata.labels[\"a\"]"));
	json_object_del(json_object_get(p, "metadata"), "labels");
	assert_int_equal(endpoint_decode_pod(p, &ep, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "status.podIPs"));
	/* Not an object: nothing to trim, nothing touched. */
	json_t *s = json_string("x");
	endpoint_pod_trim(s);
	assert_string_equal(json_string_value(s), "x");
	json_decref(s);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trimmed_decodes_the_same),
	    cmocka_unit_test(test_irrelevant_update_trims_equal),
	    cmocka_unit_test(test_bad_fields_survive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
