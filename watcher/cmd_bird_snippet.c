/* handoff-watcher bird-snippet --ibgp | --ebgp COMMUNITY [--normal N] [--elevated N]
 *                              [--rt-proto N]
 *
 * Prints the BIRD 1.x filters (seed 000) that carry route priority across
 * BGP, for operators who write their own bird.conf. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird/render.h"
#include "bird/snippet.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: handoff-watcher bird-snippet --ibgp | --ebgp COMMUNITY [--normal N] "
	        "[--elevated N] [--rt-proto N]\n"
	        "  --ibgp            priority travels as LOCAL_PREF (one AS)\n"
	        "  --ebgp COMMUNITY  elevated routes carry COMMUNITY (aa:nn or aa:nn:mm)\n"
	        "  --normal N        normal route priority (kernel metric), default 1024\n"
	        "  --elevated N      elevated route priority, default 512\n"
	        "  --rt-proto N      kernel protocol number of workload routes, default %d\n",
	        BIRD_WORKLOAD_RT_PROTO);
}

/* A decimal in lo..hi, the whole argument. */
static int parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi,
                     uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi || *s == '-') {
		fprintf(stderr, "bird-snippet: %s: \"%s\" is not a number in %lu..%lu\n", opt, s,
		        lo, hi);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cmd_bird_snippet(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ibgp", no_argument, NULL, 'i'},
	    {"ebgp", required_argument, NULL, 'e'},
	    {"normal", required_argument, NULL, 'n'},
	    {"elevated", required_argument, NULL, 'l'},
	    {"rt-proto", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct bird_snippet_opts o = {
	    .normal = BGP_DEFAULT_PRIORITY,
	    .elevated = 512,
	    .workload_rt_proto = BIRD_WORKLOAD_RT_PROTO,
	};
	struct herr err = {{0}};
	int modes = 0, c;
	char *text;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			modes++;
			o.ebgp = false;
			break;
		case 'e':
			modes++;
			o.ebgp = true;
			if (bgp_community_parse(optarg, &o.community, &err) < 0) {
				fprintf(stderr, "bird-snippet: --ebgp: %s\n", err.msg);
				return 2;
			}
			break;
		case 'n':
			if (parse_num("--normal", optarg, 1, BGP_PRIORITY_MAX, &o.normal) < 0)
				return 2;
			break;
		case 'l':
			if (parse_num("--elevated", optarg, 1, BGP_PRIORITY_MAX, &o.elevated) < 0)
				return 2;
			break;
		case 'p':
			/* 2 (kernel) is ignored by BIRD, 12 (bird) is its own. */
			if (parse_num("--rt-proto", optarg, 3, 255, &o.workload_rt_proto) < 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (modes != 1 || optind != argc) {
		if (modes != 1)
			fprintf(stderr, "bird-snippet: give exactly one of --ibgp or --ebgp\n");
		usage(stderr);
		return 2;
	}
	if (bird_snippet(&o, &text, &err) < 0) {
		fprintf(stderr, "bird-snippet: %s\n", err.msg);
		return 2;
	}
	fputs(text, stdout);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}
