/* bird_sessions.h - the BGP sessions BIRD and bird6 report, kept by the loop
 * for GET /status (bird_sessions.c). */
#ifndef HANDOFF_WATCHER_BIRD_SESSIONS_H
#define HANDOFF_WATCHER_BIRD_SESSIONS_H

#include <stdint.h>

/* How often the loop asks each daemon, and how long an answer may take. */
#define BIRD_SESSIONS_REFRESH_MS 5000
#define BIRD_SESSIONS_TIMEOUT_MS 2000

struct loop;
struct json_t;
struct bird_sessions;

/* Ask `daemon` ("bird", "bird6") on control socket `sock` (NULL: none
 * configured, never asked) now and every BIRD_SESSIONS_REFRESH_MS. The
 * strings must outlive the object. NULL when out of memory. */
struct bird_sessions *bird_sessions_new(struct loop *l, const char *daemon, const char *sock);
/* Cancels a question in flight. */
void bird_sessions_free(struct bird_sessions *b);

/* Ask again now (BIRD has just been reconfigured: its sessions change);
 * a question in flight, asked before, is dropped. b may be NULL. */
void bird_sessions_refresh(struct bird_sessions *b);

/* The last answer, never waiting: {"daemon", "socket", "as_of_ms" (wall
 * clock, when it came), "sessions": [{name, state, since, info}]} or, when
 * there is no answer to show, the same with "error" (why) instead of
 * "sessions" ("as_of_ms" then says when that was found; none before the
 * first answer). */
struct json_t *bird_sessions_json(const struct bird_sessions *b);

#endif
