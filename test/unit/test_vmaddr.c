/* test_vmaddr.c - a KubeVirt VM's addresses (src/core/vmaddr.c, issue 11):
 * which pods are VM pods, the handle's owners across migrations, release
 * only when the VMI is gone, and the node range split between host-local and
 * VM addresses with no address given twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vmaddr.h"

static json_t *pod(const char *labels_json)
{
	json_t *labels = json_loads(labels_json, 0, NULL);
	assert_non_null(labels);
	return json_pack("{s:{s:s, s:s, s:o}}", "metadata", "namespace", "vms", "name",
	                 "virt-launcher-vm1-abcde", "labels", labels);
}

static void test_classify(void **state)
{
	struct vm_pod p;
	struct herr err = {{0}};
	json_t *o;

	/* A source pod: the id label wins over the (truncating) name label. */
	o = pod("{\"kubevirt.io\":\"virt-launcher\",\"vm.kubevirt.io/name\":\"short\","
	        "\"vmi.kubevirt.io/id\":\"my-vmi\"}");
	assert_int_equal(vm_pod_classify(o, &p, &err), 0);
	assert_true(p.is_vm);
	assert_false(p.target);
	assert_string_equal(p.vm, "my-vmi");
	json_decref(o);

	/* Older KubeVirt: only vm.kubevirt.io/name; a migration target. */
	o = pod("{\"kubevirt.io\":\"virt-launcher\",\"vm.kubevirt.io/name\":\"vm1\","
	        "\"kubevirt.io/migrationJobUID\":\"uid-1\"}");
	assert_int_equal(vm_pod_classify(o, &p, &err), 0);
	assert_true(p.is_vm && p.target);
	assert_string_equal(p.vm, "vm1");
	assert_string_equal(p.migration_uid, "uid-1");
	json_decref(o);

	/* Not VM pods: other kubevirt.io value, or no VM name label. */
	o = pod("{\"kubevirt.io\":\"virt-handler\",\"vm.kubevirt.io/name\":\"vm1\"}");
	assert_int_equal(vm_pod_classify(o, &p, &err), 0);
	assert_false(p.is_vm);
	json_decref(o);
	o = pod("{\"kubevirt.io\":\"virt-launcher\"}");
	assert_int_equal(vm_pod_classify(o, &p, &err), 0);
	assert_false(p.is_vm);
	json_decref(o);

	/* An empty VM name is an error naming the pod and the label. */
	o = pod("{\"kubevirt.io\":\"virt-launcher\",\"vmi.kubevirt.io/id\":\"\"}");
	assert_int_equal(vm_pod_classify(o, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "vms/virt-launcher-vm1-abcde"));
	assert_non_null(strstr(err.msg, "vmi.kubevirt.io/id"));
	json_decref(o);
}

static void test_handle_name(void **state)
{
	char name[VMADDR_NAME_MAX + 1], name2[VMADDR_NAME_MAX + 1], vm[300];

	assert_int_equal(vm_handle_name("k8s-pod-network", "vms", "vm1", name, sizeof(name)), 0);
	assert_string_equal(name, "k8s-pod-network.vmi.vms.vm1");
	/* A CNI network name with characters an object name cannot hold. */
	assert_int_equal(vm_handle_name("My_Net", "vms", "vm1", name, sizeof(name)), 0);
	assert_string_equal(name, "my-net.vmi.vms.vm1");
	/* Long: 253 characters, and two VMs sharing a long prefix stay apart. */
	memset(vm, 'a', 250);
	vm[250] = '\0';
	assert_int_equal(vm_handle_name("k8s-pod-network", "vms", vm, name, sizeof(name)), 0);
	assert_int_equal(strlen(name), VMADDR_NAME_MAX);
	vm[249] = 'b';
	assert_int_equal(vm_handle_name("k8s-pod-network", "vms", vm, name2, sizeof(name2)), 0);
	assert_int_equal(strlen(name2), VMADDR_NAME_MAX);
	assert_string_not_equal(name, name2);
}

static struct vm_handle handle(void)
{
	struct vm_handle h = {0};
	snprintf(h.name, sizeof(h.name), "k8s-pod-network.vmi.vms.vm1");
	snprintf(h.ns, sizeof(h.ns), "vms");
	snprintf(h.vm, sizeof(h.vm), "vm1");
	snprintf(h.v4, sizeof(h.v4), "10.244.1.128");
	snprintf(h.v6, sizeof(h.v6), "fd00:10:244:1:8000::");
	return h;
}

/* A -> B -> A -> B with source and target overlapping, the source deleted
 * after each Live, one migration failing: the owners at every step, and the
 * addresses never releasable while the VMI lives. */
static void test_owners_across_migrations(void **state)
{
	struct vm_handle h = handle();
	bool changed;

	assert_true(vm_handle_add_owner(&h, "launcher-a1", false));
	assert_string_equal(h.active, "launcher-a1");
	assert_false(vm_handle_add_owner(&h, "launcher-a1", false)); /* ADD retried */

	/* A -> B: target ADD while the source runs. */
	assert_true(vm_handle_add_owner(&h, "launcher-b1", true));
	assert_string_equal(h.active, "launcher-a1");
	assert_string_equal(h.alternate, "launcher-b1");
	assert_int_equal(vm_handle_promote(&h, "launcher-b1", &changed), 0);
	assert_true(changed);
	assert_string_equal(h.active, "launcher-b1");
	assert_string_equal(h.alternate, "");
	/* Live -> TimeWait promotes again: a no-op. */
	assert_int_equal(vm_handle_promote(&h, "launcher-b1", &changed), 0);
	assert_false(changed);
	/* The source's DEL after the promotion changes nothing: it owns nothing. */
	assert_false(vm_handle_drop_owner(&h, "launcher-a1"));
	assert_false(vm_handle_releasable(&h, false));

	/* B -> A, a failed attempt first: the target pod is deleted unpromoted. */
	assert_true(vm_handle_add_owner(&h, "launcher-a2", true));
	assert_true(vm_handle_drop_owner(&h, "launcher-a2"));
	assert_string_equal(h.active, "launcher-b1");
	assert_int_equal(vm_handle_promote(&h, "launcher-a2", &changed), -ENOENT);
	/* The retry's target, promoted. */
	assert_true(vm_handle_add_owner(&h, "launcher-a3", true));
	assert_int_equal(vm_handle_promote(&h, "launcher-a2", &changed), -ESTALE);
	assert_int_equal(vm_handle_promote(&h, "launcher-a3", &changed), 0);
	assert_string_equal(h.active, "launcher-a3");
	assert_false(vm_handle_drop_owner(&h, "launcher-b1"));

	/* A -> B again; the source is deleted before the promotion (DEL
	 * overlapping Live): the target still holds the addresses. */
	assert_true(vm_handle_add_owner(&h, "launcher-b2", true));
	assert_true(vm_handle_drop_owner(&h, "launcher-a3"));
	assert_false(vm_handle_releasable(&h, true));
	assert_int_equal(vm_handle_promote(&h, "launcher-b2", &changed), 0);
	assert_string_equal(h.active, "launcher-b2");
	assert_string_equal(h.v4, "10.244.1.128");
	assert_string_equal(h.v6, "fd00:10:244:1:8000::");

	/* The VM stops: last pod gone, but the VMI (or its VM) still exists. */
	assert_true(vm_handle_drop_owner(&h, "launcher-b2"));
	assert_false(vm_handle_releasable(&h, false));
	assert_true(vm_handle_releasable(&h, true));
}

static void test_encode_decode(void **state)
{
	struct vm_handle h = handle(), back;
	struct herr err = {{0}};
	json_t *o;

	snprintf(h.active, sizeof(h.active), "launcher-a1");
	snprintf(h.node, sizeof(h.node), "node-a");
	snprintf(h.vmi, sizeof(h.vmi), "vm1");
	snprintf(h.rv, sizeof(h.rv), "42");
	o = vm_handle_encode(&h);
	assert_non_null(o);
	assert_int_equal(vm_handle_decode(o, &back, &err), 0);
	assert_memory_equal(&h, &back, sizeof(h));
	json_decref(o);

	/* A bad address names the object and the field. */
	o = json_pack("{s:{s:s}, s:{s:s, s:s, s:s}}", "metadata", "name", "n1", "spec", "namespace",
	              "vms", "vm", "vm1", "ipv4", "10.0.0.300");
	assert_int_equal(vm_handle_decode(o, &back, &err), -EINVAL);
	assert_string_equal(err.msg,
	                    "VMAddress n1: spec.ipv4: \"10.0.0.300\" is not an IPv4 address");
	json_decref(o);
	o = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "n1", "spec", "namespace", "vms");
	assert_int_equal(vm_handle_decode(o, &back, &err), -EINVAL);
	assert_string_equal(err.msg, "VMAddress n1: spec.vm: required");
	json_decref(o);
}

static void test_range_split(void **state)
{
	struct vm_range r;
	struct herr err = {{0}};
	char a[64], b[64];

	assert_int_equal(vm_range_parse("10.244.1.0/24", "podCIDR", &r, &err), 0);
	vm_range_pod_bounds(&r, a, b, sizeof(a));
	assert_string_equal(a, "10.244.1.1");
	assert_string_equal(b, "10.244.1.127");
	assert_true(vm_range_contains(&r, "10.244.1.128"));
	assert_true(vm_range_contains(&r, "10.244.1.254"));
	assert_false(vm_range_contains(&r, "10.244.1.255")); /* broadcast */
	assert_false(vm_range_contains(&r, "10.244.1.127")); /* host-local's */
	assert_false(vm_range_contains(&r, "10.244.2.130"));

	/* A network given with host bits is the network. */
	assert_int_equal(vm_range_parse("fd00:10:244:1::5/64", "podCIDR", &r, &err), 0);
	vm_range_pod_bounds(&r, a, b, sizeof(a));
	assert_string_equal(a, "fd00:10:244:1::1");
	assert_string_equal(b, "fd00:10:244:1:7fff:ffff:ffff:ffff");
	assert_int_equal(vm_range_pick(&r, NULL, 0, a, sizeof(a)), 0);
	assert_string_equal(a, "fd00:10:244:1:8000::");

	assert_int_equal(vm_range_parse("10.0.0.0/31", "Node n spec.podCIDRs[0]", &r, &err),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "Node n spec.podCIDRs[0]"));
	assert_int_equal(vm_range_parse("10.0.0.0/33", "x", &r, &err), -EINVAL);
	assert_int_equal(vm_range_parse("10.0.0.0", "x", &r, &err), -EINVAL);
}

/* Every address a handle holds is skipped, wherever the handle's VM runs;
 * a full VM half is ENOSPC, never an address given twice. */
static void test_pick_never_twice(void **state)
{
	struct vm_range r;
	struct herr err = {{0}};
	char *used[64], a[64];
	size_t n = 0;

	assert_int_equal(vm_range_parse("10.244.1.0/26", "podCIDR", &r, &err), 0);
	/* Handles elsewhere in the cluster, and a v6 one, in the used list. */
	used[n++] = strdup("10.244.2.160");
	used[n++] = strdup("fd00::1");
	for (int i = 0; i < 31; i++) {
		assert_int_equal(vm_range_pick(&r, (const char *const *)used, n, a, sizeof(a)), 0);
		assert_true(vm_range_contains(&r, a));
		for (size_t k = 0; k < n; k++)
			assert_string_not_equal(used[k], a);
		used[n++] = strdup(a);
	}
	/* .32 .. .62: 31 VM addresses in a /26 (.63 is the broadcast). */
	assert_string_equal(used[2], "10.244.1.32");
	assert_string_equal(used[n - 1], "10.244.1.62");
	assert_int_equal(vm_range_pick(&r, (const char *const *)used, n, a, sizeof(a)), -ENOSPC);
	/* A released address (its handle gone) is the next one given. */
	free(used[10]);
	used[10] = strdup("10.244.2.1");
	assert_int_equal(vm_range_pick(&r, (const char *const *)used, n, a, sizeof(a)), 0);
	assert_string_equal(a, "10.244.1.40");
	for (size_t k = 0; k < n; k++)
		free(used[k]);
}

/* host-local's configuration keeps it in the lower half. */
static void test_ipam_split(void **state)
{
	struct herr err = {{0}};
	json_t *ipam = json_loads(
	    "{\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"10.244.1.0/24\"}],"
	    " [{\"subnet\": \"fd00:10:244:1::/64\", \"rangeEnd\": \"fd00:10:244:1::ff\"}],"
	    " [{\"subnet\": \"usePodCidr\"}]]}",
	    0, NULL);

	assert_non_null(ipam);
	assert_int_equal(vm_ipam_split(ipam, &err), 0);
	json_t *r = json_object_get(ipam, "ranges");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_array_get(r, 0), 0), "rangeEnd")),
	    "10.244.1.127");
	/* A lower end of the operator's stays; a placeholder is left alone. */
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_array_get(r, 1), 0), "rangeEnd")),
	    "fd00:10:244:1::ff");
	assert_null(json_object_get(json_array_get(json_array_get(r, 2), 0), "rangeEnd"));
	json_decref(ipam);

	/* An end in the VM half (the broadcast too) names the field. */
	ipam = json_loads("{\"ranges\": [[{\"subnet\": \"10.244.1.0/24\", \"rangeEnd\": "
	                  "\"10.244.1.255\"}]]}",
	                  0, NULL);
	assert_int_equal(vm_ipam_split(ipam, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "ipam.ranges[0][0].rangeEnd: 10.244.1.255"));
	json_decref(ipam);
	/* The legacy single-range form. */
	ipam = json_loads("{\"subnet\": \"10.9.0.0/16\"}", 0, NULL);
	assert_int_equal(vm_ipam_split(ipam, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ipam, "rangeEnd")), "10.9.127.255");
	json_decref(ipam);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_handle_name),
	    cmocka_unit_test(test_owners_across_migrations),
	    cmocka_unit_test(test_encode_decode),
	    cmocka_unit_test(test_range_split),
	    cmocka_unit_test(test_pick_never_twice),
	    cmocka_unit_test(test_ipam_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
