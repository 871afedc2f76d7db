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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(quote_escapes_what_would_end_the_value),
	    cmocka_unit_test(quote_ring_keeps_four_values_alive),
	    cmocka_unit_test(long_value_is_cut_and_still_closed),
	    cmocka_unit_test(line_is_written_in_one_piece),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
