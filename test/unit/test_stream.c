/* The watch stream's line splitter: lines come out whole and exactly once
 * whatever the chunk boundaries; CRLF and blank lines; over-long lines are
 * reported, dropped, and the stream goes on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"

/* What the splitter produced: lines joined by '|', an over-long line as "!". */
struct got {
	char out[8192];
	int dropped;
};

static void collect(void *arg, const char *line, size_t len)
{
	struct got *g = arg;
	size_t n = strlen(g->out);

	if (n)
		g->out[n++] = '|';
	if (!line) {
		g->dropped++;
		snprintf(g->out + n, sizeof(g->out) - n, "!");
		return;
	}
	assert_true(n + len < sizeof(g->out));
	assert_null(memchr(line, '\n', len));
	memcpy(g->out + n, line, len);
	g->out[n + len] = 0;
}

static const char events[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"1\"}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\r\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"8\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}}\n";

static const char events_lines[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"1\"}}}|"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}|"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"8\"}}}|"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}}";

static void feed_all(struct line_splitter *s, const char *data, size_t len)
{
	assert_int_equal(line_splitter_feed(s, data, len), 0);
}

static void whole_stream_in_one_chunk(void **state)
{
	struct got g = {0};
	struct line_splitter *s = line_splitter_new(1 << 20, collect, &g);

	feed_all(s, events, strlen(events));
	assert_string_equal(g.out, events_lines);
	line_splitter_free(s);
}

static void byte_by_byte(void **state)
{
	struct got g = {0};
	struct line_splitter *s = line_splitter_new(1 << 20, collect, &g);

	for (size_t i = 0; i < strlen(events); i++)
		feed_all(s, events + i, 1);
	assert_string_equal(g.out, events_lines);
	line_splitter_free(s);
}

/* Two chunks split at every position, and three chunks at every pair. */
static void every_split_position(void **state)
{
	size_t n = strlen(events);

	for (size_t i = 0; i <= n; i++) {
		struct got g = {0};
		struct line_splitter *s = line_splitter_new(1 << 20, collect, &g);
		feed_all(s, events, i);
		feed_all(s, events + i, n - i);
		assert_string_equal(g.out, events_lines);
		line_splitter_free(s);
	}
	for (size_t i = 0; i <= n; i += 3)
		for (size_t j = i; j <= n; j++) {
			struct got g = {0};
			struct line_splitter *s = line_splitter_new(1 << 20, collect, &g);
			feed_all(s, events, i);
			feed_all(s, events + i, j - i);
			feed_all(s, events + j, n - j);
			assert_string_equal(g.out, events_lines);
			line_splitter_free(s);
		}
}

static void crlf_and_blank_lines(void **state)
{
	struct got g = {0};
	struct line_splitter *s = line_splitter_new(64, collect, &g);

	feed_all(s, "one\r\n\r\n\ntwo\n\r", 13);
	assert_string_equal(g.out, "one|two");
	/* The "\r" above was the start of a line; this ends it: "\rx" stays. */
	feed_all(s, "x\r", 2);
	assert_string_equal(g.out, "one|two");
	feed_all(s, "\n", 1);
	assert_string_equal(g.out, "one|two|\rx");
	line_splitter_free(s);
}

static void partial_line_waits_for_its_newline(void **state)
{
	struct got g = {0};
	struct line_splitter *s = line_splitter_new(64, collect, &g);

	feed_all(s, "{\"type\":", 8);
	assert_string_equal(g.out, "");
	feed_all(s, "1}", 2);
	assert_string_equal(g.out, "");
	feed_all(s, "\n{", 2);
	assert_string_equal(g.out, "{\"type\":1}");
	line_splitter_free(s);
}

/* max_line 8: "12345678" fits, "123456789" does not; the line after an
 * over-long one comes out intact, for every way of chunking the input. */
static void overlong_line_dropped_then_recovery(void **state)
{
	static const char in[] = "12345678\n123456789abcdefghij\nafter\n";
	size_t n = strlen(in);

	for (size_t chunk = 1; chunk <= n; chunk++) {
		struct got g = {0};
		struct line_splitter *s = line_splitter_new(8, collect, &g);
		int e2big = 0;
		for (size_t off = 0; off < n; off += chunk) {
			size_t len = n - off < chunk ? n - off : chunk;
			int rc = line_splitter_feed(s, in + off, len);
			assert_true(rc == 0 || rc == -E2BIG);
			e2big += rc == -E2BIG;
		}
		assert_string_equal(g.out, "12345678|!|after");
		assert_int_equal(g.dropped, 1);
		assert_int_equal(e2big, 1);
		line_splitter_free(s);
	}
}

/* A line that ends in '\r' counts the '\r' against the limit too, whatever
 * the chunking: the verdict depends on the bytes, never on the chunks. */
static void limit_counts_bytes_before_newline(void **state)
{
	for (int whole = 0; whole < 2; whole++) {
		struct got g = {0};
		struct line_splitter *s = line_splitter_new(4, collect, &g);
		if (whole) {
			line_splitter_feed(s, "abcd\r\nok\n", 9);
		} else {
			line_splitter_feed(s, "abc", 3);
			line_splitter_feed(s, "d\r\nok\n", 6);
		}
		assert_string_equal(g.out, "!|ok");
		line_splitter_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(whole_stream_in_one_chunk),
	    cmocka_unit_test(byte_by_byte),
	    cmocka_unit_test(every_split_position),
	    cmocka_unit_test(crlf_and_blank_lines),
	    cmocka_unit_test(partial_line_waits_for_its_newline),
	    cmocka_unit_test(overlong_line_dropped_then_recovery),
	    cmocka_unit_test(limit_counts_bytes_before_newline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
