/* commands.h - handoff-watcher subcommands, one file each (cmd_<name>.c).
 * Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit status. */
#ifndef HANDOFF_WATCHER_COMMANDS_H
#define HANDOFF_WATCHER_COMMANDS_H

int cmd_run(int argc, char **argv);          /* the daemon */
int cmd_replay(int argc, char **argv);       /* replay a recorded event file */
int cmd_render_bird(int argc, char **argv);  /* render bird.cfg / bird6.cfg */
int cmd_bird_snippet(int argc, char **argv); /* filters for a hand-run BIRD */
int cmd_status(int argc, char **argv);       /* the running daemon's /status, as tables */

#endif
