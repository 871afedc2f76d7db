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
	fprintf(out, "usage: handoff-watcher render-bird -f FILE... --node NAME [-o DIR]\n"
	             "  -f, --file FILE   YAML resources (BGPConfiguration, BGPPeer, BGPFilter,\n"
	             "                    Node, BlockAffinity, Secret for BGP passwords); other\n"
	             "                    kinds are ignored\n"
	             "  -n, --node NAME   the node to render for\n"
	             "  -o, --output DIR  write DIR/bird.cfg and DIR/bird6.cfg, mode 0600 (they\n"
	             "                    may hold passwords) (default: stdout)\n");
}

/* An object defined twice (same kind and name; a v3 and a core/v1 Node of
 * one name are two views that merge) is reported: the later definition is
 * used, as the folder datastore does with the same files. `seen` maps
 * "<kind>/<name>" to where it was first defined. */
static void report_duplicate(json_t *seen, const char *file, size_t doc, const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *name =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	char key[600], where[600];
	const json_t *prev;

	if (!kind || !name)
		return;
	snprintf(key, sizeof(key), "%s%s/%s", kind,
	         !strcmp(kind, "Node") && av && !strcmp(av, "projectcalico.org/v3") ? "(v3)" : "",
	         name);
	snprintf(where, sizeof(where), "%s (document %zu)", file, doc + 1);
	if ((prev = json_object_get(seen, key))) {
		fprintf(stderr,
		        "render-bird: %s: %s %s is defined again (first in %s); the later "
		        "definition is used\n",
		        where, kind, name, json_string_value(prev));
		return;
	}
	json_object_set_new(seen, key, json_string(where));
}

/* Add one object (or the items of a List); invalid ones are reported and
 * skipped. Returns the number of invalid objects. */
static int add_object(struct bgp_resources *set, json_t *seen, const char *file, size_t doc,
                      json_t *obj)
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
		json_array_foreach(items, i, it) bad += add_object(set, seen, file, doc, it);
		return bad;
	}
	if (bgp_resources_add(set, obj, &err) < 0) {
		fprintf(stderr, "render-bird: %s (document %zu): %s; object skipped\n", file,
		        doc + 1, err.msg);
		return 1;
	}
	report_duplicate(seen, file, doc, obj);
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
	json_t *seen = json_object();
	struct herr err = {{0}};
	char *text[2] = {NULL, NULL};
	size_t nfiles = 0;
	int c, status = 1;

	if (!files || !seen) {
		free(files);
		json_decref(seen);
		return 1;
	}
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
			json_decref(seen);
			return 0;
		default:
			usage(stderr);
			free(files);
			json_decref(seen);
			return 2;
		}
	}
	/* `-f a.yaml b.yaml` (a shell glob after -f): the extra names are files too. */
	while (optind < argc)
		files[nfiles++] = argv[optind++];
	if (!nfiles || !node) {
		usage(stderr);
		free(files);
		json_decref(seen);
		return 2;
	}

	for (size_t i = 0; i < nfiles; i++) {
		struct yaml_docs docs = {0};
		if (yaml_parse_file(files[i], &docs, &err) < 0) {
			fprintf(stderr, "render-bird: %s\n", err.msg);
			goto out;
		}
		for (size_t d = 0; d < docs.n; d++)
			add_object(&set, seen, files[i], d, docs.v[d]);
		yaml_docs_free(&docs);
	}
	/* Two BGPPeers (or Nodes) on one neighbour: BIRD gets one session; say which. */
	for (size_t i = 0; i < set.npeers; i++)
		if (bgp_resources_peer_clash(&set, set.peers[i].name, &err) == 1)
			fprintf(stderr, "render-bird: %s\n", err.msg);
	for (size_t i = 0; i < set.nnodes; i++)
		if (bgp_resources_node_clash(&set, set.nodes[i].name, &err) == 1)
			fprintf(stderr, "render-bird: %s\n", err.msg);

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
	json_decref(seen);
	free(files);
	return status;
}
