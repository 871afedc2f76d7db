/* crd_fields.h - every leaf field of the CRDs in crd/, with the type and
 * limits the decoder enforces, for test_crd_schema.c.
 *
 * To add a field: add it to the decoder's field table (src/core/model.h,
 * src/bird/model.h), to the CRD, and one line here. An entry says:
 * - path: where the field sits in the CRD schema ("[]" = the items of an
 *   array), and where the test puts a value in an object (`at`, with list
 *   indexes as numbers) built from `base`;
 * - the schema the CRD must carry: type, min/max (integers: minimum/maximum;
 *   strings: minLength/maxLength; arrays: minItems/maxItems), enum, pattern;
 * - values the decoder must accept (`good`) and refuse (`bad`), as a JSON
 *   list; integer bounds, enums and the wrong JSON type are tried on top.
 *   A string that matches `pattern` must be accepted, one that does not
 *   must be refused: the samples are checked against the pattern too.
 * Entries under a field the decoder lists as unsupported are checked against
 * the CRD only; the decoder must refuse that field by name. */
#ifndef HANDOFF_TEST_CRD_FIELDS_H
#define HANDOFF_TEST_CRD_FIELDS_H

#include <limits.h>

#define NOLIM LLONG_MIN

struct leaf {
	const char *kind;
	const char *path;
	const char *type;
	long long min, max;
	const char *enums; /* "A|B|C" */
	const char *pattern;
	const char *base; /* NULL: the kind's base object */
	const char *at;
	const char *good, *bad;
	const char *fill; /* printf format around filler: min/maxLength are tried */
};

/* Objects the decoders accept as they are. */
#define LM_BASE                                                                                    \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"LiveMigration\",\"metadata\":{"       \
	"\"name\":\"lm\",\"namespace\":\"ns\",\"uid\":\"u1\"},\"spec\":{\"source\":{\"workload\":" \
	"{\"orchestratorID\":\"k8s\",\"workloadID\":\"ns/vm\"}},\"target\":{\"selector\":"         \
	"\"a == 'b'\"}}}"
#define LM_WEP_BASE                                                                                \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"LiveMigration\",\"metadata\":{"       \
	"\"name\":\"lm\",\"namespace\":\"ns\",\"uid\":\"u1\"},\"spec\":{\"source\":{"              \
	"\"workloadEndpoint\":{}},\"target\":{\"workloadEndpoint\":{}}}}"
#define FELIX_BASE                                                                                 \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"FelixConfiguration\",\"metadata\":{"  \
	"\"name\":\"default\"},\"spec\":{}}"
#define CONFIG_BASE                                                                                \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPConfiguration\",\"metadata\":{"    \
	"\"name\":\"default\"},\"spec\":{}}"
#define PEER_BASE                                                                                  \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPPeer\",\"metadata\":{\"name\":"    \
	"\"p\"},\"spec\":{\"peerIP\":\"10.0.0.1\",\"asNumber\":65001}}"
#define PEER_FILTERS_BASE                                                                          \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPPeer\",\"metadata\":{\"name\":"    \
	"\"p\"},\"spec\":{\"peerIP\":\"10.0.0.1\",\"asNumber\":65001,\"filters\":[\"a\"]}}"
/* A password from a Secret key, complete (name and key), as Calico's CRD wants. */
#define CONFIG_PW_BASE                                                                             \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPConfiguration\",\"metadata\":{"    \
	"\"name\":\"default\"},\"spec\":{\"nodeMeshPassword\":{\"secretKeyRef\":{\"name\":"        \
	"\"bgp-secrets\",\"key\":\"mesh\"}}}}"
#define PEER_PW_BASE                                                                               \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPPeer\",\"metadata\":{\"name\":"    \
	"\"p\"},\"spec\":{\"peerIP\":\"10.0.0.1\",\"asNumber\":65001,\"password\":{"               \
	"\"secretKeyRef\":{\"name\":\"bgp-secrets\",\"key\":\"peer-a\"}}}}"
#define PEER_SEL_BASE                                                                              \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPPeer\",\"metadata\":{\"name\":"    \
	"\"p\"},\"spec\":{}}"
#define FILTER_BASE                                                                                \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPFilter\",\"metadata\":{\"name\":"  \
	"\"f\"},\"spec\":{}}"
/* A filter whose list `l` holds one rule. */
#define FILTER(l, rule)                                                                            \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"BGPFilter\",\"metadata\":{\"name\":"  \
	"\"f\"},\"spec\":{\"" l "\":[" rule "]}}"

#define DURATION_S      "^([0-9]+(ms|h|m|s))+$"
#define DURATION_S_GOOD "[\"30s\", \"1m30s\", \"1h\", \"2000ms\", \"90s\"]"
#define DURATION_S_BAD                                                                             \
	"[\"1us\", \"1µs\", \"1.5s\", \"s\", \"\", \"30\", \"1d\", \"-1s\", \"30 s\"]"
#define COMMUNITY      "^(0|[1-9][0-9]*):(0|[1-9][0-9]*)(:(0|[1-9][0-9]*))?$"
#define COMMUNITY_GOOD "[\"0:0\", \"65535:65535\", \"1:2:3\", \"4294967295:4294967295:4294967295\"]"
#define COMMUNITY_BAD  "[\"01:2\", \"1\", \"1:2:3:4\", \"a:b\", \"-1:2\", \"1 :2\", \"1:2:\"]"

/* The identifier fields of a LiveMigration, at `obj` ("spec.source.workload"). */
#define IDENT(obj, at, base)                                                                       \
	{"LiveMigration", obj ".hostname", "string", NOLIM, 253, NULL, NULL, base,                 \
	 at ".hostname",  "[\"node-a\"]",  NULL,     "%s"},                                        \
	    {"LiveMigration",      obj ".orchestratorID", "string", NOLIM, 64, NULL, NULL, base,   \
	     at ".orchestratorID", "[\"k8s\"]",           NULL,     "%s"},                         \
	{                                                                                          \
		"LiveMigration", obj ".workloadID", "string", NOLIM, 512, NULL, NULL, base,        \
		    at ".workloadID", "[\"ns/vm\"]", NULL, "%s"                                    \
	}
#define ENDPOINT_ID(obj, at, base)                                                                 \
	{                                                                                          \
		"LiveMigration", obj ".endpointID", "string", NOLIM, 256, NULL, NULL, base,        \
		    at ".endpointID", "[\"eth0\"]", NULL, "%s"                                     \
	}

/* Every field of one BGPFilter rule list `l`: the family's longest CIDR and
 * prefix length, a CIDR holding every prefix, one to pair with matchOperator,
 * and CIDR samples. */
#define RULES(l, maxcidr, maxplen, any, cidr, cidrgood, cidrbad)                                   \
	{"BGPFilter", "spec." l,   "array",   NOLIM,  NOLIM, NULL,                                 \
	 NULL,        FILTER_BASE, "spec." l, "[[]]", "[{}]"},                                     \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].action",                                                                \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     NOLIM,                                                                                \
	     "Accept|Reject",                                                                      \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\"}"),                                                 \
	     "spec." l ".0.action",                                                                \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].cidr",                                                                  \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     maxcidr,                                                                              \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\",\"matchOperator\":\"In\"}"),                        \
	     "spec." l ".0.cidr",                                                                  \
	     cidrgood,                                                                             \
	     cidrbad},                                                                             \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].matchOperator",                                                         \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     NOLIM,                                                                                \
	     "Equal|NotEqual|In|NotIn",                                                            \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\",\"cidr\":\"" cidr "\"}"),                           \
	     "spec." l ".0.matchOperator",                                                         \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].prefixLength.min",                                                      \
	     "integer",                                                                            \
	     0,                                                                                    \
	     maxplen,                                                                              \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\",\"cidr\":\"" any "\",\"matchOperator\":\"In\","     \
	               "\"prefixLength\":{}}"),                                                    \
	     "spec." l ".0.prefixLength.min",                                                      \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].prefixLength.max",                                                      \
	     "integer",                                                                            \
	     0,                                                                                    \
	     maxplen,                                                                              \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\",\"cidr\":\"" any "\",\"matchOperator\":\"In\","     \
	               "\"prefixLength\":{}}"),                                                    \
	     "spec." l ".0.prefixLength.max",                                                      \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].source",                                                                \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     NOLIM,                                                                                \
	     "RemotePeers",                                                                        \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\"}"),                                                 \
	     "spec." l ".0.source",                                                                \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].interface",                                                             \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     15,                                                                                   \
	     NULL,                                                                                 \
	     "^[a-zA-Z0-9_.*-]{1,15}$",                                                            \
	     FILTER(l, "{\"action\":\"Accept\"}"),                                                 \
	     "spec." l ".0.interface",                                                             \
	     "[\"eth0\", \"*\", \"cali*\", \"a.b_c-d\", \"abcdefghijklmno\"]",                     \
	     "[\"\", \"eth 0\", \"abcdefghijklmnop\", \"eth/0\"]"},                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].peerType",                                                              \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     NOLIM,                                                                                \
	     "eBGP|iBGP",                                                                          \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\"}"),                                                 \
	     "spec." l ".0.peerType",                                                              \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].communities.values",                                                    \
	     "array",                                                                              \
	     1,                                                                                    \
	     1,                                                                                    \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\",\"communities\":{}}"),                              \
	     "spec." l ".0.communities.values",                                                    \
	     "[[\"1:1\"]]",                                                                        \
	     "[[], [\"1:1\", \"2:2\"]]"},                                                          \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].communities.values[]",                                                  \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     32,                                                                                   \
	     NULL,                                                                                 \
	     COMMUNITY,                                                                            \
	     FILTER(l, "{\"action\":\"Accept\",\"communities\":{\"values\":[\"1:1\"]}}"),          \
	     "spec." l ".0.communities.values.0",                                                  \
	     COMMUNITY_GOOD,                                                                       \
	     COMMUNITY_BAD},                                                                       \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].asPathPrefix",                                                          \
	     "array",                                                                              \
	     NOLIM,                                                                                \
	     1024,                                                                                 \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\"}"),                                                 \
	     "spec." l ".0.asPathPrefix",                                                          \
	     "[[], [1, 2]]",                                                                       \
	     "[{}]"},                                                                              \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].asPathPrefix[]",                                                        \
	     "integer",                                                                            \
	     1,                                                                                    \
	     4294967295LL,                                                                         \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\",\"asPathPrefix\":[1]}"),                            \
	     "spec." l ".0.asPathPrefix.0",                                                        \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].priority",                                                              \
	     "integer",                                                                            \
	     1,                                                                                    \
	     2147483646,                                                                           \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\"}"),                                                 \
	     "spec." l ".0.priority",                                                              \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].operations",                                                            \
	     "array",                                                                              \
	     1,                                                                                    \
	     10,                                                                                   \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(l, "{\"action\":\"Accept\"}"),                                                 \
	     "spec." l ".0.operations",                                                            \
	     "[[{\"setPriority\":{\"value\":1}}]]",                                                \
	     "[[], {}]"},                                                                          \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].operations[].addCommunity.value",                                       \
	     "string",                                                                             \
	     NOLIM,                                                                                \
	     32,                                                                                   \
	     NULL,                                                                                 \
	     COMMUNITY,                                                                            \
	     FILTER(l, "{\"action\":\"Accept\",\"operations\":[{\"addCommunity\":{\"value\":\"1:"  \
	               "1\"}}]}"),                                                                 \
	     "spec." l ".0.operations.0.addCommunity.value",                                       \
	     COMMUNITY_GOOD,                                                                       \
	     COMMUNITY_BAD},                                                                       \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].operations[].prependASPath.prefix",                                     \
	     "array",                                                                              \
	     1,                                                                                    \
	     10,                                                                                   \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(                                                                               \
	         l,                                                                                \
	         "{\"action\":\"Accept\",\"operations\":[{\"prependASPath\":{\"prefix\":[1]}}]}"), \
	     "spec." l ".0.operations.0.prependASPath.prefix",                                     \
	     "[[1], [1,2,3,4,5,6,7,8,9,10]]",                                                      \
	     "[[], [1,2,3,4,5,6,7,8,9,10,11]]"},                                                   \
	    {"BGPFilter",                                                                          \
	     "spec." l "[].operations[].prependASPath.prefix[]",                                   \
	     "integer",                                                                            \
	     1,                                                                                    \
	     4294967295LL,                                                                         \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     FILTER(                                                                               \
	         l,                                                                                \
	         "{\"action\":\"Accept\",\"operations\":[{\"prependASPath\":{\"prefix\":[1]}}]}"), \
	     "spec." l ".0.operations.0.prependASPath.prefix.0",                                   \
	     NULL,                                                                                 \
	     NULL},                                                                                \
	{                                                                                          \
		"BGPFilter", "spec." l "[].operations[].setPriority.value", "integer", 1,          \
		    2147483646, NULL, NULL,                                                        \
		    FILTER(l, "{\"action\":\"Accept\",\"operations\":[{\"setPriority\":{"          \
		              "\"value\":1}}]}"),                                                  \
		    "spec." l ".0.operations.0.setPriority.value", NULL, NULL                      \
	}

#define V4_CIDR_GOOD "[\"10.0.0.0/8\", \"255.255.255.255/32\"]"
#define V4_CIDR_BAD  "[\"10.0.0.0/33\", \"fd00::/8\", \"10.0.0.0\"]"
#define V6_CIDR_GOOD "[\"fd00::/8\", \"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128\"]"
#define V6_CIDR_BAD  "[\"fd00::/129\", \"10.0.0.0/8\", \"fd00::\"]"

/* Most entries have no `fill`: it stays NULL. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct leaf leaves[] = {
    /* LiveMigration (src/core/decode.c) */
    IDENT("spec.source.workload", "spec.source.workload", NULL),
    IDENT("spec.source.workloadEndpoint", "spec.source.workloadEndpoint", LM_WEP_BASE),
    ENDPOINT_ID("spec.source.workloadEndpoint", "spec.source.workloadEndpoint", LM_WEP_BASE),
    IDENT("spec.target.workloadEndpoint", "spec.target.workloadEndpoint", LM_WEP_BASE),
    ENDPOINT_ID("spec.target.workloadEndpoint", "spec.target.workloadEndpoint", LM_WEP_BASE),
    {"LiveMigration", "spec.target.selector", "string", NOLIM, 1024, NULL, NULL, NULL,
     "spec.target.selector", "[\"a == 'b'\", \"has(x) && y in {'1','2'}\", \"\"]",
     "[\"a ==\", \"(\"]", "has(%s)"},

    /* FelixConfiguration (src/core/decode.c) */
    {"FelixConfiguration", "spec.ipv4NormalRoutePriority", "integer", 1, 2147483646, NULL, NULL,
     NULL, "spec.ipv4NormalRoutePriority", NULL, "[1.5]"},
    {"FelixConfiguration", "spec.ipv4ElevatedRoutePriority", "integer", 1, 2147483646, NULL, NULL,
     NULL, "spec.ipv4ElevatedRoutePriority", NULL, "[1.5]"},
    {"FelixConfiguration", "spec.ipv6NormalRoutePriority", "integer", 1, 2147483646, NULL, NULL,
     NULL, "spec.ipv6NormalRoutePriority", NULL, "[1.5]"},
    {"FelixConfiguration", "spec.ipv6ElevatedRoutePriority", "integer", 1, 2147483646, NULL, NULL,
     NULL, "spec.ipv6ElevatedRoutePriority", NULL, "[1.5]"},
    {"FelixConfiguration", "spec.liveMigrationRouteConvergenceTime", "string", NOLIM, NOLIM, NULL,
     "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ms|h|m|s))+)$", NULL,
     "spec.liveMigrationRouteConvergenceTime",
     "[\"30s\", \"0\", \"1m30s\", \"1.5s\", \"500ms\", \"2h\", \".5s\", \"1.s\"]",
     "[\"1us\", \"1µs\", \"10ns\", \"-1s\", \"\", \"30\", \"1d\", \"s\", \"30 s\", \"+1s\"]"},

    /* BGPConfiguration (src/bird/model_config.c) */
    {"BGPConfiguration", "spec.asNumber", "integer", 1, 4294967295LL, NULL, NULL, NULL,
     "spec.asNumber", NULL, NULL},
    {"BGPConfiguration", "spec.nodeToNodeMeshEnabled", "boolean", NOLIM, NOLIM, NULL, NULL, NULL,
     "spec.nodeToNodeMeshEnabled", NULL, NULL},
    {"BGPConfiguration", "spec.listenPort", "integer", 1, 65535, NULL, NULL, NULL,
     "spec.listenPort", NULL, NULL},
    {"BGPConfiguration", "spec.logSeverityScreen", "string", NOLIM, NOLIM,
     "Debug|Info|Warning|Error|Fatal", NULL, NULL, "spec.logSeverityScreen", NULL, NULL},
    {"BGPConfiguration", "spec.ipv4NormalRoutePriority", "integer", 1, 2147483646, NULL, NULL, NULL,
     "spec.ipv4NormalRoutePriority", NULL, NULL},
    {"BGPConfiguration", "spec.ipv6NormalRoutePriority", "integer", 1, 2147483646, NULL, NULL, NULL,
     "spec.ipv6NormalRoutePriority", NULL, NULL},
    /* Calico's fields that a concurrent change implements (issue 12): until
     * the decoder supports them it must refuse them by name; once it lists
     * them in bgp_config_fields/bgp_peer_fields these entries check it. */
    {"BGPConfiguration", "spec.nodeMeshPassword.secretKeyRef.name", "string", NOLIM, NOLIM, NULL,
     NULL, CONFIG_PW_BASE, "spec.nodeMeshPassword.secretKeyRef.name", "[\"bgp-secrets\"]", NULL},
    {"BGPConfiguration", "spec.nodeMeshPassword.secretKeyRef.key", "string", NOLIM, NOLIM, NULL,
     NULL, CONFIG_PW_BASE, "spec.nodeMeshPassword.secretKeyRef.key", "[\"mesh\"]", NULL},
    {"BGPConfiguration", "spec.nodeMeshPassword.secretKeyRef.optional", "boolean", NOLIM, NOLIM,
     NULL, NULL, CONFIG_PW_BASE, "spec.nodeMeshPassword.secretKeyRef.optional", NULL, NULL},
    {"BGPConfiguration", "spec.nodeMeshMaxRestartTime", "string", NOLIM, NOLIM, NULL, DURATION_S,
     NULL, "spec.nodeMeshMaxRestartTime", DURATION_S_GOOD, DURATION_S_BAD},
    {"BGPConfiguration", "spec.bindMode", "string", NOLIM, NOLIM, "None|NodeIP", NULL, NULL,
     "spec.bindMode", NULL, NULL},

    /* BGPPeer (src/bird/model_peer.c) */
    {"BGPPeer", "spec.node", "string", NOLIM, NOLIM, NULL, NULL, NULL, "spec.node",
     "[\"node-a\", \"\"]", NULL},
    {"BGPPeer", "spec.nodeSelector", "string", NOLIM, NOLIM, NULL, NULL, NULL, "spec.nodeSelector",
     "[\"rack == 'a'\", \"all()\", \"\"]", "[\"rack ==\"]"},
    {"BGPPeer", "spec.peerIP", "string", NOLIM, NOLIM, NULL, NULL, NULL, "spec.peerIP",
     "[\"10.0.0.2\", \"10.0.0.2:1790\", \"fd00::2\", \"[fd00::2]:1790\"]",
     "[\"10.0.0.256\", \"10.0.0.2:0\", \"node-b\"]"},
    {"BGPPeer", "spec.peerSelector", "string", NOLIM, NOLIM, NULL, NULL, PEER_SEL_BASE,
     "spec.peerSelector", "[\"rr == 'true'\", \"all()\"]", "[\"rr ==\"]"},
    {"BGPPeer", "spec.asNumber", "integer", 1, 4294967295LL, NULL, NULL, NULL, "spec.asNumber",
     NULL, NULL},
    {"BGPPeer", "spec.localASNumber", "integer", 1, 4294967295LL, NULL, NULL, NULL,
     "spec.localASNumber", NULL, NULL},
    {"BGPPeer", "spec.keepaliveTime", "string", NOLIM, NOLIM, NULL, DURATION_S, NULL,
     "spec.keepaliveTime", DURATION_S_GOOD, DURATION_S_BAD},
    {"BGPPeer", "spec.maxRestartTime", "string", NOLIM, NOLIM, NULL, DURATION_S, NULL,
     "spec.maxRestartTime", DURATION_S_GOOD, DURATION_S_BAD},
    {"BGPPeer", "spec.sourceAddress", "string", NOLIM, NOLIM, "UseNodeIP|None", NULL, NULL,
     "spec.sourceAddress", NULL, NULL},
    {"BGPPeer", "spec.nextHopMode", "string", NOLIM, NOLIM, "Auto|Self|Keep", NULL, NULL,
     "spec.nextHopMode", NULL, NULL},
    {"BGPPeer", "spec.keepOriginalNextHop", "boolean", NOLIM, NOLIM, NULL, NULL, NULL,
     "spec.keepOriginalNextHop", NULL, NULL},
    {"BGPPeer", "spec.numAllowedLocalASNumbers", "integer", 0, 10, NULL, NULL, NULL,
     "spec.numAllowedLocalASNumbers", NULL, NULL},
    {"BGPPeer", "spec.ttlSecurity", "integer", 0, 255, NULL, NULL, NULL, "spec.ttlSecurity", NULL,
     NULL},
    {"BGPPeer", "spec.filters", "array", NOLIM, NOLIM, NULL, NULL, NULL, "spec.filters",
     "[[], [\"a\", \"b\"]]", "[{}]"},
    {"BGPPeer", "spec.filters[]", "string", 1, NOLIM, NULL, NULL, PEER_FILTERS_BASE,
     "spec.filters.0", "[\"f-1\"]", NULL, "%s"},
    {"BGPPeer", "spec.password.secretKeyRef.name", "string", NOLIM, NOLIM, NULL, NULL, PEER_PW_BASE,
     "spec.password.secretKeyRef.name", "[\"bgp-secrets\"]", NULL},
    {"BGPPeer", "spec.password.secretKeyRef.key", "string", NOLIM, NOLIM, NULL, NULL, PEER_PW_BASE,
     "spec.password.secretKeyRef.key", "[\"peer-a\"]", NULL},
    {"BGPPeer", "spec.password.secretKeyRef.optional", "boolean", NOLIM, NOLIM, NULL, NULL,
     PEER_PW_BASE, "spec.password.secretKeyRef.optional", NULL, NULL},
    {"BGPPeer", "spec.reachableBy", "string", NOLIM, NOLIM, NULL, NULL, NULL, "spec.reachableBy",
     "[\"10.0.0.254\", \"\"]", "[\"gateway\", \"fd00::1\"]"},
    {"BGPPeer", "spec.reversePeering", "string", NOLIM, NOLIM, "Auto|Manual", NULL, NULL,
     "spec.reversePeering", NULL, NULL},

    /* BGPFilter (src/bird/model_filter.c) */
    RULES("exportV4", 18, 32, "0.0.0.0/0", "10.0.0.0/8", V4_CIDR_GOOD, V4_CIDR_BAD),
    RULES("importV4", 18, 32, "0.0.0.0/0", "10.0.0.0/8", V4_CIDR_GOOD, V4_CIDR_BAD),
    RULES("exportV6", 43, 128, "::/0", "fd00::/8", V6_CIDR_GOOD, V6_CIDR_BAD),
    RULES("importV6", 43, 128, "::/0", "fd00::/8", V6_CIDR_GOOD, V6_CIDR_BAD),
};
#pragma GCC diagnostic pop

#endif
