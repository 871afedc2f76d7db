/* bird_sessions.c - BIRD's and bird6's BGP sessions for GET /status, asked
 * on the loop and never waited for.
 *
 * A /status request used to ask BIRD `show protocols` with a blocking call:
 * a BIRD that greets and then says nothing (wedged, or busy reconfiguring a
 * large table) held the loop - and a GARP's route - for the call's timeout,
 * per daemon and per request. Now the loop asks each daemon every
 * BIRD_SESSIONS_REFRESH_MS over its control socket as one more fd
 * (bird_async_command, as bird_sync.c does for `configure`), keeps the last
 * outcome with the time it came, and /status shows that, "as of" then: a
 * request costs no BIRD round trip, and a BIRD that does not answer costs a
 * connection and a timer per refresh and is reported as not answering. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bird/control.h"
#include "bird_sessions.h"
#include "util/loop.h"

struct bird_sessions {
	struct loop *loop;
	const char *daemon, *sock;
	struct loop_timer *tick;
	struct bird_async *op; /* `show protocols` in flight */
	uint64_t asked_ms;     /* wall clock, when the first question was due */
	json_t *last;          /* {"as_of_ms", "sessions" | "error"}; NULL before an outcome */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The BGP rows of a `show protocols` reply: "name proto table state since
 * info"; text is modified. */
static json_t *parse(char *text)
{
	json_t *sessions = json_array();
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], proto[32], table[64], state[32], since[64];
		int off = 0;
		if (sscanf(line, "%127s %31s %63s %31s %63s %n", name, proto, table, state, since,
		           &off) < 5 ||
		    strcmp(proto, "BGP"))
			continue;
		json_array_append_new(sessions,
		                      json_pack("{s:s,s:s,s:s,s:s}", "name", name, "state", state,
		                                "since", since, "info", off ? line + off : ""));
	}
	return sessions;
}

/* Keep this outcome: the sessions of `reply`, or `error`. */
static void keep(struct bird_sessions *b, const struct bird_reply *reply, const char *error)
{
	json_t *o = json_pack("{s:I}", "as_of_ms", (json_int_t)wall_ms());

	if (error) {
		json_object_set_new(o, "error", json_string(error));
	} else {
		char *text = strdup(reply && reply->text ? reply->text : "");
		json_object_set_new(o, "sessions", text ? parse(text) : json_array());
		free(text);
	}
	json_decref(b->last);
	b->last = o;
}

static void on_reply(void *arg, int rc, const struct bird_reply *reply, const struct herr *err)
{
	struct bird_sessions *b = arg;

	b->op = NULL; /* released when this returns */
	keep(b, reply, rc < 0 ? err->msg : NULL);
}

static void on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct bird_sessions *b = arg;
	struct herr err = {{0}};

	(void)l;
	loop_timer_arm(t, BIRD_SESSIONS_REFRESH_MS);
	if (b->op)
		return; /* the last question is still within its time */
	if (bird_async_command(b->loop, b->sock, "show protocols", BIRD_SESSIONS_TIMEOUT_MS,
	                       on_reply, b, &b->op, &err) < 0)
		keep(b, NULL, err.msg); /* no BIRD listening, most likely: said at once */
}

struct bird_sessions *bird_sessions_new(struct loop *l, const char *daemon, const char *sock)
{
	struct bird_sessions *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->loop = l;
	b->daemon = daemon;
	b->sock = sock;
	if (!sock)
		return b;
	b->asked_ms = wall_ms();
	if (!(b->tick = loop_timer_new(l, on_tick, b)) || loop_timer_arm(b->tick, 0) < 0) {
		bird_sessions_free(b);
		return NULL;
	}
	return b;
}

void bird_sessions_free(struct bird_sessions *b)
{
	if (!b)
		return;
	if (b->op)
		bird_async_cancel(b->op);
	loop_timer_free(b->tick);
	json_decref(b->last);
	free(b);
}

void bird_sessions_refresh(struct bird_sessions *b)
{
	if (!b || !b->tick)
		return;
	if (b->op) {
		bird_async_cancel(b->op);
		b->op = NULL;
	}
	loop_timer_arm(b->tick, 0);
}

json_t *bird_sessions_json(const struct bird_sessions *b)
{
	json_t *d = json_pack("{s:s,s:s?}", "daemon", b->daemon, "socket", b->sock);
	char msg[160];

	if (!b->sock) {
		json_object_set_new(d, "error", json_string("no control socket configured"));
	} else if (b->last) {
		json_object_update(d, b->last);
	} else {
		/* The first question is still within its time. */
		snprintf(msg, sizeof(msg), "no answer to `show protocols` yet (asked %llu ms ago)",
		         (unsigned long long)(wall_ms() - b->asked_ms));
		json_object_set_new(d, "error", json_string(msg));
	}
	return d;
}
