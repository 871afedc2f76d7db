/* bird/snippet.h - filter code for operators who run their own BIRD (seed 000,
 * OpenStack-style hosts): complete `filter` definitions to paste into
 * bird.conf / bird6.conf. Pure text. */
#ifndef HANDOFF_BIRD_SNIPPET_H
#define HANDOFF_BIRD_SNIPPET_H

#include <stdbool.h>
#include <stdint.h>

#include "bird/model.h"
#include "util/err.h"

struct bird_snippet_opts {
	bool ebgp;                      /* false: iBGP (LOCAL_PREF carries priority) */
	struct bgp_community community; /* eBGP: marks elevated routes */
	uint32_t normal;                /* normal route priority (1024) */
	uint32_t elevated;              /* elevated route priority (512) */
	uint32_t workload_rt_proto;     /* kernel protocol of workload routes (88) */
};

/* Filters import_kernel, export_bgp, import_bgp and export_kernel, with a
 * comment saying where each goes. *text is malloc'ed. -EINVAL when a
 * priority is out of 1..2147483646 or elevated is not below normal. */
int bird_snippet(const struct bird_snippet_opts *o, char **text, struct herr *err);

#endif
