/* The event loop: fds, timers (ordering, disarm, re-arm), signals. */
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/loop.h"

struct trace {
	char order[16];
	int n;
};

struct labelled {
	struct trace *tr;
	char label;
};

static void on_labelled(struct loop *l, struct loop_timer *t, void *arg)
{
	struct labelled *lb = arg;
	lb->tr->order[lb->tr->n++] = lb->label;
	if (lb->label == 'c')
		loop_stop(l);
}

static void timers_fire_in_deadline_order(void **state)
{
	struct loop *l = loop_new();
	struct trace tr = {0};
	struct labelled a = {&tr, 'a'}, b = {&tr, 'b'}, c = {&tr, 'c'};
	struct loop_timer *ta = loop_timer_new(l, on_labelled, &a);
	struct loop_timer *tb = loop_timer_new(l, on_labelled, &b);
	struct loop_timer *tc = loop_timer_new(l, on_labelled, &c);
	uint64_t start = loop_now_ms();

	assert_int_equal(loop_timer_arm(tc, 30), 0);
	assert_int_equal(loop_timer_arm(ta, 5), 0);
	assert_int_equal(loop_timer_arm(tb, 15), 0);
	assert_int_equal(loop_run(l), 0);
	assert_string_equal(tr.order, "abc");
	assert_true(loop_now_ms() - start >= 30);
	assert_false(loop_timer_armed(tc));
	loop_timer_free(ta);
	loop_timer_free(tb);
	loop_timer_free(tc);
	loop_free(l);
}

static void disarmed_timer_never_fires(void **state)
{
	struct loop *l = loop_new();
	struct trace tr = {0};
	struct labelled a = {&tr, 'a'}, c = {&tr, 'c'};
	struct loop_timer *ta = loop_timer_new(l, on_labelled, &a);
	struct loop_timer *tc = loop_timer_new(l, on_labelled, &c);

	loop_timer_arm(ta, 1);
	usleep(5000); /* ta has expired but its expiry is not yet read */
	loop_timer_disarm(ta);
	loop_timer_arm(tc, 10);
	assert_int_equal(loop_run(l), 0);
	assert_string_equal(tr.order, "c");
	loop_timer_free(ta);
	loop_timer_free(tc);
	loop_free(l);
}

static void rearm_replaces_deadline(void **state)
{
	struct loop *l = loop_new();
	struct trace tr = {0};
	struct labelled a = {&tr, 'a'}, c = {&tr, 'c'};
	struct loop_timer *ta = loop_timer_new(l, on_labelled, &a);
	struct loop_timer *tc = loop_timer_new(l, on_labelled, &c);

	loop_timer_arm(ta, 5);
	loop_timer_arm(tc, 20);
	loop_timer_arm(ta, 60); /* now after c: the loop stops before it fires */
	assert_int_equal(loop_run(l), 0);
	assert_string_equal(tr.order, "c");
	assert_true(loop_timer_armed(ta));
	loop_timer_free(ta);
	loop_timer_free(tc);
	loop_free(l);
}

struct fdseen {
	int reads;
	char buf[8];
};

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct fdseen *s = arg;
	ssize_t n = read(fd, s->buf, sizeof(s->buf) - 1);
	if (n > 0)
		s->reads++;
	loop_del_fd(l, fd); /* removing itself during dispatch is safe */
}

static void fd_callback_and_removal(void **state)
{
	struct loop *l = loop_new();
	struct fdseen s = {0};
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_readable, &s), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_readable, &s), -EEXIST);
	assert_int_equal(write(p[1], "hi", 2), 2);
	assert_int_equal(loop_once(l, 1000), 1);
	assert_int_equal(s.reads, 1);
	assert_string_equal(s.buf, "hi");
	/* Removed: more data does not call back. */
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_once(l, 20), 0);
	assert_int_equal(s.reads, 1);
	assert_int_equal(loop_iterations(l), 2);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	*(int *)arg = signo;
	loop_stop(l);
}

static void signals_arrive_through_the_loop(void **state)
{
	struct loop *l = loop_new();
	int got = 0;

	assert_int_equal(loop_add_signal(l, SIGUSR1, on_signal, &got), 0);
	raise(SIGUSR1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(got, SIGUSR1);
	loop_free(l);
}

static void count_iteration(struct loop *l, void *arg)
{
	(*(int *)arg)++;
}

static void iteration_hook_runs_after_each_round(void **state)
{
	struct loop *l = loop_new();
	struct trace tr = {0};
	struct labelled c = {&tr, 'c'};
	struct loop_timer *tc = loop_timer_new(l, on_labelled, &c);
	int rounds = 0;

	loop_on_iteration(l, count_iteration, &rounds);
	loop_timer_arm(tc, 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(rounds, 1);
	assert_int_equal(loop_once(l, 0), 0); /* an empty round still counts */
	assert_int_equal(rounds, 2);
	loop_timer_free(tc);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(timers_fire_in_deadline_order),
	    cmocka_unit_test(disarmed_timer_never_fires),
	    cmocka_unit_test(rearm_replaces_deadline),
	    cmocka_unit_test(fd_callback_and_removal),
	    cmocka_unit_test(signals_arrive_through_the_loop),
	    cmocka_unit_test(iteration_hook_runs_after_each_round),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
