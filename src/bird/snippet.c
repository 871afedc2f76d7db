/* bird/snippet.c - seed 000's filters (iBGP: LOCAL_PREF; eBGP: a community),
 * made complete and adjusted to what bird-notes measured on BIRD 1.6:
 *  - eBGP routes arrive with LOCAL_PREF 100, so import_bgp first sets it to
 *    the normal value, then raises it for the elevated community;
 *  - the target's own elevated kernel route (preference 10) loses to the
 *    source's BGP route (100) unless import_kernel gives it preference 200. */
#include "bird/snippet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int check(const char *what, uint32_t v, struct herr *err)
{
	if (v < 1 || v > BGP_PRIORITY_MAX)
		return herr_set(err, -EINVAL, "%s priority %u is out of range (1..2147483646)",
		                what, v);
	return 0;
}

static void community(char *buf, size_t len, const struct bgp_community *c)
{
	if (c->nparts == 3)
		snprintf(buf, len, "(%u, %u, %u)", c->v[0], c->v[1], c->v[2]);
	else
		snprintf(buf, len, "(%u, %u)", c->v[0], c->v[1]);
}

int bird_snippet(const struct bird_snippet_opts *o, char **text, struct herr *err)
{
	uint32_t n = o->normal, e = o->elevated;
	uint32_t lp_normal = BGP_LOCAL_PREF_BASE - n, lp_elevated = BGP_LOCAL_PREF_BASE - e;
	char comm[48];
	const char *clist;
	FILE *f;
	size_t len;
	int rc;

	*text = NULL;
	if ((rc = check("normal", n, err)) < 0 || (rc = check("elevated", e, err)) < 0)
		return rc;
	if (e >= n)
		return herr_set(err, -EINVAL,
		                "elevated priority %u must be below normal priority %u (a lower "
		                "metric is preferred)",
		                e, n);
	if (o->ebgp && o->community.nparts != 2 && o->community.nparts != 3)
		return herr_set(err, -EINVAL, "eBGP needs a community (aa:nn or aa:nn:mm)");
	community(comm, sizeof(comm), &o->community);
	clist = o->community.nparts == 3 ? "bgp_large_community" : "bgp_community";

	f = open_memstream(text, &len);
	if (!f)
		return herr_set(err, -ENOMEM, "out of memory");

	fprintf(f,
	        "# Route priority across BGP for live migration (handoff, %s).\n"
	        "# Normal priority = kernel metric %u, elevated = %u; lower is preferred.\n"
	        "# Paste into bird.conf (and bird6.conf: the same text works for IPv6),\n"
	        "# then use the filters as the comments say.\n\n",
	        o->ebgp ? "eBGP" : "iBGP", n, e);

	fprintf(f,
	        "# protocol kernel { learn; import filter import_kernel; export filter "
	        "export_kernel; }\n"
	        "# Learns the workload routes (kernel protocol %u). An elevated one is the\n"
	        "# migration target's: preference 200 beats the source's BGP route (100),\n"
	        "# so this node announces it during the overlap.\n"
	        "filter import_kernel {\n"
	        "  if ( krt_source != %u ) then reject;\n"
	        "  if ( krt_metric < %u ) then preference = 200;\n"
	        "  accept;\n"
	        "}\n\n",
	        o->workload_rt_proto, o->workload_rt_proto, n);

	fprintf(f,
	        "# protocol bgp ... { export filter export_bgp; }\n"
	        "filter export_bgp {\n"
	        "  # Workload routes only (add your own export policy here).\n"
	        "  if ( source != RTS_INHERIT ) then reject;\n"
	        "  if ( krt_source != %u ) then reject;\n",
	        o->workload_rt_proto);
	fprintf(f, "  if (!defined(krt_metric)) then { krt_metric = %u; }\n", n);
	if (o->ebgp)
		fprintf(f,
		        "  if (krt_metric < %u) then {\n"
		        "    %s.add(%s);\n"
		        "  }\n",
		        n, clist, comm);
	else
		fprintf(f, "  bgp_local_pref = 2147483647 - krt_metric;\n");
	fprintf(f, "  accept;\n}\n\n");

	fprintf(f, "# protocol bgp ... { import filter import_bgp; }\n"
	           "filter import_bgp {\n");
	if (o->ebgp)
		fprintf(f,
		        "  # eBGP routes arrive with LOCAL_PREF 100: start at normal priority.\n"
		        "  bgp_local_pref = %u;\n"
		        "  if ((%s ~ %s)) then {\n"
		        "    bgp_local_pref = %u;\n"
		        "    preference = 200;\n"
		        "  }\n",
		        lp_normal, comm, clist, lp_elevated);
	else
		fprintf(f,
		        "  if (defined(bgp_local_pref)&&(bgp_local_pref > %u)) then\n"
		        "    preference = 200;\n",
		        lp_normal);
	fprintf(f, "  accept;\n}\n\n");

	fprintf(f,
	        "# protocol kernel { ... export filter export_kernel; }\n"
	        "# krt_metric set in a BGP import filter is dropped: set it here.\n"
	        "filter export_kernel {\n"
	        "  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {\n"
	        "    krt_metric = %u;\n",
	        n);
	if (o->ebgp)
		fprintf(f,
		        "    if ((%s ~ %s)) then {\n"
		        "      krt_metric = %u;\n"
		        "    }\n",
		        comm, clist, e);
	else
		fprintf(f, "    if (defined(bgp_local_pref)) then {\n"
		           "      krt_metric = 2147483647 - bgp_local_pref;\n"
		           "    }\n");
	fprintf(f,
	        "    if (krt_metric < %u) then {\n"
	        "      preference = 200;\n"
	        "    }\n"
	        "  }\n"
	        "  accept;\n"
	        "}\n",
	        n);

	if (fclose(f) != 0) {
		free(*text);
		*text = NULL;
		return herr_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}
