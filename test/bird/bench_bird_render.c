/* bench_bird_render - render time of bird.cfg against the size of the input.
 *
 *   bench_bird_render [PEERS FILTERS [RULES [RUNS]]]
 *
 * Without arguments: a series doubling from 250 peers / 50 filters up to
 * 4000 / 800, 20 rules per filter (each rule: cidr, community, priority and an
 * addCommunity operation, for import and export), every peer calling two
 * filters. Times resolution (bird_input_build) plus rendering of one family,
 * prints min / median / max per size and the time per peer, which stays flat
 * when growth is linear. Prints figures; never passes or fails on timing. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bird/model.h"
#include "bird/render.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void add(struct bgp_resources *set, json_t *o)
{
	struct herr err = {{0}};

	if (bgp_resources_add(set, o, &err) != 1) {
		fprintf(stderr, "bench_bird_render: %s\n", err.msg);
		exit(1);
	}
	json_decref(o);
}

static void build(struct bgp_resources *set, int npeers, int nfilters, int nrules)
{
	add(set, json_pack("{s:s,s:s,s:{s:s},s:{s:{s:s}}}", "kind", "Node", "apiVersion",
	                   "projectcalico.org/v3", "metadata", "name", "me", "spec", "bgp",
	                   "ipv4Address", "10.0.0.1/16"));
	for (int f = 0; f < nfilters; f++) {
		json_t *rules = json_array();
		char name[64];

		for (int r = 0; r < nrules; r++) {
			char cidr[64];
			snprintf(cidr, sizeof(cidr), "10.%d.%d.0/24", f % 250, r % 250);
			json_array_append_new(
			    rules, json_pack("{s:s,s:s,s:s,s:{s:[s]},s:i,s:[{s:{s:s}}]}", "action",
			                     "Accept", "matchOperator", "In", "cidr", cidr,
			                     "communities", "values", "65000:100", "priority", 512,
			                     "operations", "addCommunity", "value", "65000:200"));
		}
		snprintf(name, sizeof(name), "filter-%04d", f);
		add(set,
		    json_pack("{s:s,s:{s:s},s:{s:o,s:o}}", "kind", "BGPFilter", "metadata", "name",
		              name, "spec", "exportV4", json_deep_copy(rules), "importV4", rules));
	}
	for (int p = 0; p < npeers; p++) {
		char ip[32], name[32], f1[32], f2[32];
		snprintf(ip, sizeof(ip), "10.1.%d.%d", p / 250, p % 250 + 1);
		snprintf(name, sizeof(name), "peer-%05d", p);
		snprintf(f1, sizeof(f1), "filter-%04d", p % nfilters);
		snprintf(f2, sizeof(f2), "filter-%04d", (p + 1) % nfilters);
		add(set, json_pack("{s:s,s:{s:s},s:{s:s,s:i,s:[s,s]}}", "kind", "BGPPeer",
		                   "metadata", "name", name, "spec", "peerIP", ip, "asNumber",
		                   65000 + p % 2, "filters", f1, f2));
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void run(int npeers, int nfilters, int nrules, int runs)
{
	struct bgp_resources set = {0};
	double *t = calloc((size_t)runs, sizeof(*t));
	size_t bytes = 0;

	if (!t)
		exit(1);
	build(&set, npeers, nfilters, nrules);
	for (int i = 0; i < runs; i++) {
		struct bird_input in;
		struct herr err = {{0}};
		char *text;
		double t0 = now_ms();

		if (bird_input_build(&set, "me", &in, &err) < 0 ||
		    bird_render(&in, BGP_V4, &text, &err) < 0) {
			fprintf(stderr, "bench_bird_render: %s\n", err.msg);
			exit(1);
		}
		t[i] = now_ms() - t0;
		bytes = strlen(text);
		free(text);
		bird_input_free(&in);
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("peers=%d filters=%d rules=%d bytes=%zu min_ms=%.2f median_ms=%.2f max_ms=%.2f "
	       "us_per_peer=%.2f\n",
	       npeers, nfilters, nrules, bytes, t[0], t[runs / 2], t[runs - 1],
	       t[runs / 2] * 1000.0 / npeers);
	free(t);
	bgp_resources_free(&set);
}

int main(int argc, char **argv)
{
	if (argc >= 3) {
		int rules = argc >= 4 ? atoi(argv[3]) : 20;
		int runs = argc >= 5 ? atoi(argv[4]) : 20;
		if (atoi(argv[1]) < 1 || atoi(argv[2]) < 1 || rules < 1 || runs < 1) {
			fprintf(stderr,
			        "usage: bench_bird_render [PEERS FILTERS [RULES [RUNS]]]\n");
			return 2;
		}
		run(atoi(argv[1]), atoi(argv[2]), rules, runs);
		return 0;
	}
	for (int peers = 250; peers <= 4000; peers *= 2)
		run(peers, peers / 5, 20, 20);
	return 0;
}
