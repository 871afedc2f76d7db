/* test_cni_config.c - handoff-cni's network configuration, CNI_ARGS and IPAM
 * result parsing (cni/config.c): what a user's conflist may say, and that each
 * mistake is rejected with the field's name and the right CNI error code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cni.h"

#define IPAM "\"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"10.66.0.0/24\"}]]}"

static int parse(const char *text, struct cni_conf *c, int *code, struct herr *err)
{
	memset(err, 0, sizeof(*err));
	return cni_conf_parse(text, strlen(text), c, code, err);
}

static void test_minimal_gets_defaults(void **state)
{
	struct cni_conf c;
	struct herr err;
	int code;

	assert_int_equal(parse("{\"cniVersion\": \"1.0.0\", \"name\": \"handoff\", \"type\": "
	                       "\"handoff-cni\", " IPAM "}",
	                       &c, &code, &err),
	                 0);
	assert_string_equal(c.cni_version, "1.0.0");
	assert_string_equal(c.name, "handoff");
	assert_string_equal(c.host_mac, "ee:ee:ee:ee:ee:ee");
	assert_string_equal(c.endpoint_dir, "/run/handoff/endpoints");
	assert_string_equal(c.ipam_type, "host-local");
	assert_int_equal(c.mtu, 0);
	assert_false(c.tap);
	assert_null(c.prev_result);
	cni_conf_free(&c);
}

/* The plugin entry of manifests/20-cni-config.yaml, as libcni hands it over
 * (name and cniVersion injected, runtimeConfig added), plus every option. */
static void test_full_config(void **state)
{
	struct cni_conf c;
	struct herr err;
	int code;

	assert_int_equal(parse("{\"cniVersion\": \"0.4.0\", \"name\": \"handoff\", \"type\": "
	                       "\"handoff-cni\", \"hostMAC\": \"EE:EE:EE:00:00:01\", "
	                       "\"endpointDir\": \"/tmp/ep\", \"mtu\": 1450, \"tap\": true, "
	                       "\"runtimeConfig\": {\"portMappings\": []}, \"args\": {}, "
	                       "\"dns\": {}, \"prevResult\": {\"ips\": []}, " IPAM "}",
	                       &c, &code, &err),
	                 0);
	assert_string_equal(c.cni_version, "0.4.0");
	assert_string_equal(c.host_mac, "EE:EE:EE:00:00:01");
	assert_string_equal(c.endpoint_dir, "/tmp/ep");
	assert_int_equal(c.mtu, 1450);
	assert_true(c.tap);
	assert_non_null(c.prev_result);
	assert_non_null(json_object_get(c.ipam, "ranges"));
	cni_conf_free(&c);
}

struct bad_case {
	const char *json;
	int code;
	const char *msg; /* must appear in the message */
};

static void test_rejections_name_the_field(void **state)
{
	static const struct bad_case cases[] = {
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"hostMAC\": 42, " IPAM "}",
	     CNI_ERR_CONFIG, "hostMAC: must be a string like ee:ee:ee:ee:ee:ee"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"hostMAC\": \"ee:ee:ee:ee:ee\", " IPAM
	     "}",
	     CNI_ERR_CONFIG, "hostMAC: must be a string like"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"hostMAC\": "
	     "\"01:00:5e:00:00:01\", " IPAM "}",
	     CNI_ERR_CONFIG, "hostMAC: must be a string like ee:ee:ee:ee:ee:ee (a unicast MAC)"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"hostMAC\": "
	     "\"ee:ee:ee:ee:ee:gg\", " IPAM "}",
	     CNI_ERR_CONFIG, "hostMAC:"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"endpointDir\": \"run/x\", " IPAM "}",
	     CNI_ERR_CONFIG, "endpointDir: must be an absolute path"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"endpointDir\": [], " IPAM "}",
	     CNI_ERR_CONFIG, "endpointDir:"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"mtu\": \"1500\", " IPAM "}",
	     CNI_ERR_CONFIG, "mtu: must be an integer from 68 to 65535"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"mtu\": 10, " IPAM "}", CNI_ERR_CONFIG,
	     "mtu: must be an integer"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"tap\": \"yes\", " IPAM "}",
	     CNI_ERR_CONFIG, "tap: must be true or false"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\"}", CNI_ERR_CONFIG, "ipam: required"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"ipam\": \"host-local\"}",
	     CNI_ERR_CONFIG, "ipam: must be an object with a \"type\""},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"ipam\": {\"subnet\": \"x\"}}",
	     CNI_ERR_CONFIG, "ipam: must be an object with a \"type\""},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"ipam\": {\"type\": \"../../bin/sh\"}}",
	     CNI_ERR_CONFIG, "ipam:"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"hostMac\": "
	     "\"ee:ee:ee:ee:ee:ee\", " IPAM "}",
	     CNI_ERR_UNSUPPORTED, "hostMac: unknown field"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": 7, " IPAM "}", CNI_ERR_CONFIG, "name: must be"},
	    {"{\"cniVersion\": 1, \"name\": \"n\", " IPAM "}", CNI_ERR_CONFIG,
	     "cniVersion: must be"},
	    {"{\"cniVersion\": \"0.2.0\", \"name\": \"n\", " IPAM "}", CNI_ERR_VERSION,
	     "cniVersion: unsupported version"},
	    {"{\"name\": \"n\", " IPAM "}", CNI_ERR_CONFIG, "cniVersion: required"},
	    {"{\"cniVersion\": \"1.0.0\", \"type\": 3, " IPAM "}", CNI_ERR_CONFIG, "type: must be"},
	    {"{\"cniVersion\": \"1.0.0\", \"runtimeConfig\": [], " IPAM "}", CNI_ERR_CONFIG,
	     "runtimeConfig: must be an object"},
	    {"{\"cniVersion\": \"1.0.0\", \"prevResult\": 1, " IPAM "}", CNI_ERR_CONFIG,
	     "prevResult: must be an object"},
	    {"{\"cniVersion\": \"1.0.0\", " IPAM "}", CNI_ERR_CONFIG, "name: required"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"tapOwner\": -1, " IPAM "}",
	     CNI_ERR_CONFIG, "tapOwner: must be a numeric id"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"tapGroup\": \"kvm\", " IPAM "}",
	     CNI_ERR_CONFIG, "tapGroup: must be a numeric id"},
	    {"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"tapMultiqueue\": 1, " IPAM "}",
	     CNI_ERR_CONFIG, "tapMultiqueue: must be true or false"},
	    {"{\"cniVersion\": ", CNI_ERR_DECODE, "network configuration: line 1"},
	    {"[1]", CNI_ERR_DECODE, "must be a JSON object"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct cni_conf c;
		struct herr err;
		int code = 0;

		assert_int_not_equal(parse(cases[i].json, &c, &code, &err), 0);
		if (!strstr(err.msg, cases[i].msg) || code != cases[i].code)
			fail_msg("case %zu: got code %d \"%s\", want code %d \"%s\"", i, code,
			         err.msg, cases[i].code, cases[i].msg);
		assert_null(c.ipam);
	}
}

/* The error's details show the offending value (spec: details for the user). */
static void test_error_details(void **state)
{
	struct cni_conf c;
	struct herr err;
	int code;

	assert_int_not_equal(parse("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"hostMac\": "
	                           "\"ee:ee:ee:00:00:01\", " IPAM "}",
	                           &c, &code, &err),
	                     0);
	assert_int_equal(code, CNI_ERR_UNSUPPORTED);
	assert_string_equal(c.err_details, "\"ee:ee:ee:00:00:01\"");
	assert_int_not_equal(parse("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"mtu\": 10, " IPAM
	                           "}",
	                           &c, &code, &err),
	                     0);
	assert_string_equal(c.err_details, "10");
	assert_int_equal(
	    parse("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", " IPAM "}", &c, &code, &err), 0);
	assert_string_equal(c.err_details, "");
	cni_conf_free(&c);
}

static void test_tap_options(void **state)
{
	struct cni_conf c;
	struct herr err;
	int code;

	assert_int_equal(
	    parse("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", " IPAM "}", &c, &code, &err), 0);
	assert_false(c.tap_multiqueue);
	assert_int_equal(c.tap_owner, -1);
	assert_int_equal(c.tap_group, -1);
	cni_conf_free(&c);
	assert_int_equal(parse("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"tap\": true, "
	                       "\"tapMultiqueue\": true, \"tapOwner\": 107, \"tapGroup\": 0, " IPAM
	                       "}",
	                       &c, &code, &err),
	                 0);
	assert_true(c.tap);
	assert_true(c.tap_multiqueue);
	assert_int_equal(c.tap_owner, 107);
	assert_int_equal(c.tap_group, 0);
	cni_conf_free(&c);
}

/* What each runtime sends becomes an identity: kubelet, podman, plain. */
static void test_identity(void **state)
{
	struct cni_args a;
	struct herr err = {{0}};
	char ns[254], name[254];

	assert_int_equal(cni_args_parse("K8S_POD_NAMESPACE=vms;K8S_POD_NAME=launcher", &a, &err),
	                 0);
	cni_identity(&a, "abc123", ns, name);
	assert_string_equal(ns, "vms");
	assert_string_equal(name, "launcher");
	assert_int_equal(cni_args_parse("IgnoreUnknown=1;K8S_POD_NAME=web", &a, &err), 0);
	cni_identity(&a, "abc123", ns, name);
	assert_string_equal(ns, "default");
	assert_string_equal(name, "web");
	assert_int_equal(cni_args_parse("IgnoreUnknown=1", &a, &err), 0);
	cni_identity(&a, "abc123", ns, name);
	assert_string_equal(ns, "default");
	assert_string_equal(name, "abc123");
	/* A namespace alone does not make a pod name. */
	assert_int_equal(cni_args_parse("K8S_POD_NAMESPACE=vms", &a, &err), 0);
	cni_identity(&a, "abc123", ns, name);
	assert_string_equal(ns, "default");
	assert_string_equal(name, "abc123");
}

static void test_container_id(void **state)
{
	struct herr err = {{0}};
	char long_id[CNI_CONTAINER_ID_MAX + 2];

	assert_int_equal(cni_container_id_check("0123abcdef", &err), 0);
	assert_int_equal(cni_container_id_check("ctr_1.a-b", &err), 0);
	assert_int_equal(cni_container_id_check("", &err), -EINVAL);
	assert_int_equal(cni_container_id_check(NULL, &err), -EINVAL);
	assert_int_equal(cni_container_id_check("-x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "CNI_CONTAINERID"));
	assert_int_equal(cni_container_id_check("../etc", &err), -EINVAL);
	assert_int_equal(cni_container_id_check("a/b", &err), -EINVAL);
	assert_int_equal(cni_container_id_check(".hidden", &err), -EINVAL);
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(cni_container_id_check(long_id, &err), -EINVAL);
	long_id[CNI_CONTAINER_ID_MAX] = '\0';
	assert_int_equal(cni_container_id_check(long_id, &err), 0);
}

static void test_versions(void **state)
{
	assert_true(cni_version_supported("0.3.0"));
	assert_true(cni_version_supported("0.3.1"));
	assert_true(cni_version_supported("0.4.0"));
	assert_true(cni_version_supported("1.0.0"));
	assert_false(cni_version_supported("0.2.0"));
	assert_false(cni_version_supported("1.1.0"));
}

static void test_args(void **state)
{
	struct cni_args a;
	struct herr err = {{0}};

	assert_int_equal(cni_args_parse("IgnoreUnknown=1;K8S_POD_NAMESPACE=kubevirt;"
	                                "K8S_POD_NAME=virt-launcher-vm1-abcde;"
	                                "K8S_POD_INFRA_CONTAINER_ID=0123;HANDOFF_TAP=1",
	                                &a, &err),
	                 0);
	assert_string_equal(a.pod_ns, "kubevirt");
	assert_string_equal(a.pod_name, "virt-launcher-vm1-abcde");
	assert_true(a.tap);

	assert_int_equal(cni_args_parse(NULL, &a, &err), 0);
	assert_string_equal(a.pod_ns, "");
	assert_false(a.tap);
	assert_int_equal(cni_args_parse("K8S_POD_NAME=x;HANDOFF_TAP=0", &a, &err), 0);
	assert_false(a.tap);

	assert_int_equal(cni_args_parse("K8S_POD_NAME", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not KEY=VALUE"));
	assert_int_equal(cni_args_parse("K8S_POD_NAME=", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "K8S_POD_NAME: must be 1 to 253"));
	assert_int_equal(cni_args_parse("K8S_POD_NAMESPACE=../etc", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "K8S_POD_NAMESPACE: must not contain '/'"));
}

static void test_ipam_result(void **state)
{
	static const char res[] =
	    "{\"cniVersion\": \"1.0.0\", \"ips\": [{\"address\": \"10.66.0.2/24\", \"gateway\": "
	    "\"10.66.0.1\"}, {\"address\": \"fd00::5/64\"}], \"dns\": {\"nameservers\": "
	    "[\"10.0.0.10\"]}}";
	struct cni_ipam_result r;
	struct herr err = {{0}};

	assert_int_equal(cni_ipam_result_parse(res, strlen(res), &r, &err), 0);
	assert_int_equal(r.nips, 2);
	assert_int_equal(r.ips[0].family, 4);
	assert_string_equal(r.ips[0].addr, "10.66.0.2");
	assert_int_equal(r.ips[0].prefix, 24);
	assert_string_equal(r.ips[0].gateway, "10.66.0.1");
	assert_int_equal(r.ips[1].family, 6);
	assert_string_equal(r.ips[1].addr, "fd00::5");
	assert_string_equal(r.ips[1].gateway, "");
	assert_non_null(json_object_get(r.dns, "nameservers"));
	assert_int_equal(r.nroutes, 0);
	cni_ipam_result_free(&r);

	static const char with_routes[] =
	    "{\"ips\": [{\"address\": \"10.66.0.2/24\"}], \"routes\": [{\"dst\": "
	    "\"10.200.0.0/16\", \"gw\": \"10.66.0.1\"}, {\"dst\": \"0.0.0.0/0\"}, {\"dst\": "
	    "\"fd00:200::/48\"}]}";
	assert_int_equal(cni_ipam_result_parse(with_routes, strlen(with_routes), &r, &err), 0);
	assert_int_equal(r.nroutes, 3);
	assert_string_equal(r.routes[0].dst, "10.200.0.0/16");
	assert_int_equal(r.routes[0].family, 4);
	assert_false(cni_route_is_default(&r.routes[0]));
	assert_true(cni_route_is_default(&r.routes[1]));
	assert_int_equal(r.routes[2].family, 6);
	cni_ipam_result_free(&r);
	static const char bad_route[] = "{\"ips\": [{\"address\": \"10.66.0.2/24\"}], "
	                                "\"routes\": [{\"dst\": \"10.200.0.0\"}]}";
	assert_int_equal(cni_ipam_result_parse(bad_route, strlen(bad_route), &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "routes[0].dst"));

	assert_int_equal(cni_ipam_result_parse("{\"ips\": []}", 11, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "ips: must be a non-empty array"));
	const char *bad = "{\"ips\": [{\"address\": \"10.66.0.300/24\"}]}";
	assert_int_equal(cni_ipam_result_parse(bad, strlen(bad), &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "ips[0].address"));
}

static void test_link_local_of_mac(void **state)
{
	char buf[64];

	assert_int_equal(cni_mac_link_local("ee:ee:ee:ee:ee:ee", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fe80::ecee:eeff:feee:eeee");
	assert_int_equal(cni_mac_link_local("02:00:00:00:00:01", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fe80::ff:fe00:1");
}

/* The ADD result (cni/result.c): our interfaces after a chained plugin's, IP
 * indices pointing at the pod's interface, "version" only before 1.0.0, the
 * tap with its MAC, IPAM routes via our gateway, DNS from prevResult first. */
static void test_result(void **state)
{
	struct cni_conf c;
	struct herr err;
	int code;
	struct cni_ipam_result ipam;
	struct cni_wired w = {.host_if = "ho0123456789ab",
	                      .host_mac = "ee:ee:ee:ee:ee:ee",
	                      .ctr_mac = "02:00:00:00:00:01",
	                      .tap = true,
	                      .tap_name = "tap0",
	                      .tap_mac = "02:00:00:00:00:02"};
	static const char res[] = "{\"ips\": [{\"address\": \"10.66.0.2/24\"}, {\"address\": "
	                          "\"fd66::2/64\"}], \"routes\": [{\"dst\": \"10.200.0.0/16\"}, "
	                          "{\"dst\": \"0.0.0.0/0\"}], \"dns\": {\"nameservers\": "
	                          "[\"10.0.0.10\"]}}";

	assert_int_equal(cni_ipam_result_parse(res, strlen(res), &ipam, &err), 0);
	assert_int_equal(
	    parse("{\"cniVersion\": \"0.4.0\", \"name\": \"n\", " IPAM "}", &c, &code, &err), 0);
	json_t *r = cni_result_build(&c, "eth0", "/run/netns/p", &ipam, &w);
	assert_string_equal(json_string_value(json_object_get(r, "cniVersion")), "0.4.0");
	json_t *ifs = json_object_get(r, "interfaces"), *ips = json_object_get(r, "ips");
	assert_int_equal(json_array_size(ifs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ifs, 2), "mac")),
	                    "02:00:00:00:00:02");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ips, 0), "interface")),
	                 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ips, 0), "version")),
	                    "4");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ips, 1), "gateway")),
	                    "fe80::ecee:eeff:feee:eeee");
	/* Our two defaults and IPAM's 10.200.0.0/16 via 169.254.1.1; IPAM's default not doubled. */
	json_t *routes = json_object_get(r, "routes");
	assert_int_equal(json_array_size(routes), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(routes, 2), "dst")),
	                    "10.200.0.0/16");
	assert_string_equal(json_string_value(json_object_get(json_array_get(routes, 2), "gw")),
	                    "169.254.1.1");
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(json_object_get(r, "dns"), "nameservers"), 0)),
	                    "10.0.0.10");
	json_decref(r);
	cni_conf_free(&c);

	/* 1.0.0, chained after a plugin that made net1 and gave DNS. */
	assert_int_equal(parse("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"prevResult\": "
	                       "{\"interfaces\": [{\"name\": \"net1\"}], \"ips\": [{\"address\": "
	                       "\"192.0.2.5/24\", \"interface\": 0}], \"dns\": {\"domain\": "
	                       "\"x\"}}, " IPAM "}",
	                       &c, &code, &err),
	                 0);
	w.tap = false;
	r = cni_result_build(&c, "eth0", "/run/netns/p", &ipam, &w);
	ifs = json_object_get(r, "interfaces");
	ips = json_object_get(r, "ips");
	assert_int_equal(json_array_size(ifs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ifs, 0), "name")),
	                    "net1");
	assert_int_equal(json_array_size(ips), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ips, 1), "interface")),
	                 2);
	assert_null(json_object_get(json_array_get(ips, 1), "version"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "dns"), "domain")),
	                    "x");
	json_decref(r);
	cni_conf_free(&c);
	cni_ipam_result_free(&ipam);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_gets_defaults),
	    cmocka_unit_test(test_full_config),
	    cmocka_unit_test(test_rejections_name_the_field),
	    cmocka_unit_test(test_error_details),
	    cmocka_unit_test(test_tap_options),
	    cmocka_unit_test(test_identity),
	    cmocka_unit_test(test_container_id),
	    cmocka_unit_test(test_result),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_ipam_result),
	    cmocka_unit_test(test_link_local_of_mac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
