/* fuzz_cni_config.c - handoff-cni's pure parsers on arbitrary bytes: the
 * network configuration a runtime passes on stdin, CNI_ARGS, and an IPAM
 * plugin's result.
 *
 * Beyond "no memory error", every input checks what the plugin relies on,
 * and aborts when it does not hold:
 * - a configuration is accepted (0) or refused with a negative errno, a CNI
 *   error code from the spec's list and a message naming a field or the
 *   document; an accepted one has a supported cniVersion, a unicast hostMAC,
 *   an absolute endpointDir, an MTU of 0 or 68..65535 and an ipam object
 *   whose type is a plain plugin name; a refused one owns no JSON;
 * - CNI_ARGS (the same bytes up to the first NUL) never yields a pod name or
 *   namespace containing '/' (they name the record file);
 * - an IPAM result is refused, or gives 1..8 addresses of family 4 or 6 with
 *   prefixes in range. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

static void check(int ok, const char *what, const uint8_t *data, size_t size)
{
	if (!ok) {
		fprintf(stderr, "fuzz_cni_config: %s, input: \"%.*s\"\n", what, (int)size,
		        (const char *)data);
		abort();
	}
}

#define CHECK(cond, what) check((cond), (what), data, size)

static int known_code(int c)
{
	return c == CNI_ERR_VERSION || c == CNI_ERR_UNSUPPORTED || c == CNI_ERR_DECODE ||
	       c == CNI_ERR_CONFIG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_conf conf;
	struct herr err = {{0}};
	int code = -1;
	int r = cni_conf_parse((const char *)data, size, &conf, &code, &err);

	CHECK(r == 0 || r < 0, "conf: return value");
	if (r == 0) {
		CHECK(code == 0, "conf: accepted with an error code");
		CHECK(cni_version_supported(conf.cni_version),
		      "conf: unsupported version accepted");
		CHECK(strlen(conf.host_mac) == 17, "conf: hostMAC");
		CHECK(conf.endpoint_dir[0] == '/', "conf: endpointDir not absolute");
		CHECK(conf.mtu == 0 || (conf.mtu >= 68 && conf.mtu <= 65535), "conf: mtu range");
		CHECK(json_is_object(conf.ipam), "conf: ipam not an object");
		CHECK(conf.ipam_type[0] && !strchr(conf.ipam_type, '/'), "conf: ipam.type");
		CHECK(!conf.prev_result || json_is_object(conf.prev_result), "conf: prevResult");
		CHECK(conf.name[0], "conf: accepted without a name");
		cni_conf_free(&conf);
	} else {
		CHECK(known_code(code), "conf: refused without a CNI error code");
		CHECK(err.msg[0] != '\0', "conf: refused without a message");
		CHECK(!conf.ipam && !conf.prev_result, "conf: refused but still owns JSON");
	}

	/* The same bytes as CNI_ARGS. */
	char *text = malloc(size + 1);
	struct cni_args args;
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&err, 0, sizeof(err));
	r = cni_args_parse(text, &args, &err);
	CHECK(r == 0 || r == -EINVAL, "args: return value");
	if (r == 0) {
		CHECK(!strchr(args.pod_ns, '/') && !strchr(args.pod_name, '/'),
		      "args: '/' in a pod name or namespace");
		CHECK(strlen(args.pod_ns) < sizeof(args.pod_ns), "args: namespace length");
	} else {
		CHECK(!strncmp(err.msg, "CNI_ARGS", 8), "args: message does not name CNI_ARGS");
	}
	free(text);

	/* The same bytes as an IPAM result. */
	struct cni_ipam_result res;
	memset(&err, 0, sizeof(err));
	r = cni_ipam_result_parse((const char *)data, size, &res, &err);
	CHECK(r == 0 || r == -EINVAL || r == -E2BIG, "ipam: return value");
	if (r == 0) {
		CHECK(res.nips >= 1 && res.nips <= CNI_MAX_IPS, "ipam: address count");
		for (int i = 0; i < res.nips; i++) {
			CHECK(res.ips[i].family == 4 || res.ips[i].family == 6, "ipam: family");
			CHECK(res.ips[i].prefix >= 0 &&
			          res.ips[i].prefix <= (res.ips[i].family == 4 ? 32 : 128),
			      "ipam: prefix");
		}
		CHECK(res.nroutes >= 0 && res.nroutes <= CNI_MAX_ROUTES, "ipam: route count");
		for (int i = 0; i < res.nroutes; i++)
			CHECK(res.routes[i].family == 4 || res.routes[i].family == 6,
			      "ipam: route family");
		cni_ipam_result_free(&res);
	} else {
		CHECK(!strncmp(err.msg, "IPAM result", 11), "ipam: message does not say IPAM");
	}
	return 0;
}
