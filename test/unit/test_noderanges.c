/* test_noderanges.c - a node's pod ranges as the watcher publishes them and
 * the CNI substitutes them (src/core/noderanges.c, cni/noderange.c): the file
 * round-trips, a bad Node range is named, "usePodCidr"/"usePodCidrIPv6" become
 * the node's ranges of that family with the range's other keys kept, a
 * missing family and a missing file mean "try again later", and DEL works
 * without the file. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/noderanges.h"
#include "noderange.h"

static char *const dual[] = {"10.65.1.0/24", "fd00:65:1::/64"};

static void test_roundtrip(void **state)
{
	struct node_ranges r, back;
	struct herr err = {{0}};
	char *text;

	assert_int_equal(node_ranges_set(&r, "node-a", dual, 2, &err), 0);
	text = node_ranges_encode(&r);
	assert_non_null(text);
	assert_string_equal(text, "{\"apiVersion\":\"handoff.dev/v1\",\"kind\":\"NodeRanges\","
	                          "\"node\":\"node-a\",\"podCIDRs\":[\"10.65.1.0/24\","
	                          "\"fd00:65:1::/64\"]}\n");
	assert_int_equal(node_ranges_decode(text, strlen(text), &back, &err), 0);
	assert_string_equal(back.node, "node-a");
	assert_int_equal(back.n, 2);
	assert_int_equal(back.v[0].family, 4);
	assert_int_equal(back.v[1].family, 6);
	assert_string_equal(back.v[1].cidr, "fd00:65:1::/64");
	free(text);
}

static void test_bad_input_named(void **state)
{
	struct node_ranges r;
	struct herr err = {{0}};
	char *bad[] = {"10.65.1.0/24", "10.65.2.0/33"};

	assert_int_equal(node_ranges_set(&r, "node-a", bad, 2, &err), -EINVAL);
	assert_string_equal(err.msg,
	                    "Node node-a: spec.podCIDRs[1]: \"10.65.2.0/33\" is not a CIDR");
	const char *wrong = "{\"apiVersion\":\"v1\",\"kind\":\"Node\"}";
	assert_int_equal(node_ranges_decode(wrong, strlen(wrong), &r, &err), -EINVAL);
	assert_string_equal(err.msg, "node ranges: not a handoff.dev/v1 NodeRanges document");
	const char *nolist = "{\"apiVersion\":\"handoff.dev/v1\",\"kind\":\"NodeRanges\","
	                     "\"node\":\"a\"}";
	assert_int_equal(node_ranges_decode(nolist, strlen(nolist), &r, &err), -EINVAL);
	assert_string_equal(err.msg, "node ranges: podCIDRs (an array): required");
	assert_int_equal(node_ranges_decode("{", 1, &r, &err), -EINVAL);
	/* A range listed twice counts once (host-local refuses overlaps). */
	char *twice[] = {"10.65.1.0/24", "fd00::/64", "10.65.1.0/24"};
	assert_int_equal(node_ranges_set(&r, "node-a", twice, 3, &err), 0);
	assert_int_equal(r.n, 2);
}

static json_t *ipam_of(const char *ranges)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "{\"type\": \"host-local\", \"ranges\": %s}", ranges);
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	return j;
}

static void assert_ranges(json_t *ipam, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	assert_non_null(w);
	if (!json_equal(json_object_get(ipam, "ranges"), w)) {
		char *got = json_dumps(json_object_get(ipam, "ranges"), JSON_COMPACT);
		fail_msg("ranges: %s, want %s", got, want);
	}
	json_decref(w);
}

static void test_substitute(void **state)
{
	struct node_ranges r;
	struct herr err = {{0}};
	char *two4[] = {"10.65.1.0/24", "10.66.1.0/24", "fd00:65:1::/64"};
	json_t *ipam;

	assert_int_equal(node_ranges_set(&r, "node-a", two4, 3, &err), 0);
	/* Each family's placeholder; a gateway kept; a literal range untouched. */
	ipam = ipam_of("[[{\"subnet\": \"usePodCidr\", \"gateway\": \"10.65.1.1\"}],"
	               " [{\"subnet\": \"usePodCidrIPv6\"}], [{\"subnet\": \"10.99.0.0/24\"}]]");
	assert_true(node_ranges_wanted(ipam));
	assert_int_equal(node_ranges_substitute(ipam, &r, &err), 0);
	assert_ranges(ipam,
	              "[[{\"subnet\": \"10.65.1.0/24\", \"gateway\": \"10.65.1.1\"},"
	              "  {\"subnet\": \"10.66.1.0/24\", \"gateway\": \"10.65.1.1\"}],"
	              " [{\"subnet\": \"fd00:65:1::/64\"}], [{\"subnet\": \"10.99.0.0/24\"}]]");
	assert_false(node_ranges_wanted(ipam));
	json_decref(ipam);

	/* No placeholder: not wanted. */
	ipam = ipam_of("[[{\"subnet\": \"10.65.0.0/24\"}]]");
	assert_false(node_ranges_wanted(ipam));
	json_decref(ipam);
}

static void test_missing_family(void **state)
{
	struct node_ranges r;
	struct herr err = {{0}};
	json_t *ipam;

	assert_int_equal(node_ranges_set(&r, "node-a", dual, 1, &err), 0); /* IPv4 only */
	/* A dual-stack conflist on an IPv4-only node: the IPv6 set is left out. */
	ipam = ipam_of("[[{\"subnet\": \"usePodCidr\"}], [{\"subnet\": \"usePodCidrIPv6\"}]]");
	assert_int_equal(node_ranges_substitute(ipam, &r, &err), 0);
	assert_ranges(ipam, "[[{\"subnet\": \"10.65.1.0/24\"}]]");
	json_decref(ipam);
	/* Nothing left: the node has no range of any family asked for. */
	ipam = ipam_of("[[{\"subnet\": \"usePodCidrIPv6\"}]]");
	assert_int_equal(node_ranges_substitute(ipam, &r, &err), -ENOENT);
	assert_string_equal(err.msg,
	                    "ipam.ranges[0][0].subnet: \"usePodCidrIPv6\": node node-a has "
	                    "no IPv6 spec.podCIDRs (yet)");
	/* Left as it was. */
	assert_ranges(ipam, "[[{\"subnet\": \"usePodCidrIPv6\"}]]");
	json_decref(ipam);

	ipam = ipam_of("[{\"subnet\": \"usePodCidr\"}]");
	assert_int_equal(node_ranges_substitute(ipam, &r, &err), -EINVAL);
	assert_string_equal(err.msg, "ipam.ranges[0]: must be an array of ranges");
	json_decref(ipam);
}

/* The CNI's hook: file present, absent (ADD: -EAGAIN; DEL: stand-in ranges). */
static void test_cni_apply(void **state)
{
	char path[] = "/tmp/handoff-noderanges-XXXXXX", conf[1024], *out = NULL;
	struct herr err = {{0}};
	struct node_ranges r;
	int fd = mkstemp(path);
	json_t *j;

	assert_true(fd >= 0);
	assert_int_equal(node_ranges_set(&r, "node-a", dual, 2, &err), 0);
	char *text = node_ranges_encode(&r);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(text);
	snprintf(conf, sizeof(conf),
	         "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"handoff-cni\", "
	         "\"ipam\": {\"type\": \"host-local\", \"nodeRangesFile\": \"%s\", "
	         "\"ranges\": [[{\"subnet\": \"usePodCidr\"}]]}}",
	         path);
	assert_int_equal(cni_noderange_apply("ADD", conf, &out, &err), 0);
	assert_non_null(out);
	j = json_loads(out, 0, NULL);
	assert_ranges(json_object_get(j, "ipam"), "[[{\"subnet\": \"10.65.1.0/24\"}]]");
	/* The file's name is handoff's, not host-local's. */
	assert_null(json_object_get(json_object_get(j, "ipam"), "nodeRangesFile"));
	assert_string_equal(json_string_value(json_object_get(j, "name")), "n");
	json_decref(j);
	free(out);

	unlink(path);
	assert_int_equal(cni_noderange_apply("ADD", conf, &out, &err), -EAGAIN);
	assert_null(out);
	assert_non_null(strstr(err.msg, "does not exist yet"));
	assert_int_equal(cni_noderange_apply("CHECK", conf, &out, &err), -EAGAIN);
	assert_int_equal(cni_noderange_apply("DEL", conf, &out, &err), 0);
	j = json_loads(out, 0, NULL);
	assert_ranges(json_object_get(j, "ipam"), "[[{\"subnet\": \"192.0.2.0/24\"}]]");
	json_decref(j);
	free(out);

	/* No placeholder: passes through untouched. */
	assert_int_equal(cni_noderange_apply("ADD",
	                                     "{\"ipam\": {\"type\": \"host-local\", \"ranges\": "
	                                     "[[{\"subnet\": \"10.1.0.0/24\"}]]}}",
	                                     &out, &err),
	                 0);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_bad_input_named),
	    cmocka_unit_test(test_substitute), cmocka_unit_test(test_missing_family),
	    cmocka_unit_test(test_cni_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
