/* handoff-watcher render-bird -f FILE... --node NAME [-o DIR]
 *
 * Renders bird.cfg and bird6.cfg for one node from YAML resources
 * (multi-document files; `kind: List` documents are opened up). Without -o
 * both files go to stdout, each after a "# ==== <name> ====" line; with -o
 * they are written into DIR (created if missing) atomically, and only when
 * their text changed.
 *
 * Exit status: an invalid object is reported on stderr (file, object, field)
 * and left out; the rest still renders and the status is 0, as the watcher
 * would do. Status 1 when nothing can render: a file cannot be read or parsed,
 * the node is missing or has no address, or writing fails. Status 2 for bad
 * usage. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bird/model.h"
#include "bird/reload.h"
#include "bird/render.h"
#include "commands.h"
#include "util/yaml_json.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: handoff-watcher render-bird -f FILE... --node NAME [-o DIR]\n"
	        "  -f, --file FILE   YAML resources (BGPConfiguration, BGPPeer, BGPFilter,\n"
	        "                    Node, BlockAffinity, Secret for BGP passwords); other\n"
	        "                    kinds are ignored\n"
	        "  -n, --node NAME   the node to render for\n"
	        "  -o, --output DIR  write DIR/bird.cfg and DIR/bird6.cfg, mode 0600 (they\n"
	        "                    may hold passwords) (default: stdout)\n");
}

/* Add one object (or the items of a List); invalid ones are reported and
 * skipped. Returns the number of invalid objects. */
static int add_object(struct bgp_resources *set, const char *file, size_t doc, json_t *obj)
{
	const json_t *kind = json_object_get(obj, "kind");
	const json_t *items = json_object_get(obj, "items");
	struct herr err = {{0}};
	int bad = 0;

	if (json_is_string(kind) && strlen(json_string_value(kind)) >= 4 &&
	    !strcmp(json_string_value(kind) + strlen(json_string_value(kind)) - 4, "List") &&
	    json_is_array(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) bad += add_object(set, file, doc, it);
		return bad;
	}
	if (bgp_resources_add(set, obj, &err) < 0) {
		fprintf(stderr, "render-bird: %s (document %zu): %s; object skipped\n", file,
		        doc + 1, err.msg);
		return 1;
	}
	return 0;
}

int cmd_render_bird(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"node", required_argument, NULL, 'n'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	const char *node = NULL, *outdir = NULL;
	struct bgp_resources set = {0};
	struct herr err = {{0}};
	char *text[2] = {NULL, NULL};
	size_t nfiles = 0;
	int c, status = 1;

	if (!files)
		return 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:n:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			files[nfiles++] = optarg;
			break;
		case 'n':
			node = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'h':
			usage(stdout);
			free(files);
			return 0;
		default:
			usage(stderr);
			free(files);
			return 2;
		}
	}
	/* `-f a.yaml b.yaml` (a shell glob after -f): the extra names are files too. */
	while (optind < argc)
		files[nfiles++] = argv[optind++];
	if (!nfiles || !node) {
		usage(stderr);
		free(files);
		return 2;
	}

	for (size_t i = 0; i < nfiles; i++) {
		struct yaml_docs docs = {0};
		if (yaml_parse_file(files[i], &docs, &err) < 0) {
			fprintf(stderr, "render-bird: %s\n", err.msg);
			goto out;
		}
		for (size_t d = 0; d < docs.n; d++)
			add_object(&set, files[i], d, docs.v[d]);
		yaml_docs_free(&docs);
	}

	if (bird_render_node(&set, node, text, &err) < 0) {
		fprintf(stderr, "render-bird: %s\n", err.msg);
		goto out;
	}

	static const char *const names[2] = {"bird.cfg", "bird6.cfg"};
	if (outdir && mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "render-bird: %s: %s\n", outdir, strerror(errno));
		goto out;
	}
	for (int f = 0; f < 2; f++) {
		if (!outdir) {
			printf("# ==== %s ====\n%s", names[f], text[f]);
			continue;
		}
		if (bird_write_if_changed(outdir, names[f], text[f], &err) < 0) {
			fprintf(stderr, "render-bird: %s\n", err.msg);
			goto out;
		}
	}
	if (!outdir && fflush(stdout) != 0) {
		perror("render-bird: stdout");
		goto out;
	}
	status = 0;
out:
	free(text[0]);
	free(text[1]);
	bgp_resources_free(&set);
	free(files);
	return status;
}
