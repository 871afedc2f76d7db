/* test_pod_digest.c - endpoint_pod_digest(): the Pod watch's digest is the
 * hash of the Pod as endpoint_pod_trim() would leave it, read in place, so a
 * relisted (trimmed) Pod and a watched (whole) one agree on whether it
 * changed; it changes with every field the endpoint is made of and with no
 * other. live_migration_digest(): likewise for what live_migration_decode()
 * reads of a LiveMigration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/model.h"
#include "core/digest.h"
#include "core/pods.h"
#include "util/json_hash.h"

static const char POD[] =
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"virt-launcher-vm-1-x\","
    "\"namespace\":\"tenant\",\"uid\":\"u-1\",\"resourceVersion\":\"7\","
    "\"labels\":{\"kubevirt.io\":\"virt-launcher\",\"vmi.kubevirt.io/id\":\"vm-1\"},"
    "\"annotations\":{\"handoff.dev/mac\":\"aa:bb:cc:dd:ee:01\",\"kubevirt.io/domain\":\"vm-1\"},"
    "\"managedFields\":[{\"manager\":\"kubelet\"}]},"
    "\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"compute\"}]},"
    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}],"
    "\"podIP\":\"10.0.0.1\",\"podIPs\":[{\"ip\":\"10.0.0.1\"},{\"ip\":\"fd00::1\"}]}}";

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return j;
}

/* What a list item's digest is: the trimmed tree's hash. */
static uint64_t trimmed_hash(const json_t *pod)
{
	json_t *copy = json_deep_copy(pod);
	endpoint_pod_trim(copy);
	uint64_t h = json_tree_hash(copy);
	json_decref(copy);
	return h;
}

static void assert_digest_is_trimmed_hash(const char *text)
{
	json_t *p = load(text);
	uint64_t d = endpoint_pod_digest(p);

	if (d != trimmed_hash(p))
		fail_msg("digest differs from the trimmed tree's hash for %s", text);
	/* And a trimmed Pod digests the same as the whole one. */
	endpoint_pod_trim(p);
	assert_true(endpoint_pod_digest(p) == d);
	json_decref(p);
}

static void digest_equals_hash_of_trimmed_pod(void **state)
{
	assert_digest_is_trimmed_hash(POD);
	/* podIP counts only when podIPs is empty or absent. */
	assert_digest_is_trimmed_hash("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},"
	                              "\"status\":{\"podIP\":\"10.0.0.2\",\"podIPs\":[]}}");
	assert_digest_is_trimmed_hash("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},"
	                              "\"status\":{\"podIP\":\"10.0.0.2\"}}");
	/* Annotations without the MAC are dropped whole. */
	assert_digest_is_trimmed_hash(
	    "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"y\"}}}");
	/* Members of the wrong type are kept as they are. */
	assert_digest_is_trimmed_hash(
	    "{\"kind\":1,\"metadata\":[1],\"spec\":\"s\",\"status\":null}");
	assert_digest_is_trimmed_hash("{\"metadata\":{\"name\":\"a\",\"annotations\":[1],"
	                              "\"labels\":7},\"status\":{\"podIPs\":{}}}");
	assert_digest_is_trimmed_hash("[1,2]");
	assert_digest_is_trimmed_hash("\"pod\"");
	assert_digest_is_trimmed_hash("{}");
}

/* POD with `from` replaced by `to`. */
static uint64_t digest_with(const char *from, const char *to)
{
	char text[sizeof(POD) + 256];
	const char *at = strstr(POD, from);

	if (!at)
		fail_msg("%s not in the test Pod", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - POD), POD, to, at + strlen(from));
	json_t *p = load(text);
	uint64_t d = endpoint_pod_digest(p);
	json_decref(p);
	return d;
}

static void digest_follows_what_the_endpoint_is_made_of(void **state)
{
	uint64_t base = digest_with("\"7\"", "\"7\"");

	/* Not read by the decoder: no change. */
	assert_true(digest_with("\"resourceVersion\":\"7\"", "\"resourceVersion\":\"8\"") == base);
	assert_true(digest_with("{\"type\":\"Ready\"}", "{\"type\":\"Ready\",\"x\":1}") == base);
	assert_true(
	    digest_with("\"kubevirt.io/domain\":\"vm-1\"", "\"kubevirt.io/domain\":\"v\"") == base);
	assert_true(digest_with("\"manager\":\"kubelet\"", "\"manager\":\"other\"") == base);
	assert_true(digest_with("\"phase\":\"Running\"", "\"phase\":\"Failed\"") == base);
	assert_true(digest_with("\"podIP\":\"10.0.0.1\"", "\"podIP\":\"10.0.0.9\"") == base);
	/* Read by the decoder: a change. */
	assert_true(digest_with("\"vm-1\"}", "\"vm-2\"}") != base);
	assert_true(digest_with("\"node-1\"", "\"node-2\"") != base);
	assert_true(digest_with("ee:01", "ee:02") != base);
	assert_true(digest_with("{\"ip\":\"fd00::1\"}", "{\"ip\":\"fd00::2\"}") != base);
	assert_true(digest_with("\"u-1\"", "\"u-2\"") != base);
	assert_true(digest_with("\"namespace\":\"tenant\"", "\"namespace\":\"t2\"") != base);
	assert_true(digest_with("\"apiVersion\":\"v1\"", "\"apiVersion\":\"v2\"") != base);
}

static const char LM[] =
    "{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"LiveMigration\",\"metadata\":{"
    "\"name\":\"vm-1-migration-1\",\"namespace\":\"tenant\",\"uid\":\"m-1\","
    "\"resourceVersion\":\"7\",\"labels\":{\"a\":\"b\"}},\"spec\":{\"source\":{\"workload\":{"
    "\"orchestratorID\":\"k8s\",\"workloadID\":\"tenant/virt-launcher-vm-1-0\"}},"
    "\"target\":{\"selector\":\"vmi.kubevirt.io/id == 'vm-1'\"}},\"status\":{\"x\":1}}";

static uint64_t lm_digest_with(const char *from, const char *to)
{
	char text[sizeof(LM) + 256];
	const char *at = strstr(LM, from);

	if (!at)
		fail_msg("%s not in the test LiveMigration", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - LM), LM, to, at + strlen(from));
	json_t *p = load(text);
	uint64_t d = live_migration_digest(p);
	json_decref(p);
	return d;
}

static void lm_digest_follows_what_the_decoder_reads(void **state)
{
	uint64_t base = lm_digest_with("\"7\"", "\"7\"");
	json_t *lm = load(LM), *proj;

	/* The hash of the LiveMigration with only what the decoder reads. */
	proj =
	    json_pack("{s:O,s:O,s:{s:O,s:O,s:O},s:O}", "apiVersion",
	              json_object_get(lm, "apiVersion"), "kind", json_object_get(lm, "kind"),
	              "metadata", "name", json_object_get(json_object_get(lm, "metadata"), "name"),
	              "namespace", json_object_get(json_object_get(lm, "metadata"), "namespace"),
	              "uid", json_object_get(json_object_get(lm, "metadata"), "uid"), "spec",
	              json_object_get(lm, "spec"));
	assert_non_null(proj);
	assert_true(live_migration_digest(lm) == json_tree_hash(proj));
	assert_true(live_migration_digest(proj) == json_tree_hash(proj));
	json_decref(proj);
	json_decref(lm);
	/* Not read by the decoder: no change. */
	assert_true(lm_digest_with("\"resourceVersion\":\"7\"", "\"resourceVersion\":\"8\"") ==
	            base);
	assert_true(lm_digest_with("{\"a\":\"b\"}", "{\"a\":\"c\"}") == base);
	assert_true(lm_digest_with("{\"x\":1}", "{\"x\":2}") == base);
	/* Read by the decoder: a change. */
	assert_true(lm_digest_with("vm-1-0", "vm-1-1") != base);
	assert_true(lm_digest_with("'vm-1'", "'vm-2'") != base);
	assert_true(lm_digest_with("\"m-1\"", "\"m-2\"") != base);
	assert_true(lm_digest_with("\"namespace\":\"tenant\"", "\"namespace\":\"t\"") != base);
	assert_true(lm_digest_with("\"kind\":\"LiveMigration\"", "\"kind\":\"X\"") != base);
	/* A spec member the decoder refuses still changes the digest. */
	assert_true(lm_digest_with("\"target\":{", "\"bogus\":1,\"target\":{") != base);
	/* Not an object, or metadata that is not one: hashed whole. */
	json_t *odd = load("{\"kind\":\"LiveMigration\",\"metadata\":[1]}");
	assert_true(live_migration_digest(odd) == json_tree_hash(odd));
	json_decref(odd);
	odd = load("[1]");
	assert_true(live_migration_digest(odd) == json_tree_hash(odd));
	json_decref(odd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lm_digest_follows_what_the_decoder_reads),
	    cmocka_unit_test(digest_equals_hash_of_trimmed_pod),
	    cmocka_unit_test(digest_follows_what_the_endpoint_is_made_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
