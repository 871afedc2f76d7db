/* reload.h - put a rendered BIRD configuration in place and make BIRD use it.
 *
 * Invariant: the file `<dir>/<name>` (the one BIRD is started with, `-c`)
 * only ever holds a configuration that BIRD accepted, or one written while no
 * BIRD was running. A restart of BIRD therefore never meets a broken file.
 *
 * bird_reload() does, in order:
 *  1. If `<dir>/<name>` already holds exactly `text`: nothing (no write, no
 *     reconfigure).
 *  2. Write `text` to a temporary file in the same directory and fsync it.
 *  3. Ask BIRD over its control socket to `configure "<temporary file>"`.
 *     BIRD parses it; on success it switches to it, on an error it keeps its
 *     running configuration and names the file, line and column.
 *  4. Accepted: rename the temporary file over `<dir>/<name>` (atomic), fsync
 *     the directory, remove a stale `<name>.rejected`.
 *     Rejected: rename it to `<dir>/<name>.rejected` for the operator to read;
 *     the error message names that file (file:line:column), and `<name>` is
 *     left alone. The next call with the same text tries again.
 *     No BIRD listening (socket missing or refused): rename it over
 *     `<dir>/<name>`, which BIRD reads when it starts.
 *     Any other failure (timeout, I/O): remove it; `<name>` is unchanged, so
 *     the next call tries again.
 *
 * Blocking: at most BIRD_CONTROL_TIMEOUT_MS on the socket plus the file
 * writes; reconfiguration is not on the GARP-to-route path. */
#ifndef HANDOFF_BIRD_RELOAD_H
#define HANDOFF_BIRD_RELOAD_H

#include "util/err.h"

enum bird_reload_result {
	BIRD_RELOAD_UNCHANGED = 0, /* the file already held this text: nothing done */
	BIRD_RELOAD_APPLIED = 1,   /* BIRD accepted it; the file is in place */
	BIRD_RELOAD_WRITTEN = 2,   /* no BIRD running (or sock_path NULL): file written */
	BIRD_RELOAD_PREPARED = 3,  /* bird_reload_prepare(): the temporary file is written */
};

/* Returns an enum bird_reload_result (>= 0) or a negative errno with err set:
 * -EINVAL when BIRD rejected the text (err holds BIRD's message naming
 * `<dir>/<name>.rejected:LINE:COL`), otherwise as bird_control_command() or
 * the file system call that failed. sock_path NULL writes without telling
 * BIRD. name is a plain file name (no '/'). */
int bird_reload(const char *dir, const char *name, const char *text, const char *sock_path,
                struct herr *err);

/* bird_reload() in two halves, for a caller that asks BIRD without waiting
 * (bird_async_configure()): prepare does steps 1 and 2 and returns
 * BIRD_RELOAD_UNCHANGED, or BIRD_RELOAD_PREPARED with the temporary file's
 * path in tmp (PATH_MAX bytes); finish does step 4 given what `configure
 * "<tmp>"` returned (-ENOENT for "no BIRD to ask") and returns what
 * bird_reload() would have. Every prepared file must be finished (or
 * unlinked). */
int bird_reload_prepare(const char *dir, const char *name, const char *text, char *tmp,
                        struct herr *err);
int bird_reload_finish(const char *dir, const char *name, const char *tmp, int configure_rc,
                       struct herr *err);

/* Write `text` to `<dir>/<name>` atomically (temporary file in dir, fsync,
 * rename, fsync dir) unless it already holds exactly that. Returns 0 when
 * unchanged, 1 when written, or a negative errno. For render-bird -o and
 * other files nobody reloads. */
int bird_write_if_changed(const char *dir, const char *name, const char *text, struct herr *err);

#endif
