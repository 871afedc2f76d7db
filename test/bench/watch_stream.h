/* watch_stream.h - the recorded watch stream of bench_watch_events
 * (watch_stream.c). */
#ifndef HANDOFF_BENCH_WATCH_STREAM_H
#define HANDOFF_BENCH_WATCH_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#define NODE "node-1" /* the node whose Pods the stream carries */

/* A uid-like string for (a, b), its first character `tag`. */
void uid_of(char out[40], const char *tag, unsigned a, unsigned b);
/* One Pod watch event line (with its newline) into buf; its length. `job`:
 * the migration uid of a target pod, or NULL; `running`: addresses set. */
int pod_event(char *buf, size_t cap, const char *type, unsigned vm, unsigned gen, const char *job,
              bool running, unsigned rv);
/* One LiveMigration watch event line for migration `id` of VM `vm`. */
int lm_event(char *buf, size_t cap, const char *type, unsigned vm, unsigned src_gen, unsigned id,
             unsigned rv);
/* Write `events` events about `pods` VMs into path; 0 or -1 (said why). */
int write_stream(const char *path, long events, unsigned pods);

#endif
