/* state.h - what a restarted watcher needs to continue its migrations.
 *
 * The truth stays where it is wherever it can: the API server says each
 * endpoint's role and migration, the kernel's routes of handoff's protocol
 * (88) say which endpoints were elevated. What neither can say is kept in a
 * small node-local file (--state-file, default /run/handoff/state.json): per
 * endpoint not in Base, its FSM state, role, migration uid and, in TimeWait,
 * the convergence deadline as wall-clock time (CLOCK_REALTIME: the monotonic
 * clock does not survive a reboot, and after a reboot the file is ignored).
 *
 *   state_load()    at start-up: read the file (never fatal; a bad file or
 *                   entry is logged and ignored)
 *   state_settle()  once the initial objects are in: check each saved FSM
 *                   against the kernel, restore it into the engine, recover
 *                   elevated endpoints the file does not name from the
 *                   kernel, then settle the engine (engine.h)
 *   state_save()    after an iteration whose decisions changed an FSM:
 *                   the file is rewritten atomically (temporary file, fsync,
 *                   rename, fsync of the directory) */
#ifndef HANDOFF_WATCHER_STATE_H
#define HANDOFF_WATCHER_STATE_H

#include "watcher.h"

#define STATE_FILE_DEFAULT "/run/handoff/state.json"

void state_load(struct watcher *w);
void state_settle(struct watcher *w);
void state_save(struct watcher *w);
void state_free(struct watcher *w);

#endif
