/* Log lines: logfmt values a parser can split, written whole. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

static void quote_escapes_what_would_end_the_value(void **state)
{
	(void)state;
	assert_string_equal("\"plain words\"", hlog_q("plain words"));
	assert_string_equal("\"a \\\"b\\\" c\\\\d\"", hlog_q("a \"b\" c\\d"));
	assert_string_equal("\"one\\ntwo?three\"", hlog_q("one\ntwo\tthree"));
	assert_string_equal("\"\"", hlog_q(NULL));
}

static void quote_ring_keeps_four_values_alive(void **state)
{
	const char *a = hlog_q("a"), *b = hlog_q("b"), *c = hlog_q("c"), *d = hlog_q("d");

	(void)state;
	assert_string_equal("\"a\"", a);
	assert_string_equal("\"b\"", b);
	assert_string_equal("\"c\"", c);
	assert_string_equal("\"d\"", d);
}

static void long_value_is_cut_and_still_closed(void **state)
{
	char big[3000];
	const char *q;
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	q = hlog_q(big);
	n = strlen(q);
	assert_true(n < 1100);
	assert_int_equal('"', q[0]);
	assert_string_equal("...\"", q + n - 4);
}

/* A SOCK_SEQPACKET socket keeps each write() a record of its own, so one
 * recv() shows whether the line went out in one piece: a reader tailing the
 * log file must never see a line's msg without its fields. */
static void line_is_written_in_one_piece(void **state)
{
	int sv[2];
	FILE *f;
	char buf[4096];
	ssize_t n;

	(void)state;
	assert_int_equal(0, socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	f = fdopen(sv[0], "w");
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0); /* as stderr is */
	hlog_set_stream(f);
	hlog_set_level(HLOG_INFO);
	hlog(HLOG_WARN, "API server", "kind=%s message=%s", "LiveMigration",
	     hlog_q("malformed line skipped: {\"type\":\"MODIFIED\""));
	hlog(HLOG_DEBUG, "dropped", "x=%d", 1);
	hlog_set_stream(NULL);
	fclose(f);

	n = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf,
	                       " level=warn msg=\"API server\" kind=LiveMigration message="
	                       "\"malformed line skipped: {\\\"type\\\":\\\"MODIFIED\\\"\"\n"));
	assert_int_equal('\n', buf[n - 1]);
	assert_int_equal(0, strncmp(buf, "ts=", 3));
	/* the debug line was below the level: nothing more arrived */
	assert_int_equal(0, recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT));
	close(sv[1]);
}

/* Packets waiting on a SOCK_SEQPACKET socket: one per write of the log. */
static int packets(int fd, int *lines, char *last, size_t lastsz)
{
	char buf[65536];
	ssize_t n;
	int count = 0;

	*lines = 0;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		count++;
		/* Each write carries whole lines only. */
		assert_int_equal('\n', buf[n - 1]);
		assert_int_equal(0, strncmp(buf, "ts=", 3));
		for (ssize_t i = 0; i < n; i++)
			*lines += buf[i] == '\n';
		snprintf(last, lastsz, "%.*s", (int)n, buf);
	}
	return count;
}

static FILE *seqpacket_log(int sv[2])
{
	FILE *f;

	assert_int_equal(0, socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	/* Room for the biggest batch: 32 KiB of lines in one packet. */
	int sz = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	f = fdopen(sv[0], "w");
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0); /* as stderr is */
	hlog_set_stream(f);
	hlog_set_level(HLOG_INFO);
	return f;
}

/* While an iteration holds the log, its lines wait, in order, and leave in
 * one write when it releases: a hundred decisions, one syscall. */
static void held_lines_leave_together(void **state)
{
	int sv[2], lines;
	char last[65536];
	FILE *f = seqpacket_log(sv);

	(void)state;
	hlog_hold();
	for (int i = 0; i < 100; i++)
		hlog(HLOG_INFO, "Live migration state transition", "n=%d", i);
	hlog_hold(); /* nested: the inner release writes nothing */
	hlog_release();
	assert_int_equal(0, packets(sv[1], &lines, last, sizeof(last)));
	hlog_release();
	assert_int_equal(1, packets(sv[1], &lines, last, sizeof(last)));
	assert_int_equal(100, lines);
	assert_non_null(strstr(last, " n=0\n"));
	assert_true(strstr(last, " n=98\n") < strstr(last, " n=99\n"));
	/* Not held: a line per write again. */
	hlog(HLOG_INFO, "a", NULL);
	hlog(HLOG_INFO, "b", NULL);
	assert_int_equal(2, packets(sv[1], &lines, last, sizeof(last)));
	hlog_set_stream(NULL);
	fclose(f);
	close(sv[1]);
}

/* More than the hold keeps: earlier lines go first, each write whole lines,
 * none lost; and lines held when the stream changes go to the old stream. */
static void held_overflow_writes_whole_lines(void **state)
{
	int sv[2], lines, total = 0, writes;
	char last[65536], pad[700];
	FILE *f = seqpacket_log(sv);

	(void)state;
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	hlog_hold();
	for (int i = 0; i < 200; i++) /* some 150 KiB */
		hlog(HLOG_INFO, "padded", "n=%d pad=%s", i, pad);
	writes = packets(sv[1], &lines, last, sizeof(last));
	assert_true(writes >= 4 && writes <= 6); /* 32 KiB at a time */
	total += lines;
	hlog_set_stream(NULL); /* the rest is written to f first */
	assert_int_equal(1, packets(sv[1], &lines, last, sizeof(last)));
	total += lines;
	assert_int_equal(200, total);
	assert_non_null(strstr(last, " n=199 "));
	hlog_release();
	fclose(f);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(quote_escapes_what_would_end_the_value),
	    cmocka_unit_test(quote_ring_keeps_four_values_alive),
	    cmocka_unit_test(long_value_is_cut_and_still_closed),
	    cmocka_unit_test(line_is_written_in_one_piece),
	    cmocka_unit_test(held_lines_leave_together),
	    cmocka_unit_test(held_overflow_writes_whole_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
