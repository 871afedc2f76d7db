#include "util/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum hlog_level log_level = HLOG_INFO;
static FILE *log_stream;

void hlog_set_level(enum hlog_level level)
{
	log_level = level;
}

void hlog_set_stream(FILE *f)
{
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

void hlog(enum hlog_level level, const char *msg, const char *fields_fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	FILE *out = log_stream ? log_stream : stderr;
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (!hlog_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "ts=%s.%03ldZ level=%s msg=\"%s\"", when, ts.tv_nsec / 1000000, names[level],
	        msg);
	if (fields_fmt && *fields_fmt) {
		fputc(' ', out);
		va_start(ap, fields_fmt);
		vfprintf(out, fields_fmt, ap);
		va_end(ap);
	}
	fputc('\n', out);
	fflush(out);
}
