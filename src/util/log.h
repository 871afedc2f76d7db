/* log.h - one line per event, key=value fields (logfmt).
 *
 *   hlog(HLOG_INFO, "Live migration state transition", "from=%s input=%s to=%s", a, b, c);
 * prints
 *   ts=2026-11-22T02:13:41.123Z level=info msg="Live migration state transition" from=Base ...
 *
 * The core never logs: it returns decisions, and the edges log them. */
#ifndef HANDOFF_UTIL_LOG_H
#define HANDOFF_UTIL_LOG_H

#include <stdio.h>

enum hlog_level { HLOG_DEBUG, HLOG_INFO, HLOG_WARN, HLOG_ERROR };

/* Lines below `level` are dropped. Default HLOG_INFO; HANDOFF_LOG_LEVEL=debug|info|warn|error
 * in the environment is read by hlog_init(). */
void hlog_set_level(enum hlog_level level);
/* "debug", "info", "warn", "error" -> level; -1 for anything else. */
int hlog_parse_level(const char *name);
void hlog_init(void);
/* Where lines go; default stderr. */
void hlog_set_stream(FILE *f);
int hlog_enabled(enum hlog_level level);

/* `s` as a logfmt quoted value, quotes included: hlog(..., "error=%s", hlog_q(e.msg)).
 * Quotes and backslashes are escaped, newlines become \n, other control bytes '?'.
 * The result lives until the fourth next call on this thread; longer than about
 * 1 KiB and it ends in "...". */
const char *hlog_q(const char *s);

void hlog(enum hlog_level level, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Between hlog_hold() and hlog_release() this thread's lines are kept and
 * written together, whole lines only (when 32 KiB are held, at the release,
 * when the stream changes, at exit): the event loop holds for one iteration,
 * so an iteration that decides hundreds of things writes its log in one or a
 * few calls, milliseconds later. A crash loses what the iteration held. Holds
 * nest; the outermost release writes. */
void hlog_hold(void);
void hlog_release(void);
/* Write what is held now, holding on (before a fork, which would copy it). */
void hlog_flush(void);

#endif
