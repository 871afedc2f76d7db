/* nsutil.h - network namespaces for tests: create, enter, run commands, remove.
 * Names are made unique with the test's PID so parallel runs never collide. */
#ifndef HANDOFF_TEST_NSUTIL_H
#define HANDOFF_TEST_NSUTIL_H

#include <stdbool.h>

/* Run a shell command (printf-style); returns its exit status (or -1). */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, capturing up to `len`-1 bytes of stdout into buf. */
int sh_out(char *buf, int len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "<base>-<pid>" into out (at most 32 bytes). */
void ns_name(char out[32], const char *base);
/* ip netns add + lo up. 0 or -1. */
int ns_create(const char *name);
/* ip netns del (ignores errors). */
void ns_delete(const char *name);
/* Move the calling thread into namespace `name`; returns an fd to come back
 * with ns_leave(), or -1. */
int ns_enter(const char *name);
void ns_leave(int saved_fd);

/* True when running as root (netns tests skip with a message otherwise). */
bool ns_have_root(void);

#endif
