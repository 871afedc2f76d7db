/* handoff-watcher: the per-node daemon and its offline tools. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util/log.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
    /* One line per subcommand; keep sorted by name. */
    {"bird-snippet", cmd_bird_snippet,
     "bird-snippet --ibgp | --ebgp COMMUNITY [--normal N] [--elevated N]   BIRD filters for a "
     "hand-run BIRD"},
    {"render-bird", cmd_render_bird,
     "render-bird -f FILE... --node NAME [-o DIR]   render bird.cfg and bird6.cfg from YAML"},
    {"replay", cmd_replay,
     "replay [--node NAME] [--timeline] [-q] FILE   feed recorded events through the core"},
    {"run", cmd_run,
     "run [--node NAME] (--datastore dir:PATH | --kubeconfig PATH) ...   the node daemon"},
    {"status", cmd_status,
     "status [--http ADDR:PORT] [--json]   migrations, BIRD sessions and watches of the "
     "running daemon"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: handoff-watcher COMMAND [ARGS]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %s\n", c->usage);
}

int main(int argc, char **argv)
{
	hlog_init();
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[1]))
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "handoff-watcher: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
