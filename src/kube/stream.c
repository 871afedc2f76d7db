/* stream.c - splitting a watch stream (newline-delimited JSON) into lines as
 * bytes arrive, whatever the chunk boundaries.
 *
 * A line that is complete inside one chunk is passed straight from the
 * caller's data; only the tail of a chunk (a line still being received) is
 * copied into the buffer, which grows up to max_line. A trailing '\r' is
 * dropped (CRLF tolerance) and empty lines are skipped: neither carries an
 * event. Lines passed to the callback are not NUL-terminated. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"

struct line_splitter {
	size_t max_line;
	line_cb cb;
	void *arg;
	char *buf; /* the line received so far */
	size_t len, cap;
	bool skipping; /* inside a line that was too long: drop up to its newline */
};

struct line_splitter *line_splitter_new(size_t max_line, line_cb cb, void *arg)
{
	struct line_splitter *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max_line = max_line ? max_line : 1;
	s->cb = cb;
	s->arg = arg;
	return s;
}

void line_splitter_free(struct line_splitter *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}

static void emit(struct line_splitter *s, const char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	if (len)
		s->cb(s->arg, line, len);
}

/* Keep `len` more bytes of the current line; false when the line would
 * exceed max_line (the caller then drops it). */
static bool append(struct line_splitter *s, const char *data, size_t len)
{
	if (len > s->max_line - s->len)
		return false;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + len)
			cap *= 2;
		if (cap > s->max_line)
			cap = s->max_line;
		char *nb = realloc(s->buf, cap);
		if (!nb)
			return false;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return true;
}

/* The current line is over the limit: forget it, report it once, and drop
 * everything up to its newline. */
static void drop_line(struct line_splitter *s)
{
	s->len = 0;
	s->skipping = true;
	s->cb(s->arg, NULL, 0);
}

int line_splitter_feed(struct line_splitter *s, const char *data, size_t len)
{
	int rc = 0;

	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t part = nl ? (size_t)(nl - data) : len;

		if (s->skipping) {
			/* The rest of an over-long line: nothing to keep. */
		} else if (!nl) {
			if (!append(s, data, part)) {
				drop_line(s);
				rc = -E2BIG;
			}
		} else if (s->len == 0) {
			/* Whole line inside this chunk: no copy. The limit
			 * holds for it too, so that chunking changes nothing. */
			if (part > s->max_line) {
				s->cb(s->arg, NULL, 0);
				rc = -E2BIG;
			} else {
				emit(s, data, part);
			}
		} else if (append(s, data, part)) {
			emit(s, s->buf, s->len);
			s->len = 0;
		} else {
			drop_line(s);
			rc = -E2BIG;
		}
		if (!nl)
			break;
		s->skipping = false;
		s->len = 0;
		data = nl + 1;
		len -= part + 1;
	}
	return rc;
}
