/* control.h - a client for BIRD 1.x's control socket (what birdc speaks).
 *
 * The protocol (BIRD's doc/reply_codes, measured on 1.6.8): on connect BIRD
 * sends a greeting "0001 BIRD 1.6.8 ready."; the client then writes one
 * command per line. Every reply line starts with a 4-digit code followed by
 * '-' (more lines follow) or ' ' (the last line of the reply); a line starting
 * with ' ' continues the previous code; a line starting with '+' is a
 * spontaneous printout. Codes 0xxx are success, 1xxx table rows, 2xxx table
 * headings, 8xxx run-time errors and 9xxx parse errors of the command.
 *
 *   0001 BIRD 1.6.8 ready.
 *   configure "/etc/bird/bird.cfg"
 *   0002-Reading configuration from /etc/bird/bird.cfg
 *   8002 /etc/bird/bird.cfg:3:26 syntax error
 *
 * Each call opens a connection, reads the greeting, sends one command and
 * reads its reply, within a bounded time (no call blocks longer than the
 * timeout given, BIRD_CONTROL_TIMEOUT_MS for the helpers). */
#ifndef HANDOFF_BIRD_CONTROL_H
#define HANDOFF_BIRD_CONTROL_H

#include <stddef.h>

#include "util/err.h"

#define BIRD_CONTROL_TIMEOUT_MS 5000

/* BIRD reply codes used here (BIRD 1.6 doc/reply_codes). */
enum {
	BIRD_CODE_OK = 0,
	BIRD_CODE_WELCOME = 1,
	BIRD_CODE_READING_CONFIG = 2,
	BIRD_CODE_RECONFIGURED = 3,
	BIRD_CODE_RECONFIG_INPROGRESS = 4,
	BIRD_CODE_RECONFIG_QUEUED = 5,
	BIRD_CODE_RECONFIG_IGNORED = 6, /* BIRD is shutting down */
	BIRD_CODE_STATUS = 13,
	BIRD_CODE_ACCESS_RESTRICTED = 16,
	BIRD_CODE_RECONFIG_UNQUEUED = 17, /* queued config replaced by this one */
	BIRD_CODE_CONFIG_OK = 20,         /* configure check */
	BIRD_CODE_CONFIG_ERROR = 8002,
};

/* A reply. `text` holds every line's text without its code, lines joined by
 * '\n' (no trailing newline), NUL-terminated; it is malloc'd and owned by the
 * reply: release it with bird_reply_free(). `code` is the final line's code,
 * or -1 when no reply was read. */
struct bird_reply {
	int code;
	char *text;
	size_t len;
};

void bird_reply_free(struct bird_reply *reply);

/* Send one command (no newline; at most 900 bytes) and read its reply.
 * Returns 0 when BIRD answered with a success code (0xxx, 1xxx, 2xxx);
 * -EINVAL when it answered with an error (8xxx, 9xxx: err holds BIRD's words,
 * which for configuration errors name the file, line and column); -ENOENT or
 * -ECONNREFUSED when no BIRD listens on sock_path; -ETIMEDOUT; -EPROTO when
 * the peer does not speak the protocol; other negative errnos for I/O errors.
 * `reply` (may be NULL) receives whatever reply was read, also on errors; the
 * caller frees it. */
int bird_control_command(const char *sock_path, const char *command, int timeout_ms,
                         struct bird_reply *reply, struct herr *err);

/* `configure "<cfg_path>"`: BIRD parses the file and, if it is valid, switches
 * to it; if not, the running configuration stays in force. Returns 0 for
 * 0003 Reconfigured, 0004 Reconfiguration in progress and 0005/0017 queued,
 * -EINVAL with BIRD's message for a bad file, -ECANCELED when BIRD is shutting
 * down, -EPERM for a restricted socket, otherwise as bird_control_command(). */
int bird_control_configure(const char *sock_path, const char *cfg_path, struct bird_reply *reply,
                           struct herr *err);

/* `configure check ["<cfg_path>"]`: parse without applying (cfg_path NULL:
 * BIRD's own file). 0 for 0020 Configuration OK, -EINVAL with the message. */
int bird_control_configure_check(const char *sock_path, const char *cfg_path,
                                 struct bird_reply *reply, struct herr *err);

/* `show status`: 0 for 0013 (reply->text then ends "Daemon is up and
 * running"). */
int bird_control_show_status(const char *sock_path, struct bird_reply *reply, struct herr *err);

/* ---- the same, driven by the event loop (util/loop.h) ----------------------
 *
 * The daemon never waits on BIRD: a BIRD that greets and then says nothing
 * would otherwise hold the loop (GARPs, timers, /healthz) for the whole
 * timeout. Here the socket is one more fd of the loop and the deadline one
 * more timer. */
struct loop;
struct bird_async;

/* Called exactly once per started command, from a loop callback (never from
 * inside bird_async_*()), with what bird_control_command() (or, for
 * bird_async_configure(), bird_control_configure()) would have returned.
 * reply and err are valid during the call only. The command is finished and
 * released when the callback returns; do not cancel it. */
typedef void (*bird_async_cb)(void *arg, int rc, const struct bird_reply *reply,
                              const struct herr *err);

/* Connect (at once: a Unix socket needs no wait) and start `command`.
 * Returns 0 with *out set, or a negative errno with err set and no callback
 * to come: -ENOENT/-ECONNREFUSED when no BIRD listens, -EAGAIN when its
 * backlog is full, as bird_control_command() otherwise. */
int bird_async_command(struct loop *l, const char *sock_path, const char *command, int timeout_ms,
                       bird_async_cb cb, void *arg, struct bird_async **out, struct herr *err);
int bird_async_configure(struct loop *l, const char *sock_path, const char *cfg_path,
                         int timeout_ms, bird_async_cb cb, void *arg, struct bird_async **out,
                         struct herr *err);
/* Abandon a command in flight: the socket is closed, no callback. */
void bird_async_cancel(struct bird_async *a);

#endif
