#include "util/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum hlog_level log_level = HLOG_INFO;
static FILE *log_stream;

static void held_flush(void);

void hlog_set_level(enum hlog_level level)
{
	log_level = level;
}

void hlog_set_stream(FILE *f)
{
	held_flush(); /* what was held goes where it was logged */
	log_stream = f;
}

int hlog_parse_level(const char *v)
{
	if (!strcasecmp(v, "debug"))
		return HLOG_DEBUG;
	if (!strcasecmp(v, "info"))
		return HLOG_INFO;
	if (!strcasecmp(v, "warn"))
		return HLOG_WARN;
	if (!strcasecmp(v, "error"))
		return HLOG_ERROR;
	return -1;
}

void hlog_init(void)
{
	const char *v = getenv("HANDOFF_LOG_LEVEL");
	int level = v ? hlog_parse_level(v) : -1;

	log_level = level < 0 ? HLOG_INFO : (enum hlog_level)level;
}

int hlog_enabled(enum hlog_level level)
{
	return level >= log_level;
}

/* Quoted values come from a small ring so that one hlog() call can quote several. */
#define QUOTE_RING 4
#define QUOTE_MAX  1024

const char *hlog_q(const char *s)
{
	static __thread char ring[QUOTE_RING][QUOTE_MAX];
	static __thread unsigned next;
	char *out = ring[next++ % QUOTE_RING];
	size_t n = 0;

	out[n++] = '"';
	for (; s && *s && n < QUOTE_MAX - 6; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			out[n++] = '?';
		} else {
			out[n++] = (char)c;
		}
	}
	if (s && *s) /* cut short: say so */
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

/* Lines held back while the thread's loop iteration runs (hlog_hold). One
 * iteration of the watcher can log hundreds of decisions; written one
 * syscall each they cost more than deciding them. The buffer only ever holds
 * whole lines, so a reader still never sees half of one. */
#define HELD_MAX 32768

static __thread struct {
	int depth;
	size_t len;
	char buf[HELD_MAX];
} held;

static void put(FILE *out, const char *s, size_t n)
{
	fwrite(s, 1, n, out);
	fflush(out);
}

static void held_flush(void)
{
	if (held.len)
		put(log_stream ? log_stream : stderr, held.buf, held.len);
	held.len = 0;
}

static void held_flush_at_exit(void)
{
	held_flush();
}

void hlog_hold(void)
{
	static bool registered; /* the loop's thread holds; it is the one that exits */

	if (!registered) {
		registered = true;
		atexit(held_flush_at_exit);
	}
	held.depth++;
}

void hlog_flush(void)
{
	held_flush();
}

void hlog_release(void)
{
	if (held.depth > 0 && --held.depth == 0)
		held_flush();
}

/* "2026-11-22T02:13:41", formatted once per second per thread. */
static const char *second_of(time_t sec)
{
	static __thread time_t cached = -1;
	static __thread char when[32];

	if (sec != cached) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		cached = sec;
	}
	return when;
}

void hlog(enum hlog_level level, const char *msg, const char *fields_fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	FILE *out = log_stream ? log_stream : stderr;
	struct timespec ts;
	char line[8192];
	size_t n;
	int r;
	va_list ap;

	if (!hlog_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The whole line is built first and written with one call: stderr is
	 * unbuffered, and a reader tailing the log must never see half a line. */
	r = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s msg=%s", second_of(ts.tv_sec),
	             ts.tv_nsec / 1000000, names[level], hlog_q(msg));
	n = r < 0 ? 0 : (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	if (fields_fmt && *fields_fmt && n + 1 < sizeof(line) - 1) {
		line[n++] = ' ';
		va_start(ap, fields_fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fields_fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	}
	line[n++] = '\n';
	if (!held.depth) {
		put(out, line, n);
		return;
	}
	if (held.len + n > sizeof(held.buf))
		held_flush();
	memcpy(held.buf + held.len, line, n);
	held.len += n;
}
