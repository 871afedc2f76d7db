/* fuzz_decode.c - every model decoder on arbitrary JSON text.
 *
 * Beyond "no memory error" (the sanitizers' job), every input checks what
 * callers rely on, and aborts when it does not hold:
 * - a decoder returns 0 (vmim: 0 or 1), -EINVAL or -ENOMEM, nothing else;
 * - a failure leaves the struct zeroed and a message that starts with the
 *   kind it was decoding ("LiveMigration ...: field: rule");
 * - a success yields the invariants model.h promises: non-NULL identity
 *   strings, no hostname for k8s, priorities in 1..2147483646, a pod key
 *   "<ns>/<name>", valid canonical addresses, a 15-character-or-shorter
 *   interface name;
 * - a VMIM that yields a LiveMigration yields a selector that parses and
 *   matches its own target pod's labels, and not a pod of another migration. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/model.h"
#include "core/selector.h"

static void check(int ok, const char *what, const uint8_t *data, size_t size)
{
	if (!ok) {
		fprintf(stderr, "fuzz_decode: %s, input: \"%.*s\"\n", what, (int)size,
		        (const char *)data);
		abort();
	}
}

#define CHECK(cond, what) check((cond), (what), data, size)

static int zeroed(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static int ident_ok(const struct wep_ident *id)
{
	if (!id->hostname || !id->orchestrator || !id->workload || !id->endpoint)
		return 0;
	return strcmp(id->orchestrator, "k8s") || !*id->hostname;
}

static void check_failure(int rc, const void *out, size_t n, const struct herr *err,
                          const char *kind, const uint8_t *data, size_t size)
{
	CHECK(rc == -EINVAL || rc == -ENOMEM, "error other than -EINVAL/-ENOMEM");
	CHECK(zeroed(out, n), "failed decode left the struct non-zero");
	CHECK(!strncmp(err->msg, kind, strlen(kind)), "message does not start with the kind");
	CHECK(strstr(err->msg, ": ") != NULL, "message names no field");
}

static void fuzz_live_migration(const json_t *j, const uint8_t *data, size_t size)
{
	struct live_migration lm;
	struct herr err = {{0}};
	int rc = live_migration_decode(j, &lm, &err);

	if (rc != 0) {
		check_failure(rc, &lm, sizeof(lm), &err, "LiveMigration", data, size);
		return;
	}
	CHECK(lm.ns && *lm.ns && lm.name && *lm.name && lm.uid, "metadata strings missing");
	CHECK(ident_ok(&lm.source) && ident_ok(&lm.target), "identity invariant broken");
	CHECK(!(lm.target_selector && lm.has_target), "both target forms set");
	CHECK(!lm.target_selector || *lm.target_selector, "empty selector kept");
	if (lm.target_selector) {
		struct selector *s = NULL;
		struct herr serr;
		CHECK(selector_parse(lm.target_selector, &s, &serr) == 0,
		      "accepted selector does not parse");
		selector_free(s);
	}
	live_migration_free(&lm);
	CHECK(zeroed(&lm, sizeof(lm)), "free left the struct non-zero");
}

static void fuzz_vmim(const json_t *j, const uint8_t *data, size_t size)
{
	struct live_migration lm;
	struct herr err = {{0}};
	int rc = vmim_to_live_migration(j, &lm, &err);

	if (rc < 0) {
		check_failure(rc, &lm, sizeof(lm), &err, "VirtualMachineInstanceMigration", data,
		              size);
		return;
	}
	if (rc == 0) {
		CHECK(zeroed(&lm, sizeof(lm)), "no LiveMigration but the struct is non-zero");
		return;
	}
	CHECK(rc == 1, "return other than 0, 1 or negative");
	CHECK(*lm.uid && lm.target_selector && !lm.has_target, "mapping invariant broken");
	CHECK(ident_ok(&lm.source), "identity invariant broken");

	/* The selector picks this migration's target pod, and not one that
	 * belongs to a different migration of the same VMI. */
	const char *vmi = json_string_value(json_object_get(json_object_get(j, "spec"), "vmiName"));
	struct labels mine = {0}, other = {0};
	struct selector *s = NULL;
	struct herr serr;
	CHECK(vmi != NULL, "LiveMigration without spec.vmiName");
	if (labels_set(&mine, "vmi.kubevirt.io/id", vmi) < 0 ||
	    labels_set(&mine, "kubevirt.io/migrationJobUID", lm.uid) < 0 ||
	    labels_set(&other, "vmi.kubevirt.io/id", vmi) < 0 ||
	    labels_set(&other, "kubevirt.io/migrationJobUID", "another-migration") < 0)
		abort();
	CHECK(selector_parse(lm.target_selector, &s, &serr) == 0, "VMIM selector does not parse");
	CHECK(selector_match(s, &mine), "VMIM selector misses its target pod");
	CHECK(strcmp(lm.uid, "another-migration") == 0 || !selector_match(s, &other),
	      "VMIM selector matches another migration's pod");
	selector_free(s);
	labels_free(&mine);
	labels_free(&other);
	live_migration_free(&lm);
}

static void fuzz_felix(const json_t *j, const uint8_t *data, size_t size)
{
	struct felix_config fc;
	struct herr err = {{0}};
	int rc = felix_config_decode(j, &fc, &err);

	if (rc != 0) {
		check_failure(rc, &fc, sizeof(fc), &err, "FelixConfiguration", data, size);
		return;
	}
	CHECK(fc.name && *fc.name, "no name");
	const uint32_t *prio[] = {&fc.ipv4_normal, &fc.ipv4_elevated, &fc.ipv6_normal,
	                          &fc.ipv6_elevated};
	for (int i = 0; i < 4; i++)
		if (fc.set & (1u << i))
			CHECK(*prio[i] >= ROUTE_PRIORITY_MIN && *prio[i] <= ROUTE_PRIORITY_MAX,
			      "priority out of range accepted");

	/* Resolution applies exactly what the object sets. */
	struct route_config rc_def, res;
	const struct felix_config *objs[] = {&fc};
	route_config_defaults(&rc_def);
	route_config_resolve(objs, 1, "n1", &res, NULL);
	if (!strcmp(fc.name, "default") || !strcmp(fc.name, "node.n1")) {
		CHECK(res.normal[AF_IDX_V4] ==
		          (fc.set & FC_IPV4_NORMAL ? fc.ipv4_normal : DEFAULT_NORMAL_PRIORITY),
		      "resolved IPv4 normal priority");
		CHECK(res.convergence_ms ==
		          (fc.set & FC_CONVERGENCE ? fc.convergence_ms : DEFAULT_CONVERGENCE_MS),
		      "resolved convergence time");
	} else {
		CHECK(!memcmp(&res, &rc_def, sizeof(res)), "unrelated object changed the result");
	}
	felix_config_free(&fc);
}

static void fuzz_pod(const json_t *j, const uint8_t *data, size_t size)
{
	struct endpoint ep;
	struct herr err = {{0}};
	char key[1024];
	int rc = endpoint_decode_pod(j, &ep, &err);

	if (rc != 0) {
		check_failure(rc, &ep, sizeof(ep), &err, "Pod", data, size);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", ep.ns, ep.name);
	CHECK(*ep.name && *ep.ns && ep.node, "metadata strings missing");
	CHECK(strlen(key) >= sizeof(key) - 1 || !strcmp(key, ep.key), "key is not ns/name");
	CHECK(!strcmp(ep.id.workload, ep.key) && !strcmp(ep.id.orchestrator, "k8s") &&
	          !strcmp(ep.id.endpoint, "eth0") && !*ep.id.hostname,
	      "identity is not {\"\", k8s, ns/name, eth0}");
	CHECK(strlen(ep.ifname) > 0 && strlen(ep.ifname) <= 15, "interface name length");
	CHECK(!*ep.mac || strlen(ep.mac) == 17, "MAC length");
	for (size_t i = 0; i < ep.naddrs; i++) {
		CHECK(addr_family(ep.addrs[i]) != 0, "invalid address accepted");
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(ep.addrs[i], ep.addrs[k]) != 0, "duplicate address");
	}
	struct endpoint copy;
	if (endpoint_copy(&copy, &ep) == 0) {
		CHECK(!strcmp(copy.key, ep.key) && labels_equal(&copy.labels, &ep.labels) &&
		          copy.naddrs == ep.naddrs,
		      "endpoint_copy differs");
		endpoint_free(&copy);
	}
	endpoint_free(&ep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

	if (!j)
		return -1; /* not JSON: nothing to decode */
	fuzz_live_migration(j, data, size);
	fuzz_vmim(j, data, size);
	fuzz_felix(j, data, size);
	fuzz_pod(j, data, size);
	json_decref(j);
	return 0;
}
