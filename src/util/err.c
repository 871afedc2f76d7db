#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int herr_set(struct herr *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void herr_prefix(struct herr *err, const char *fmt, ...)
{
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation of an over-long message is acceptable: it is for humans. */
	size_t plen = strlen(prefix);
	memcpy(err->msg, prefix, plen);
	size_t room = sizeof(err->msg) - 1 - plen;
	size_t olen = strnlen(old, room);
	memcpy(err->msg + plen, old, olen);
	err->msg[plen + olen] = '\0';
}
