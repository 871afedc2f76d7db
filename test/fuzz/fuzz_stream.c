/* fuzz_stream.c - the watch stream's line splitter on arbitrary bytes, cut
 * into arbitrary chunks.
 *
 * Beyond "no memory error" (the sanitizers' job), every input checks what the
 * watch relies on, and aborts when it does not hold: the lines that come out
 * are exactly those of a plain reference split of the whole input (split at
 * '\n', one trailing '\r' removed, blank lines skipped, a line longer than
 * the limit replaced by one "dropped" report, an unterminated tail held back
 * unless it is already over the limit), and that holds for one chunk, for
 * single bytes, and for chunk sizes drawn from the input itself; -E2BIG is
 * returned by some call exactly when a line was dropped. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"

#define MAX_LINE 40

/* Lines as one string: each line followed by '\n', a dropped one as "\x01\n".
 * Input bytes are copied as they are (a line can hold NUL or '\r'). */
struct out {
	char *s;
	size_t len, cap;
	int dropped;
};

static void out_add(struct out *o, const char *line, size_t len)
{
	if (o->len + len + 2 > o->cap) {
		o->cap = (o->len + len + 2) * 2;
		if (!(o->s = realloc(o->s, o->cap)))
			abort();
	}
	memcpy(o->s + o->len, line, len);
	o->len += len;
	o->s[o->len++] = '\n';
}

static void collect(void *arg, const char *line, size_t len)
{
	struct out *o = arg;

	if (!line) {
		o->dropped++;
		out_add(o, "\x01", 1);
		return;
	}
	if (len == 0 || len > MAX_LINE || memchr(line, '\n', len)) {
		fprintf(stderr, "fuzz_stream: a line of %zu bytes breaks the contract\n", len);
		abort();
	}
	out_add(o, line, len);
}

static void reference(const uint8_t *data, size_t size, struct out *o)
{
	size_t start = 0;

	for (size_t i = 0; i < size; i++) {
		if (data[i] != '\n')
			continue;
		size_t len = i - start;
		const char *line = (const char *)data + start;
		if (len > MAX_LINE) {
			collect(o, NULL, 0);
		} else {
			if (len && line[len - 1] == '\r')
				len--;
			if (len)
				out_add(o, line, len);
		}
		start = i + 1;
	}
	if (size - start > MAX_LINE)
		collect(o, NULL, 0);
}

/* Feed in chunks: size 0 means "drawn from the input". */
static void split(const uint8_t *data, size_t size, size_t chunk, struct out *o, int *e2big)
{
	struct line_splitter *s = line_splitter_new(MAX_LINE, collect, o);
	uint32_t x = 2463534242u ^ (uint32_t)size;
	size_t off = 0;

	if (!s)
		abort();
	*e2big = 0;
	while (off < size) {
		size_t n = chunk;
		if (!n) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			n = 1 + (x + data[off]) % 67;
		}
		if (n > size - off)
			n = size - off;
		int rc = line_splitter_feed(s, (const char *)data + off, n);
		if (rc != 0 && rc != -E2BIG)
			abort();
		*e2big |= rc == -E2BIG;
		off += n;
	}
	line_splitter_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out want = {0};
	size_t chunks[] = {size ? size : 1, 1, 0, 3};

	reference(data, size, &want);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct out got = {0};
		int e2big;
		split(data, size, chunks[i], &got, &e2big);
		if (got.len != want.len || (got.len && memcmp(got.s, want.s, got.len)) ||
		    got.dropped != want.dropped || e2big != (want.dropped > 0)) {
			fprintf(stderr,
			        "fuzz_stream: chunking %zu gives %zu bytes of lines, %d dropped, "
			        "e2big %d; expected %zu bytes, %d dropped\n",
			        chunks[i], got.len, got.dropped, e2big, want.len, want.dropped);
			abort();
		}
		free(got.s);
	}
	free(want.s);
	return 0;
}
