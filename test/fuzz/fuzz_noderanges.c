/* fuzz_noderanges.c - the node-ranges file handoff-cni reads
 * (src/core/noderanges.c) and the substitution it drives, on arbitrary bytes.
 *
 * Beyond "no memory error", every input checks what the CNI relies on:
 * - the file is refused with a negative errno and a message, or gives a node
 *   name and at most NODE_RANGES_MAX ranges, each of family 4 or 6;
 * - an accepted file encodes to text that decodes to the same ranges;
 * - substituting it into a dual-stack ipam either fails (-ENOENT, the ipam
 *   unchanged) or leaves no placeholder and only ranges of the file. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/noderanges.h"

static void check(int ok, const char *what, const uint8_t *data, size_t size)
{
	if (!ok) {
		fprintf(stderr, "fuzz_noderanges: %s, input: \"%.*s\"\n", what, (int)size,
		        (const char *)data);
		abort();
	}
}

#define CHECK(cond, what) check((cond), (what), data, size)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_ranges r, back;
	struct herr err = {{0}};
	int rc = node_ranges_decode((const char *)data, size, &r, &err);

	if (rc < 0) {
		CHECK(err.msg[0] != '\0', "refused without a message");
		return 0;
	}
	CHECK(rc == 0 && r.node[0] && r.n <= NODE_RANGES_MAX, "accepted: node and count");
	for (size_t i = 0; i < r.n; i++)
		CHECK(r.v[i].family == 4 || r.v[i].family == 6, "accepted: family");

	char *text = node_ranges_encode(&r);
	CHECK(text != NULL, "encode");
	CHECK(node_ranges_decode(text, strlen(text), &back, &err) == 0 && back.n == r.n &&
	          !strcmp(back.node, r.node),
	      "round trip");
	for (size_t i = 0; i < r.n; i++)
		CHECK(!strcmp(back.v[i].cidr, r.v[i].cidr), "round trip: cidr");
	free(text);

	json_t *ipam = json_loads("{\"type\": \"host-local\", \"ranges\": [[{\"subnet\": "
	                          "\"usePodCidr\"}], [{\"subnet\": \"usePodCidrIPv6\"}]]}",
	                          0, NULL);
	json_t *before = json_deep_copy(ipam);
	rc = node_ranges_substitute(ipam, &r, &err);
	if (rc < 0) {
		CHECK(rc == -ENOENT && json_equal(ipam, before),
		      "failed substitution changed ipam");
	} else {
		CHECK(!node_ranges_wanted(ipam), "placeholder left");
		json_t *set, *range;
		size_t i, j, found = 0;
		json_array_foreach(json_object_get(ipam, "ranges"), i, set)
		{
			json_array_foreach(set, j, range)
			{
				const char *s = json_string_value(json_object_get(range, "subnet"));
				for (size_t k = 0; s && k < r.n; k++)
					found += !strcmp(s, r.v[k].cidr);
			}
		}
		CHECK(found == r.n, "every range substituted, and nothing else");
	}
	json_decref(before);
	json_decref(ipam);
	return 0;
}
