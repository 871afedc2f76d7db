/* test_bird_blame.c - from the line BIRD names in a refusal back to the BGP
 * resources it was rendered from (bird/blame.h): a BGPFilter's function, a
 * BGPPeer's protocol (and the filters it calls there), a mesh peer's Node,
 * a block's BlockAffinity or podCIDR Node, the template's Node and
 * BGPConfiguration; nothing for handoff's own fixed sections. */
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

#include "bird/blame.h"
#include "bird/render.h"
#include "util/yaml_json.h"

static const char RESOURCES[] =
    "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n1}\n"
    "spec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n"
    "kind: Node\napiVersion: v1\nmetadata: {name: n1}\nspec: {podCIDRs: ['10.244.1.0/24']}\n---\n"
    "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n2}\n"
    "spec: {bgp: {ipv4Address: 10.0.0.2/24}}\n---\n"
    "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata: {name: default}\n"
    "spec: {asNumber: 65000}\n---\n"
    "kind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata: {name: blk}\n"
    "spec: {node: n1, cidr: 10.10.0.0/26}\n---\n"
    "kind: BGPFilter\napiVersion: projectcalico.org/v3\nmetadata: {name: flt}\n"
    "spec: {exportV4: [{action: Accept, matchOperator: In, cidr: 10.9.0.0/16}]}\n---\n"
    "kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: tor}\n"
    "spec: {peerIP: 10.0.0.254, asNumber: 65001, filters: [flt]}\n";

struct fixture {
	struct bgp_resources set;
	char *text[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct yaml_docs docs = {0};
	struct herr err = {{0}};

	assert_non_null(f);
	assert_int_equal(yaml_parse(RESOURCES, strlen(RESOURCES), &docs, &err), 0);
	for (size_t i = 0; i < docs.n; i++)
		if (bgp_resources_add(&f->set, docs.v[i], &err) != 1)
			fail_msg("document %zu: %s", i + 1, err.msg);
	yaml_docs_free(&docs);
	if (bird_render_node(&f->set, "n1", f->text, &err) < 0)
		fail_msg("%s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bgp_resources_free(&f->set);
	free(f->text[0]);
	free(f->text[1]);
	free(f);
	return 0;
}

/* The 1-based number of the first line of text containing `needle`. */
static unsigned line_of(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle);
	unsigned n = 1;

	if (!hit)
		fail_msg("\"%s\" not in the rendered text:\n%s", needle, text);
	for (const char *p = text; p < hit; p++)
		n += *p == '\n';
	return n;
}

/* Blame the line containing `needle`; the names, joined by ", ", must be `want`. */
static void assert_blame(struct fixture *f, const char *needle, const char *want)
{
	char names[8][300], got[8 * 302] = "";
	size_t n =
	    bird_blame(&f->set, "n1", f->text[BGP_V4], line_of(f->text[BGP_V4], needle), names, 8);

	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? ", " : "",
		         names[i]);
	if (strcmp(got, want))
		fail_msg("line with \"%s\": blamed \"%s\", expected \"%s\"", needle, got, want);
}

static void test_filter_function(void **state)
{
	assert_blame(*state, "if ((net ~ 10.9.0.0/16)) then { accept; }", "BGPFilter flt");
}

static void test_peer_protocol_and_its_filter_call(void **state)
{
	assert_blame(*state, "  neighbor 10.0.0.254 as 65001;", "BGPPeer tor");
	assert_blame(*state, "    'bgp_flt_exportFilterV4'();", "BGPPeer tor, BGPFilter flt");
}

static void test_mesh_peer_is_the_other_node(void **state)
{
	assert_blame(*state, "  neighbor 10.0.0.2 as 65000;", "Node n2");
}

static void test_blocks(void **state)
{
	assert_blame(*state, "  route 10.10.0.0/26 blackhole;", "BlockAffinity blk");
	assert_blame(*state, "  route 10.244.1.0/24 blackhole;", "Node n1");
	assert_blame(*state, "  if ( net ~ 10.10.0.0/26 && krt_metric", "BlockAffinity blk");
}

static void test_template_and_header(void **state)
{
	assert_blame(*state, "  local as 65000;", "Node n1, BGPConfiguration default");
	assert_blame(*state, "router id 10.0.0.1;", "Node n1, BGPConfiguration default");
}

static void test_fixed_sections_blame_nothing(void **state)
{
	assert_blame(*state, "  learn;", "");
	assert_blame(*state, "function handoff_export_to_bgp_peers()", "");
}

static void test_error_line(void **state)
{
	(void)state;
	assert_int_equal(bird_error_line("BIRD (/run/bird.ctl) rejected `configure "
	                                 "\"/etc/bird/bird.cfg.rejected\"`: 8002 "
	                                 "/etc/bird/bird.cfg.rejected:12:5 syntax error",
	                                 "bird.cfg.rejected"),
	                 12);
	assert_int_equal(bird_error_line("8002 /x/bird6.cfg.rejected:7:1 x", "bird.cfg.rejected"),
	                 0);
	assert_int_equal(bird_error_line("timed out", "bird.cfg.rejected"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_filter_function, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peer_protocol_and_its_filter_call, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_mesh_peer_is_the_other_node, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_template_and_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fixed_sections_blame_nothing, setup, teardown),
	    cmocka_unit_test(test_error_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
